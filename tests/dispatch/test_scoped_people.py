"""Scopes where people are concerned: who an incident's coordinators may name, who gets the
coordinator texts (HELP, welfare overdue), volunteers moved or imported out of a scope,
organisations, CAP documents, hand-picked call-outs and the candidates preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch import jobs, users
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from dispatch.models import AuditEvent, CapMessage, Incident, Organization, OutboxMessage, Volunteer
from dispatch.users import create_user

from .factories import ALMATY, ASTANA, alert, incident, organization, point_at, report, volunteer
from .test_cap_api import REF, alert_doc

ALMATY_POLYGON = "43.20,76.80 43.20,76.90 43.25,76.90 43.25,76.80 43.20,76.80"
_sid = iter(range(10**6))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def people(app):
    """Regional users of Almaty (KZ-75) and Astana (KZ-71), as coordinators and a viewer."""
    return {
        "almaty": create_user("almaty@test.local", "coordinator", regions=["KZ-75"])[1],
        "astana": create_user("astana@test.local", "coordinator", regions=["KZ-71"])[1],
        "almaty_viewer": create_user("almaty-viewer@test.local", "viewer", regions=["KZ-75"])[1],
    }


def test_an_incidents_people_are_named_to_its_managers_once_they_accept(client, people, auth):
    inc = incident(code="701", lat=ALMATY[0], lon=ALMATY[1], region="KZ-75")
    local = volunteer(0, origin=ALMATY, region="KZ-75", name="Local One", phone="+77015550301")
    visitor = volunteer(5, origin=ALMATY, region="KZ-71", name="Visitor Two", phone="+77015550302")
    alert(inc, local, status="accepted")
    called = alert(inc, visitor, status="sent")

    def seen(token: str) -> dict[int, dict]:
        items = client.get(f"/api/v1/incidents/{inc.id}/alerts", headers=bearer(token)).get_json()["items"]
        return {i["volunteer_id"]: i for i in items}

    almaty = seen(people["almaty"])
    assert (almaty[local.id]["name"], almaty[local.id]["phone"]) == ("Local One", "+77015550301")
    # Outside their scope and not (yet) a responder: by id only, distance to the whole km.
    assert (almaty[visitor.id]["name"], almaty[visitor.id]["phone"]) == (None, None)
    assert almaty[visitor.id]["distance_km"] == 1.0 and almaty[visitor.id]["why_chosen"] == "test"
    called.status, called.responded_at = "accepted", utcnow()
    db.session.commit()
    almaty = seen(people["almaty"])
    assert (almaty[visitor.id]["name"], almaty[visitor.id]["phone"]) == ("Visitor Two", "+77015550302")
    responders = client.get(f"/api/v1/incidents/{inc.id}", headers=bearer(people["almaty"])).get_json()["responders"]
    assert {r["volunteer_id"]: r["name"] for r in responders} == {local.id: "Local One", visitor.id: "Visitor Two"}
    # Astana's coordinator does not manage it: their own volunteer named, Almaty's not.
    astana = seen(people["astana"])
    assert astana[visitor.id]["phone"] == "+77015550302"
    assert (astana[local.id]["name"], astana[local.id]["phone"]) == (None, None)
    # A viewer manages nothing: names of their own scope only, never a phone.
    viewer = seen(people["almaty_viewer"])
    assert (viewer[local.id]["name"], viewer[local.id]["phone"]) == ("Local One", None)
    assert viewer[visitor.id]["name"] is None
    # The national coordinator sees everyone; the audit counts the phone numbers shown.
    national = seen(users_token(auth))
    assert {i["phone"] for i in national.values()} == {"+77015550301", "+77015550302"}
    reads = db.session.scalars(
        select(AuditEvent.details).where(AuditEvent.event == "volunteers_read").order_by(AuditEvent.id)
    ).all()
    assert [r["count"] for r in reads] == [1, 2, 1, 2]  # almaty twice, astana once, national


def users_token(auth) -> str:
    return auth("coordinator")["Authorization"].split()[1]


def test_help_and_welfare_text_the_poster_and_the_regional_coordinators(client, auth, app):
    users.set_phone("coordinator@test.local", "+77017770001")  # national: posts the incident
    create_user("astana-c@test.local", "coordinator", phone="+77017770002", regions=["KZ-71"])
    create_user("almaty-c@test.local", "coordinator", phone="+77017770003", regions=["KZ-75"])
    create_user("other-national@test.local", "coordinator", phone="+77017770004")
    create_user("astana-v@test.local", "viewer", phone="+77017770005", regions=["KZ-71"])
    person = volunteer(1, origin=ASTANA, region="KZ-71", skills=("water_rescue",))
    posted = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    assert posted["region"] == "KZ-71"
    for body in (f"ДА {posted['code']}", "ПРИБЫЛ", "ПОМОЩЬ"):
        receive_sms(f"SMscope{next(_sid):08d}", person.phone, body)

    def texted(template: str) -> list[str]:
        return sorted(db.session.scalars(select(OutboxMessage.to_phone).where(OutboxMessage.kind == template)).all())

    assert texted("coordinator_help") == ["+77017770001", "+77017770002"]
    client.post(f"/api/v1/incidents/{posted['id']}/close", headers=auth("coordinator"))
    later = utcnow() + timedelta(seconds=app.config["WELFARE_CHECK_S"] + 5)
    assert jobs.welfare_checks(now=later)["welfare_overdue"] == 1
    assert texted("coordinator_welfare") == ["+77017770001", "+77017770002"]


def test_a_volunteer_is_not_moved_out_of_scope_and_an_import_keeps_to_it(client, people):
    rescue = organization("Almaty Rescue", region="KZ-75")
    mine = volunteer(0, origin=ALMATY, region="KZ-75", name="Mine")
    theirs = volunteer(0, origin=ASTANA, region="KZ-71", name="Theirs", phone="+77015550401")
    headers = bearer(people["almaty"])
    moved = client.patch(f"/api/v1/volunteers/{mine.id}", json={"region": "KZ-71"}, headers=headers)
    assert moved.status_code == 403 and moved.get_json()["error"]["code"] == "OUT_OF_SCOPE"
    far = client.patch(f"/api/v1/volunteers/{mine.id}", json={"lat": ASTANA[0], "lon": ASTANA[1]}, headers=headers)
    assert far.status_code == 403
    db.session.expire_all()
    assert (mine.region, round(mine.lat, 3)) == ("KZ-75", round(ALMATY[0], 3))
    joined = client.patch(f"/api/v1/volunteers/{mine.id}", json={"organization_id": rescue.id}, headers=headers)
    assert joined.status_code == 200 and joined.get_json()["organization_id"] == rescue.id
    lat, lon = point_at(ALMATY, 2)
    csv_text = (
        "name,phone,lat,lon,skills,language,region\n"
        f"New here,+77015550402,{lat},{lon},,ru,\n"
        f"New there,+77015550403,{ASTANA[0]},{ASTANA[1]},,ru,\n"
        f"Claimed,+77015550404,{lat},{lon},,ru,KZ-71\n"
        f"Theirs moved,+77015550401,{lat},{lon},,ru,\n"
    )
    answer = client.post("/api/v1/volunteers/import", data=csv_text, content_type="text/csv", headers=headers)
    body = answer.get_json()
    assert (body["created"], body["updated"]) == (1, 0)
    assert [r["line"] for r in body["rejected"]] == [3, 4, 5]
    assert {r["error"] for r in body["rejected"]} == {"outside your regions and organisations"}
    db.session.expire_all()
    assert (theirs.name, theirs.region) == ("Theirs", "KZ-71")
    assert db.session.scalar(select(func.count()).select_from(Volunteer)) == 3


def test_organisations_are_added_and_changed_in_scope(client, people):
    theirs = organization("Astana Rescue", region="KZ-71")
    mine = organization("Almaty Rescue", region="KZ-75")
    headers = bearer(people["almaty"])
    refused = client.post("/api/v1/organizations", json={"name": "Elsewhere", "region": "KZ-71"}, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "OUT_OF_SCOPE"
    nowhere = client.post("/api/v1/organizations", json={"name": "No region"}, headers=headers)
    assert nowhere.status_code == 403
    assert (
        client.post("/api/v1/organizations", json={"name": "Here", "region": "KZ-75"}, headers=headers).status_code
        == 201
    )
    assert client.patch(f"/api/v1/organizations/{theirs.id}", json={"address": "x"}, headers=headers).status_code == 403
    assert (
        client.patch(f"/api/v1/organizations/{mine.id}", json={"region": "KZ-71"}, headers=headers).status_code == 403
    )
    assert (
        client.patch(f"/api/v1/organizations/{mine.id}", json={"address": "Abay 1"}, headers=headers).status_code == 200
    )
    # An organisation's own coordinator changes it, but not its neighbours.
    _, member = create_user("member@test.local", "coordinator", organization_ids=[theirs.id])
    assert (
        client.patch(f"/api/v1/organizations/{theirs.id}", json={"address": "y"}, headers=bearer(member)).status_code
        == 200
    )
    assert (
        client.patch(f"/api/v1/organizations/{mine.id}", json={"address": "z"}, headers=bearer(member)).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 3
    assert (theirs.address, mine.address, mine.region) == ("y", "Abay 1", "KZ-75")
    # Everyone reads the list: no personal data in it.
    listed = client.get("/api/v1/organizations", headers=bearer(people["almaty_viewer"])).get_json()
    assert listed["total"] == 3


def test_cap_documents_create_and_change_incidents_only_in_scope(client, auth, people):
    def post(doc: bytes, token: str):
        return client.post("/api/v1/cap", data=doc, content_type="application/cap+xml", headers=bearer(token))

    refused = post(alert_doc("scope-astana"), people["almaty"])  # the default area is on the Ishim, Astana
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "OUT_OF_SCOPE"
    assert db.session.scalar(select(func.count()).select_from(CapMessage)) == 0
    made = post(alert_doc("scope-almaty", polygon=ALMATY_POLYGON), people["almaty"])
    assert made.status_code == 201 and made.get_json()["incidents"][0]["region"] == "KZ-75"
    national = post(alert_doc("scope-national"), users_token(auth)).get_json()["incidents"][0]
    assert national["region"] == "KZ-71" and national["status"] == "draft"
    update = alert_doc(
        "scope-update", msg_type="Update", references=REF.format("scope-national"), polygon=ALMATY_POLYGON
    )
    assert post(update, people["almaty"]).status_code == 403
    cancel = alert_doc("scope-cancel", msg_type="Cancel", references=REF.format("scope-national"))
    assert post(cancel, people["almaty"]).status_code == 403
    assert post(cancel, people["astana"]).status_code == 201
    db.session.expire_all()
    assert db.session.get(Incident, national["id"]).status == "cancelled"


def test_hand_picked_callouts_and_candidates_keep_to_the_scope(client, people):
    inc = incident(code="702", lat=ALMATY[0], lon=ALMATY[1], region="KZ-75")
    local = volunteer(1, origin=ALMATY, region="KZ-75", name="Local")
    visitor = volunteer(2, origin=ALMATY, region="KZ-71", name="Visitor")
    headers = bearer(people["almaty"])
    picked = client.post(f"/api/v1/incidents/{inc.id}/alerts", json={"volunteer_ids": [visitor.id]}, headers=headers)
    assert picked.status_code == 400 and f"No volunteer {visitor.id}" in picked.get_json()["error"]["message"]
    picked = client.post(f"/api/v1/incidents/{inc.id}/alerts", json={"volunteer_ids": [local.id]}, headers=headers)
    assert picked.status_code == 201
    preview = client.post(
        "/api/v1/candidates", json={"lat": ALMATY[0], "lon": ALMATY[1], "radius_km": 10}, headers=headers
    ).get_json()
    # Matching ignores borders: both are candidates, the visitor without an id.
    assert preview["count"] == 2
    assert [c["volunteer_id"] for c in preview["candidates"]] == [local.id, None]
    assert preview["candidates"][1]["distance_km"] == 2.0
    there = client.post(
        "/api/v1/candidates", json={"lat": ASTANA[0], "lon": ASTANA[1], "radius_km": 10}, headers=headers
    )
    assert there.status_code == 403 and there.get_json()["error"]["code"] == "OUT_OF_SCOPE"
