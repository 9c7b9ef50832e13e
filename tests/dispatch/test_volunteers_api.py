"""The volunteer registry through HTTP: create, read, list, update, erase, and every 4xx."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import Volunteer

from .factories import organization

ASTANA = (51.1694, 71.4491)


def body(**overrides) -> dict:
    data = {
        "name": "Айгерим Ахметова",
        "phone": "8 701 234 56 78",
        "lat": ASTANA[0],
        "lon": ASTANA[1],
        "skills": ["first_aid", "water_rescue"],
        "language": "kk",
    }
    data.update(overrides)
    return data


def count_volunteers() -> int:
    return db.session.scalar(select(func.count(Volunteer.id)))


def create(client, auth, **overrides):
    return client.post("/api/v1/volunteers", json=body(**overrides), headers=auth("coordinator"))


def test_create_normalises_the_phone_and_returns_the_volunteer(client, auth):
    rescue = organization("Astana Rescue")
    response = create(client, auth, max_distance_km=25, organization="astana  RESCUE")
    assert response.status_code == 201
    volunteer = response.get_json()
    assert volunteer["phone"] == "+77012345678"
    assert volunteer["status"] == "active"
    assert volunteer["available"] is True
    assert volunteer["skills"] == ["first_aid", "water_rescue"]
    assert volunteer["max_distance_km"] == 25
    assert volunteer["organization"] == "Astana Rescue" and volunteer["organization_id"] == rescue.id
    fetched = client.get(f"/api/v1/volunteers/{volunteer['id']}", headers=auth("coordinator")).get_json()
    assert fetched == volunteer
    # A viewer: the same without the phone number, and the home to 2 decimals.
    seen = client.get(f"/api/v1/volunteers/{volunteer['id']}", headers=auth("viewer")).get_json()
    assert seen == {**volunteer, "phone": None, "lat": 51.17, "lon": 71.45}


def test_duplicate_phone_in_another_form_is_409(client, auth):
    assert create(client, auth).status_code == 201
    response = create(client, auth, phone="+7 (701) 234-56-78", name="Someone else")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "DUPLICATE_PHONE"
    assert count_volunteers() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lat": 91}, "lat"),
        ({"lat": -90.5}, "lat"),
        ({"lon": 180.01}, "lon"),
        ({"lat": "north"}, "lat"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "8 7172 12 34 56"}, "phone"),  # a landline cannot get SMS
        ({"skills": ["juggling"]}, "skills"),
        ({"skills": "first_aid"}, "skills"),
        ({"language": "de"}, "language"),
        ({"name": "   "}, "name"),
        ({"max_distance_km": 0}, "max_distance_km"),
        ({"max_distance_km": -5}, "max_distance_km"),
        ({"favourite_colour": "red"}, "favourite_colour"),
    ],
)
def test_each_validation_error_is_400_with_its_field_and_changes_nothing(client, auth, overrides, field):
    response = create(client, auth, **overrides)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"]
    assert count_volunteers() == 0


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ("name", "name"),
        ("phone", "phone"),
        ("skills", "skills"),
        ("language", "language"),
        # Coordinates may be replaced by an address, so their absence is a body-level error.
        ("lat", "body"),
        ("lon", "body"),
    ],
)
def test_missing_required_fields_are_named(client, auth, missing, field):
    data = body()
    del data[missing]
    response = client.post("/api/v1/volunteers", json=data, headers=auth("coordinator"))
    assert response.status_code == 400
    fields = response.get_json()["error"]["details"]["fields"]
    assert field in fields
    if field == "body":
        assert "lat and lon" in fields["body"]
    assert count_volunteers() == 0


def test_quiet_hours_are_kept_and_validated(client, auth):
    volunteer = create(client, auth, quiet_hours="22:30-07:00").get_json()
    assert volunteer["quiet_hours"] == "22:30-07:00"
    url = f"/api/v1/volunteers/{volunteer['id']}"
    assert client.patch(url, json={"quiet_hours": "25:00-07:00"}, headers=auth("coordinator")).status_code == 400
    assert client.patch(url, json={"quiet_hours": "late"}, headers=auth("coordinator")).status_code == 400
    patched = client.patch(url, json={"quiet_hours": None}, headers=auth("coordinator")).get_json()
    assert patched["quiet_hours"] is None


def test_malformed_json_and_wrong_content_type(client, auth):
    headers = {**auth("coordinator"), "Content-Type": "application/json"}
    response = client.post("/api/v1/volunteers", data="{not json", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "INVALID_JSON"
    response = client.post("/api/v1/volunteers", data="[1, 2]", headers=headers)
    assert response.status_code == 400
    response = client.post("/api/v1/volunteers", data="name=x", headers=auth("coordinator"))
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert count_volunteers() == 0


def test_patch_changes_only_given_fields(client, auth):
    volunteer = create(client, auth).get_json()
    response = client.patch(
        f"/api/v1/volunteers/{volunteer['id']}",
        json={"available": False, "busy_until": "2030-01-01T12:00:00+05:00", "skills": ["diver"]},
        headers=auth("coordinator"),
    )
    assert response.status_code == 200
    updated = response.get_json()
    assert updated["available"] is False
    assert updated["available_now"] is False
    assert updated["busy_until"] == "2030-01-01T07:00:00Z"
    assert updated["skills"] == ["diver"]
    assert updated["name"] == volunteer["name"]


def test_patch_rejects_bad_values_and_changes_nothing(client, auth):
    volunteer = create(client, auth).get_json()
    other = create(client, auth, phone="+77001112233", name="Other").get_json()
    url = f"/api/v1/volunteers/{volunteer['id']}"
    for patch, status in [
        ({"lat": 100}, 400),
        ({"phone": "nope"}, 400),
        ({"phone": other["phone"]}, 409),
        ({"name": None}, 400),
        ({"status": "opted_out"}, 400),
        ({"busy_until": "next tuesday"}, 400),
    ]:
        response = client.patch(url, json=patch, headers=auth("coordinator"))
        assert response.status_code == status, patch
    assert client.get(url, headers=auth("coordinator")).get_json() == volunteer


def test_an_opt_out_cannot_be_undone_by_a_coordinator(client, auth):
    volunteer = create(client, auth).get_json()
    db.session.get(Volunteer, volunteer["id"]).status = "opted_out"
    db.session.commit()
    response = client.patch(
        f"/api/v1/volunteers/{volunteer['id']}", json={"status": "active"}, headers=auth("coordinator")
    )
    assert response.status_code == 400
    assert db.session.get(Volunteer, volunteer["id"]).status == "opted_out"


def test_delete_erases_personal_data_and_keeps_the_record(client, auth):
    volunteer = create(client, auth).get_json()
    url = f"/api/v1/volunteers/{volunteer['id']}"
    assert client.delete(url, headers=auth("coordinator")).status_code == 204
    erased = client.get(url, headers=auth("viewer")).get_json()
    assert erased["status"] == "inactive"
    assert erased["name"] is None and erased["phone"] is None
    assert erased["lat"] is None and erased["lon"] is None
    # The number is free again for a new registration.
    assert create(client, auth).status_code == 201
    assert client.delete(url, headers=auth("coordinator")).status_code == 204
    assert client.delete("/api/v1/volunteers/999999", headers=auth("coordinator")).status_code == 404


def test_unknown_volunteer_is_404_in_the_error_shape(client, auth):
    response = client.get("/api/v1/volunteers/424242", headers=auth("viewer"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"


def test_list_filters_and_paginates(client, auth):
    organization("A"), organization("B")
    create(client, auth, phone="+77010000001", skills=["diver"], organization="A")
    create(client, auth, phone="+77010000002", skills=["first_aid"], organization="B")
    busy = create(client, auth, phone="+77010000003", skills=["diver", "first_aid"]).get_json()
    client.patch(f"/api/v1/volunteers/{busy['id']}", json={"available": False}, headers=auth("coordinator"))

    def phones(query: str) -> list[str]:
        response = client.get(f"/api/v1/volunteers?{query}", headers=auth("coordinator"))
        assert response.status_code == 200
        return [v["phone"] for v in response.get_json()["items"]]

    assert phones("skill=diver") == ["+77010000001", "+77010000003"]
    assert phones("skill=diver&available=true") == ["+77010000001"]
    assert phones("available=false") == ["+77010000003"]
    assert phones("organization=B") == ["+77010000002"]
    assert phones("per_page=2&page=2") == ["+77010000003"]
    page = client.get("/api/v1/volunteers?per_page=2", headers=auth("viewer")).get_json()
    assert page["total"] == 3 and page["page"] == 1 and len(page["items"]) == 2


def test_list_near_is_exact_and_nearest_first(client, auth):
    # About 1 km, 5 km and 12 km north of the point (1 degree of latitude is ~111.3 km here).
    for phone, km in (("+77010000011", 5), ("+77010000012", 1), ("+77010000013", 12)):
        create(client, auth, phone=phone, lat=ASTANA[0] + km / 111.3, lon=ASTANA[1])
    response = client.get(
        f"/api/v1/volunteers?near={ASTANA[0]},{ASTANA[1]}&radius_km=10", headers=auth("coordinator")
    ).get_json()
    assert [v["phone"] for v in response["items"]] == ["+77010000012", "+77010000011"]
    assert response["total"] == 2
    assert 0.9 < response["items"][0]["distance_km"] < 1.1


@pytest.mark.parametrize(
    "query",
    [
        "skill=juggling",
        "available=perhaps",
        "page=0",
        "per_page=1000",
        "near=abc",
        "near=95,10",
        "near=51,71&radius_km=-1",
        "status=sleeping",
    ],
)
def test_bad_list_queries_are_400(client, auth, query):
    response = client.get(f"/api/v1/volunteers?{query}", headers=auth("viewer"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_skill_catalogue_has_names_in_three_languages(client, auth):
    skills = client.get("/api/v1/skills?lang=ru", headers=auth("viewer")).get_json()["skills"]
    codes = {s["code"] for s in skills}
    assert {
        "first_aid",
        "medical",
        "firefighting",
        "water_rescue",
        "search_rescue",
        "mountain_rescue",
        "diver",
        "boat_operator",
        "driver_4x4",
        "heavy_vehicle",
        "drone_pilot",
        "k9_handler",
        "radio_operator",
        "psychological_support",
        "logistics",
        "animal_rescue",
        "translator",
    } <= codes
    first_aid = next(s for s in skills if s["code"] == "first_aid")
    assert first_aid["name"] == "Первая помощь"
    assert set(first_aid["names"]) == {"en", "ru", "kk"}


def test_coordinator_actions_on_volunteers_are_audited_without_personal_data(client, auth, tokens):
    from dispatch.models import AuditEvent, User

    volunteer = create(client, auth).get_json()
    url = f"/api/v1/volunteers/{volunteer['id']}"
    client.patch(url, json={"name": "New Name", "available": False}, headers=auth("coordinator"))
    client.delete(url, headers=auth("coordinator"))
    coordinator = db.session.scalar(select(User).where(User.role == "coordinator"))
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor, e.event, e.volunteer_id) for e in events] == [
        (f"user:{coordinator.id}", "volunteer_registered", volunteer["id"]),
        (f"user:{coordinator.id}", "volunteer_updated", volunteer["id"]),
        (f"user:{coordinator.id}", "volunteer_erased", volunteer["id"]),
    ]
    assert events[1].details == {"fields": ["available", "name"]}
    assert "New Name" not in str([e.details for e in events])
