"""Member organisations as records: the API, volunteers naming one, the CSV import matching them,
the activity register's filter, seed-demo, and the migration that makes them from free text."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from config import TestConfig
from dispatch import create_app
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import AuditEvent, Organization, Volunteer

from .factories import ASTANA, organization, volunteer

ORGS = "/api/v1/organizations"


def add(client, auth, **fields):
    return client.post(ORGS, json={"name": "Astana Rescue", **fields}, headers=auth("coordinator"))


def count_organizations() -> int:
    return db.session.scalar(select(func.count(Organization.id)))


# -- the API ------------------------------------------------------------------------------------


def test_add_read_list_and_change(client, auth):
    response = add(client, auth, region="KZ-71", phone="8 717 255 55 55", email="office@rescue.kz", address="Абай 1")
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["name"] == "Astana Rescue" and created["region"] == "KZ-71" and created["active"] is True
    assert created["phone"] == "+77172555555" and created["volunteers"] == 0
    assert client.get(f"{ORGS}/{created['id']}", headers=auth("viewer")).get_json() == created
    add(client, auth, name="Алматы құтқарушылары", region="KZ-75")
    add(client, auth, name="Closed Club", active=False)

    def names(query: str = "") -> list[str]:
        response = client.get(f"{ORGS}?{query}", headers=auth("viewer"))
        assert response.status_code == 200, response.get_json()
        return [o["name"] for o in response.get_json()["items"]]

    assert names() == ["Astana Rescue", "Closed Club", "Алматы құтқарушылары"]
    assert names("region=KZ-75") == ["Алматы құтқарушылары"]
    assert names("active=false") == ["Closed Club"]
    assert names("q=RESCUE") == ["Astana Rescue"]
    assert names("q=ҚҰТҚАРУ") == ["Алматы құтқарушылары"]
    assert names("q=100%25") == []
    for bad in ("region=Astana", "active=maybe"):
        assert client.get(f"{ORGS}?{bad}", headers=auth("viewer")).status_code == 400

    url = f"{ORGS}/{created['id']}"
    changed = client.patch(url, json={"name": "Astana Volunteer Rescue", "email": None}, headers=auth("coordinator"))
    assert changed.status_code == 200
    assert changed.get_json()["name"] == "Astana Volunteer Rescue" and changed.get_json()["email"] is None
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "organization_updated")).one()
    assert audit.details["before"] == {"name": "Astana Rescue", "email": "office@rescue.kz"}


def test_names_are_unique_whatever_their_case_and_spacing(client, auth):
    first = add(client, auth).get_json()
    for name in ("astana rescue", "  ASTANA   Rescue ", "Astana\u00a0Rescue"):
        response = add(client, auth, name=name)
        assert response.status_code == 409, name
        error = response.get_json()["error"]
        assert error["code"] == "DUPLICATE_ORGANIZATION"
        assert error["details"] == {"organization_id": first["id"], "name": "Astana Rescue"}
    other = add(client, auth, name="Ertis").get_json()
    clash = client.patch(f"{ORGS}/{other['id']}", json={"name": "astana rescue"}, headers=auth("coordinator"))
    assert clash.status_code == 409
    # Its own name in another case is no clash.
    same = client.patch(f"{ORGS}/{first['id']}", json={"name": "ASTANA RESCUE"}, headers=auth("coordinator"))
    assert same.status_code == 200 and same.get_json()["name"] == "ASTANA RESCUE"
    assert count_organizations() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "n" * 201},
        {"name": "A", "region": "KZ-99"},
        {"name": "A", "email": "not-an-address"},
        {"name": "A", "phone": "12345"},
        {"name": "A\x00B"},
        {"name": "A", "members": 3},
    ],
)
def test_bad_organisations_are_400_and_change_nothing(client, auth, body):
    response = client.post(ORGS, json=body, headers=auth("coordinator"))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert count_organizations() == 0


def test_bad_changes_and_roles(client, auth):
    created = add(client, auth).get_json()
    url = f"{ORGS}/{created['id']}"
    for patch in ({}, {"name": None}, {"active": None}, {"region": "nowhere"}):
        assert client.patch(url, json=patch, headers=auth("coordinator")).status_code == 400, patch
    assert client.patch(f"{ORGS}/9999", json={"active": False}, headers=auth("coordinator")).status_code == 404
    assert client.get(f"{ORGS}/9999", headers=auth("viewer")).status_code == 404
    assert client.post(ORGS, json={"name": "B"}, headers=auth("viewer")).status_code == 403
    assert client.patch(url, json={"active": False}, headers=auth("viewer")).status_code == 403


# -- volunteers name one ------------------------------------------------------------------------


def volunteer_body(**fields) -> dict:
    return {
        "name": "Айгерим",
        "phone": "+77012345678",
        "lat": ASTANA[0],
        "lon": ASTANA[1],
        "skills": ["first_aid"],
        "language": "kk",
        **fields,
    }


def test_a_volunteer_names_an_organisation_by_id_or_by_name(client, auth):
    rescue, ertis = organization("Astana Rescue"), organization("Ertis")
    by_name = client.post(
        "/api/v1/volunteers", json=volunteer_body(organization=" astana  RESCUE"), headers=auth("coordinator")
    )
    assert by_name.status_code == 201
    assert (by_name.get_json()["organization"], by_name.get_json()["organization_id"]) == ("Astana Rescue", rescue.id)
    url = f"/api/v1/volunteers/{by_name.get_json()['id']}"
    moved = client.patch(url, json={"organization_id": ertis.id}, headers=auth("coordinator")).get_json()
    assert (moved["organization"], moved["organization_id"]) == ("Ertis", ertis.id)
    both = client.patch(url, json={"organization_id": rescue.id, "organization": "ertis"}, headers=auth("coordinator"))
    assert both.status_code == 400
    left = client.patch(url, json={"organization": None}, headers=auth("coordinator")).get_json()
    assert (left["organization"], left["organization_id"]) == (None, None)
    # The list filters by id and by name.
    client.patch(url, json={"organization_id": ertis.id}, headers=auth("coordinator"))
    for query in (f"organization_id={ertis.id}", "organization=ERTIS"):
        listed = client.get(f"/api/v1/volunteers?{query}", headers=auth("viewer")).get_json()
        assert listed["total"] == 1, query
    for query in (f"organization_id={rescue.id}", "organization=Nobody"):
        assert client.get(f"/api/v1/volunteers?{query}", headers=auth("viewer")).get_json()["total"] == 0


def test_an_unknown_organisation_is_400_naming_it_and_invents_nothing(client, auth):
    organization("Astana Rescue")
    response = client.post(
        "/api/v1/volunteers", json=volunteer_body(organization="Astana Rescu"), headers=auth("coordinator")
    )
    assert response.status_code == 400
    assert "'Astana Rescu'" in response.get_json()["error"]["message"]
    assert "organization" in response.get_json()["error"]["details"]["fields"]
    unknown_id = client.post(
        "/api/v1/volunteers", json=volunteer_body(organization_id=999), headers=auth("coordinator")
    )
    assert unknown_id.status_code == 400 and "organization_id" in unknown_id.get_json()["error"]["details"]["fields"]
    assert count_organizations() == 1
    assert db.session.scalar(select(func.count(Volunteer.id))) == 0


def test_a_deactivated_organisation_keeps_its_volunteers_and_takes_no_new_ones(client, auth):
    club = organization("Closed Club")
    member = volunteer(organization="Closed Club")
    client.patch(f"{ORGS}/{club.id}", json={"active": False}, headers=auth("coordinator"))
    refused = client.post(
        "/api/v1/volunteers", json=volunteer_body(organization_id=club.id), headers=auth("coordinator")
    )
    assert refused.status_code == 400 and "deactivated" in refused.get_json()["error"]["message"]
    # Its member keeps it, and may be changed otherwise (or given it again).
    kept = client.patch(
        f"/api/v1/volunteers/{member.id}",
        json={"name": "Renamed", "organization_id": club.id},
        headers=auth("coordinator"),
    )
    assert kept.status_code == 200 and kept.get_json()["organization"] == "Closed Club"
    assert client.get(f"{ORGS}/{club.id}", headers=auth("viewer")).get_json()["volunteers"] == 1


def test_erasing_a_volunteer_takes_them_out_of_their_organisation(client, auth):
    member = volunteer(organization="Astana Rescue")
    assert client.delete(f"/api/v1/volunteers/{member.id}", headers=auth("coordinator")).status_code == 204
    db.session.expire_all()
    assert db.session.get(Volunteer, member.id).organization_id is None


# -- the CSV import ---------------------------------------------------------------------------------

HEADER = "name,phone,lat,lon,skills,language,max_distance_km,organization\n"


def test_the_import_matches_organisations_and_rejects_unknown_ones_per_line(client, auth):
    rescue = organization("Astana Rescue")
    organization("Closed Club", active=False)
    text = HEADER + (
        "Нурлан,+77011112233,51.17,71.45,first_aid,kk,,ASTANA  rescue\n"
        "Typo,+77011112234,51.17,71.45,first_aid,kk,,Astana Rescu\n"
        "Plain,+77011112235,51.17,71.45,first_aid,kk,,\n"
        "Closed,+77011112236,51.17,71.45,first_aid,kk,,closed club\n"
    )
    response = client.post(
        "/api/v1/volunteers/import", data=text.encode(), headers={**auth("coordinator"), "Content-Type": "text/csv"}
    )
    report = response.get_json()
    assert response.status_code == 200 and report["created"] == 2
    errors = {r["line"]: r["error"] for r in report["rejected"]}
    assert sorted(errors) == [3, 5]
    assert "no organisation named 'Astana Rescu'" in errors[3]
    assert "deactivated" in errors[5]
    stored = {v.phone: v.organization_id for v in db.session.scalars(select(Volunteer))}
    assert stored == {"+77011112233": rescue.id, "+77011112235": None}
    assert count_organizations() == 2


# -- the activity register -------------------------------------------------------------------------


def test_activity_keeps_the_organisation_and_filters_by_its_id(client, auth):
    rescue = organization("Astana Rescue")
    member = volunteer(organization="Astana Rescue")
    other = volunteer(2, organization="Ertis")
    start = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
    for person in (member, other):
        body = {
            "volunteer_id": person.id,
            "activity": "Training",
            "started_at": start.isoformat() + "Z",
            "ended_at": (start + timedelta(hours=2)).isoformat() + "Z",
        }
        assert client.post("/api/v1/activity", json=body, headers=auth("coordinator")).status_code == 201
    # A rename later does not rewrite the register's copy of the name; the id still finds it.
    client.patch(f"{ORGS}/{rescue.id}", json={"name": "Astana Volunteer Rescue"}, headers=auth("coordinator"))
    found = client.get(f"/api/v1/activity?organization_id={rescue.id}", headers=auth("viewer")).get_json()
    assert found["total"] == 1
    row = found["items"][0]
    assert (row["volunteer_id"], row["organization"], row["organization_id"]) == (member.id, "Astana Rescue", rescue.id)
    assert client.get("/api/v1/activity?organization_id=0", headers=auth("viewer")).status_code == 400


# -- seed-demo ----------------------------------------------------------------------------------------


def test_seed_demo_makes_organisations_in_two_regions_and_links_every_volunteer(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    regions = dict(db.session.execute(select(Organization.name, Organization.region)).all())
    assert len(regions) == 6 and set(regions.values()) == {"KZ-71", "KZ-75"}
    assert db.session.scalar(select(func.count(Volunteer.id)).where(Volunteer.organization_id.is_(None))) == 0


# -- the migration's data step ----------------------------------------------------------------------


def test_the_migration_merges_spellings_links_everyone_and_reports_it(scratch_database_url, capsys):
    scratch = create_app(TestConfig.for_database(scratch_database_url))
    with scratch.app_context():
        upgrade(revision="0014")
        now = utcnow()
        people = [
            ("+77010000031", "Astana Rescue", "KZ-71"),
            ("+77010000032", "Astana Rescue", "KZ-71"),
            ("+77010000033", " astana  rescue", "KZ-71"),
            ("+77010000034", "ASTANA RESCUE", "KZ-11"),
            ("+77010000035", "Красный Полумесяц", "KZ-75"),
            ("+77010000036", "Красный  полумесяц", "KZ-71"),
            ("+77010000037", None, None),
            ("+77010000038", "   ", None),
        ]
        for phone, organization_name, region in people:
            db.session.execute(
                text(
                    "INSERT INTO volunteers (name, phone, lat, lon, skill_mask, language, max_distance_km, available, "
                    "status, organization, region, created_at, updated_at) VALUES ('V', :phone, 51.1, 71.4, 0, 'ru', "
                    "50, true, 'active', :organization, :region, :now, :now)"
                ),
                {"phone": phone, "organization": organization_name, "region": region, "now": now},
            )
        volunteer_id = db.session.scalar(text("SELECT id FROM volunteers WHERE phone = '+77010000031'"))
        for organization_name in ("Astana Rescue", "Ertis Search Team"):
            db.session.execute(
                text(
                    "INSERT INTO activities (volunteer_id, activity, organization, started_at, source, verified, "
                    "created_at, updated_at) VALUES (:v, 'Training', :organization, :now, 'manual', true, :now, :now)"
                ),
                {"v": volunteer_id, "organization": organization_name, "now": now},
            )
        db.session.commit()
        capsys.readouterr()
        upgrade(revision="0015")
        printed = capsys.readouterr().out

        organizations = {
            name: (organization_id, region)
            for organization_id, name, region in db.session.execute(
                text("SELECT id, name, region FROM organizations")
            ).all()
        }
        assert set(organizations) == {"Astana Rescue", "Красный Полумесяц", "Ertis Search Team"}
        # Three of four Astana Rescue volunteers are in KZ-71 (two thirds or more); the Red Crescent is split.
        assert organizations["Astana Rescue"][1] == "KZ-71" and organizations["Красный Полумесяц"][1] is None
        linked = dict(db.session.execute(text("SELECT phone, organization_id FROM volunteers")).all())
        rescue, crescent = organizations["Astana Rescue"][0], organizations["Красный Полумесяц"][0]
        assert linked == {
            "+77010000031": rescue,
            "+77010000032": rescue,
            "+77010000033": rescue,
            "+77010000034": rescue,
            "+77010000035": crescent,
            "+77010000036": crescent,
            "+77010000037": None,
            "+77010000038": None,
        }
        activity = dict(db.session.execute(text("SELECT organization, organization_id FROM activities")).all())
        assert activity == {"Astana Rescue": rescue, "Ertis Search Team": organizations["Ertis Search Team"][0]}
        assert "merged ' astana  rescue' (1 volunteers) into 'Astana Rescue'" in printed
        assert "merged 'ASTANA RESCUE' (1 volunteers) into 'Astana Rescue'" in printed
        assert "merged 'Красный  полумесяц' (1 volunteers) into 'Красный Полумесяц'" in printed
        assert "created 'Ertis Search Team' (0 volunteers, region not set)" in printed
        assert "1 volunteers whose organisation was blank" in printed
        trail = db.session.execute(
            text("SELECT details FROM audit_events WHERE event = 'organizations_migrated'")
        ).scalar_one()
        assert len((trail if isinstance(trail, dict) else json.loads(trail))["merged"]) == 3
        # The free-text column is gone: the record is the one truth.
        columns = [c["name"] for c in db.inspect(db.session.connection()).get_columns("volunteers")]
        assert "organization" not in columns and "organization_id" in columns
        db.session.remove()
        db.engine.dispose()
