"""A property of scopes: for random regions, organisations, volunteers, call-outs and activity,
and a random scope and role, no read of the API (lists, one record, exports, incidents and
their people) gives a volunteer outside the reader's scope away: never their id where volunteers
and activity are listed, never their name or phone anywhere, except the name and phone of a
responder to a coordinator who manages that incident (as the contract allows)."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from dispatch import scopes
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Activity
from dispatch.users import create_user

from ..conftest import tables_to_empty
from .factories import ASTANA, alert, incident, organization, point_at, volunteer

REGIONS = ("KZ-71", "KZ-75", "KZ-79", "KZ-11")
ALERT_STATUSES = ("sent", "accepted", "declined", "expired")
_serial = itertools.count(1)

worlds = st.fixed_dictionaries(
    {
        "orgs": st.lists(st.sampled_from(REGIONS), min_size=1, max_size=3),
        # (region or None, organisation index or None, has an activity record)
        "people": st.lists(
            st.tuples(st.none() | st.sampled_from(REGIONS), st.none() | st.integers(0, 2), st.booleans()),
            min_size=1,
            max_size=7,
        ),
        # (region, [(person index, alert status)])
        "incidents": st.lists(
            st.tuples(
                st.sampled_from(REGIONS),
                st.lists(st.tuples(st.integers(0, 6), st.sampled_from(ALERT_STATUSES)), max_size=5),
            ),
            min_size=1,
            max_size=2,
        ),
        "scope_regions": st.sets(st.sampled_from(REGIONS), max_size=2),
        "scope_orgs": st.sets(st.integers(0, 2), max_size=2),
        "role": st.sampled_from(("viewer", "coordinator", "admin")),
    }
)


def build(world: dict):
    for table in tables_to_empty():
        db.session.execute(table.delete())
    db.session.commit()
    orgs = [organization(f"Org {i} {next(_serial)}", region=region) for i, region in enumerate(world["orgs"])]
    people = []
    now = utcnow()
    for n, (region, org_index, active) in enumerate(world["people"]):
        org = orgs[org_index] if org_index is not None and org_index < len(orgs) else None
        tag = f"{next(_serial):06d}"
        person = volunteer(
            km=n + 1,
            bearing=n * 50,
            region=region,
            organization_id=org.id if org else None,
            name=f"Zq{tag}x",
            phone=f"+7701{tag}9",
        )
        if active:
            db.session.add(
                Activity(
                    volunteer_id=person.id,
                    activity="Training",
                    started_at=now - timedelta(hours=5),
                    ended_at=now - timedelta(hours=4),
                    duration_s=3600,
                    source="manual",
                    end_reason="entered",
                    verified=True,
                )
            )
        people.append(person)
    incidents = []
    for i, (region, called) in enumerate(world["incidents"]):
        lat, lon = point_at(ASTANA, 2.0, i * 90)
        inc = incident(code=f"{500 + i}", lat=lat, lon=lon, region=region)
        accepted = set()
        for index, status in dict(called).items():
            if index < len(people):
                made = alert(inc, people[index], status=status)
                if status == "accepted":
                    made.responded_at = now
                    accepted.add(people[index].id)
        incidents.append((inc, accepted))
    db.session.commit()
    scope_orgs = [orgs[i].id for i in world["scope_orgs"] if i < len(orgs)]
    user, token = create_user(
        f"reader{next(_serial)}@test.local", world["role"], regions=world["scope_regions"], organization_ids=scope_orgs
    )
    return orgs, people, incidents, user, token


def identifiers(person) -> list[str]:
    return [person.name, person.phone, person.phone[2:]]  # +7701..., and as 701... in any form


def listed_ids(body: dict, key: str) -> set[int]:
    return {item[key] for item in body.get("items", [])}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds)
def test_no_read_gives_away_a_volunteer_outside_the_scope(app, client, world):
    orgs, people, incidents, user, token = build(world)
    scope = scopes.of(user)
    inside = {p.id for p in people if scope.holds_volunteer(p)}
    outside = [p for p in people if p.id not in inside]
    headers = {"Authorization": f"Bearer {token}"}
    coordinator = world["role"] != "viewer"

    def get(url: str, status: int = 200):
        response = client.get(url, headers=headers)
        assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:300])
        return response

    def no_identifiers(text: str, url: str, allowed: set[int] = frozenset()) -> None:
        for person in outside:
            if person.id not in allowed:
                assert person.name not in text and person.phone[2:] not in text, (url, person.id)

    # The registry: lists, one record, the register and its exports.
    body = get("/api/v1/volunteers?per_page=200").get_json()
    assert listed_ids(body, "id") == inside and body["total"] == len(inside)
    no_identifiers(get("/api/v1/volunteers?per_page=200").get_data(as_text=True), "/volunteers")
    near = f"{ASTANA[0]},{ASTANA[1]}"
    near_body = get(f"/api/v1/volunteers?near={near}&radius_km=50&per_page=200").get_json()
    assert listed_ids(near_body, "id") <= inside
    for person in people:
        get(f"/api/v1/volunteers/{person.id}", 200 if person.id in inside else 404)
        activity = get(f"/api/v1/activity?volunteer_id={person.id}").get_json()
        assert person.id in inside or activity["items"] == [] and activity["total"] == 0
    register = get("/api/v1/activity?per_page=1000")
    assert listed_ids(register.get_json(), "volunteer_id") <= inside
    no_identifiers(register.get_data(as_text=True), "/activity")
    for item in db.session.scalars(select(Activity)):
        get(f"/api/v1/activity/{item.id}", 200 if item.volunteer_id in inside else 404)
    exported = get("/api/v1/activity?format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert {int(r["volunteer_id"]) for r in rows} <= inside
    no_identifiers(exported, "/activity?format=csv")
    sheet = load_workbook(io.BytesIO(get("/api/v1/activity?format=xlsx").get_data()), read_only=True).active
    cells = [[str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    no_identifiers("\n".join("\t".join(row) for row in cells), "/activity?format=xlsx")
    assert {int(row[1]) for row in cells[1:]} <= inside
    for org in orgs:
        no_identifiers(get(f"/api/v1/organizations/{org.id}").get_data(as_text=True), "/organizations/id")
    no_identifiers(get("/api/v1/organizations").get_data(as_text=True), "/organizations")

    # Incidents: readable by all; their people named only as the contract says.
    no_identifiers(get("/api/v1/incidents").get_data(as_text=True), "/incidents")
    for inc, accepted in incidents:
        manages = coordinator and scope.holds_region(inc.region)
        allowed = accepted if manages else set()
        for url in (
            f"/api/v1/incidents/{inc.id}",
            f"/api/v1/incidents/{inc.id}/alerts",
            f"/api/v1/incidents/{inc.id}/roll-call",
        ):
            no_identifiers(get(url).get_data(as_text=True), url, allowed)
        if coordinator:
            no_identifiers(get(f"/api/v1/incidents/{inc.id}/audit").get_data(as_text=True), "audit")
        items = get(f"/api/v1/incidents/{inc.id}/alerts").get_json()["items"]
        for item in items:
            named = item["volunteer_id"] in inside or item["volunteer_id"] in allowed
            assert (item["name"] is not None) == named, item
            assert (item["phone"] is not None) == (named and coordinator), item
    if coordinator:
        for person in outside:
            get(f"/api/v1/volunteers/{person.id}/certificate", 404)
        candidates = client.post(
            "/api/v1/candidates",
            json={"lat": ASTANA[0], "lon": ASTANA[1], "radius_km": 50, "limit": 500},
            headers=headers,
        )
        if candidates.status_code == 200:
            shown = {c["volunteer_id"] for c in candidates.get_json()["candidates"]} - {None}
            assert shown <= inside
            no_identifiers(candidates.get_data(as_text=True), "/candidates")
        else:  # Astana is outside their scope: they may not preview there
            assert candidates.get_json()["error"]["code"] == "OUT_OF_SCOPE"
