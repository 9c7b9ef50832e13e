"""The auth-and-scope matrix: every API route, walked by users of every role and every kind of
scope (national, a region, an organisation), on a volunteer, an activity record, an incident and
an organisation inside their scope and outside it.

Out of scope: volunteers and activity are 404 (as if they did not exist), incidents and
organisations answer 403 OUT_OF_SCOPE to whoever would post or manage there, and none of it
changes anything. In scope: the scope lets the request through (whatever the route answers
then). A role too low is 403 FORBIDDEN before any of this (tests/dispatch/test_auth.py)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import (
    ROLES,
    Activity,
    Alert,
    AuditEvent,
    Certificate,
    Incident,
    Organization,
    OutboxMessage,
    TelegramLinkCode,
    Volunteer,
)
from dispatch.users import create_user

from .factories import ALMATY, ASTANA, alert, incident, organization, volunteer
from .test_cap_api import alert_doc

IN_REGION, OUT_REGION = "KZ-75", "KZ-71"  # Almaty city, Astana
SCOPES = ("national", "region", "organization")
_unique = itertools.count(1)
POLYGONS = {
    "in": "43.20,76.80 43.20,76.90 43.25,76.90 43.25,76.80 43.20,76.80",
    "out": "51.10,71.30 51.10,71.55 51.20,71.55 51.20,71.30 51.10,71.30",
}
PEOPLE = {
    "in": {"name": "Inside Person", "phone": "+77015550111"},
    "out": {"name": "Outside Person", "phone": "+77015550122"},
}


def seed() -> dict:
    """Each side ("in": Almaty, "out": Astana) has an organisation, a member volunteer living
    there, an incident there with that volunteer accepted and on scene, and an activity record."""
    ids: dict = {}
    now = utcnow()
    for side, region, origin in (("in", IN_REGION, ALMATY), ("out", OUT_REGION, ASTANA)):
        org = organization(f"Rescue {side}", region=region)
        person = volunteer(0, origin=origin, region=region, organization=org.name, **PEOPLE[side])
        inc = incident(code=f"{7 if side == 'in' else 8}31", lat=origin[0], lon=origin[1], region=region)
        called = alert(inc, person, status="accepted")
        called.responded_at = called.arrived_at = now
        record = Activity(
            volunteer_id=person.id,
            activity="Training",
            started_at=now - timedelta(hours=3),
            ended_at=now - timedelta(hours=2),
            duration_s=3600,
            source="manual",
            end_reason="entered",
            verified=False,
        )
        db.session.add(record)
        db.session.commit()
        ids[side] = {
            "volunteer_id": person.id,
            "incident_id": inc.id,
            "activity_id": record.id,
            "organization_id": org.id,
            "region": region,
            "point": origin,
        }
    return ids


def users_for(ids: dict) -> dict[tuple[str, str], str]:
    """(scope kind, role) -> bearer token."""
    tokens = {}
    for kind in SCOPES:
        for role in ROLES:
            regions = [IN_REGION] if kind == "region" else []
            orgs = [ids["in"]["organization_id"]] if kind == "organization" else []
            _, token = create_user(f"{kind}-{role}@test.local", role, regions=regions, organization_ids=orgs)
            tokens[kind, role] = token
    return tokens


# -- what each route is asked, on either side ----------------------------------------------------

VOLUNTEER, ACTIVITY, MANAGE, READ, ORGANIZATION, LIST = "volunteer", "activity", "manage", "read", "org", "list"


def _cap(side: str) -> dict:
    return {
        "data": alert_doc(f"scope-{next(_unique)}", polygon=POLYGONS[side]),
        "content_type": "application/cap+xml",
    }


def _csv(side: str, ids: dict) -> dict:
    lat, lon = ids[side]["point"]
    phone = f"+7701777{next(_unique):04d}"
    text = f"name,phone,lat,lon,skills,language,organization\nNew {side},{phone},{lat},{lon},,ru,Rescue {side}\n"
    return {"data": text.encode(), "content_type": "text/csv"}


def _activity_csv(side: str, ids: dict) -> dict:
    start = utcnow() - timedelta(days=2, hours=next(_unique))
    end = start + timedelta(hours=2)
    text = (
        "volunteer_id,action,start,end\n"
        f"{ids[side]['volunteer_id']},Training,{start:%Y-%m-%dT%H:%M:%S}Z,{end:%Y-%m-%dT%H:%M:%S}Z\n"
    )
    return {"data": text.encode(), "content_type": "text/csv"}


def _period() -> dict:
    start = (utcnow() - timedelta(hours=6)).replace(microsecond=0)
    return {"started_at": start.isoformat() + "Z", "ended_at": (start + timedelta(hours=1)).isoformat() + "Z"}


# (method, rule) -> (what it touches, how to ask it for one side: the url's ids, and the body)
ROUTES: dict[tuple[str, str], tuple[str, object]] = {
    ("GET", "/api/v1/activity"): (LIST, None),
    ("POST", "/api/v1/activity"): (
        ACTIVITY,
        lambda s, ids: {"json": {"volunteer_id": ids[s]["volunteer_id"], "activity": "Drill", **_period()}},
    ),
    ("GET", "/api/v1/activity/<id:activity_id>"): (ACTIVITY, None),
    ("POST", "/api/v1/activity/import"): (ACTIVITY, lambda s, ids: _activity_csv(s, ids)),
    ("PATCH", "/api/v1/activity/<id:activity_id>"): (
        ACTIVITY,
        lambda s, ids: {"json": {"verified": True, "reason": "checked it"}},
    ),
    ("GET", "/api/v1/activity/<id:activity_id>/audit"): (ACTIVITY, None),
    ("POST", "/api/v1/candidates"): (
        MANAGE,
        lambda s, ids: {"json": {"lat": ids[s]["point"][0], "lon": ids[s]["point"][1], "radius_km": 5}},
    ),
    ("POST", "/api/v1/cap"): (MANAGE, lambda s, ids: _cap(s)),
    ("POST", "/api/v1/incidents"): (
        MANAGE,
        lambda s, ids: {
            "json": {
                "kind": "flood",
                "title": "Posted",
                "lat": ids[s]["point"][0],
                "lon": ids[s]["point"][1],
                "needs": [{"skill": None, "count": 1}],
            }
        },
    ),
    ("GET", "/api/v1/incidents"): (LIST, None),
    ("GET", "/api/v1/incidents/<id:incident_id>"): (READ, None),
    ("PATCH", "/api/v1/incidents/<id:incident_id>"): (MANAGE, lambda s, ids: {"json": {"title": "Renamed"}}),
    ("GET", "/api/v1/incidents/<id:incident_id>/alerts"): (READ, None),
    ("POST", "/api/v1/incidents/<id:incident_id>/alerts"): (
        MANAGE,
        lambda s, ids: {"json": {"volunteer_ids": [ids[s]["volunteer_id"]]}},
    ),
    ("GET", "/api/v1/incidents/<id:incident_id>/audit"): (READ, None),
    ("POST", "/api/v1/incidents/<id:incident_id>/cancel"): (MANAGE, None),
    ("POST", "/api/v1/incidents/<id:incident_id>/close"): (MANAGE, None),
    ("POST", "/api/v1/incidents/<id:incident_id>/dispatch"): (
        MANAGE,
        lambda s, ids: {"json": {"needs": [{"skill": None, "count": 1}]}},
    ),
    ("POST", "/api/v1/incidents/<id:incident_id>/messages"): (
        MANAGE,
        lambda s, ids: {"json": {"body": "Bring water", "to": "all"}},
    ),
    ("POST", "/api/v1/incidents/<id:incident_id>/responders/<id:volunteer_id>"): (
        MANAGE,
        lambda s, ids: {"json": {"status": "safe"}},
    ),
    ("POST", "/api/v1/incidents/<id:incident_id>/roll-call"): (MANAGE, None),
    ("GET", "/api/v1/incidents/<id:incident_id>/roll-call"): (READ, None),
    ("POST", "/api/v1/incidents/<id:incident_id>/standby"): (MANAGE, None),
    ("GET", "/api/v1/organizations"): (LIST, None),
    ("POST", "/api/v1/organizations"): (
        ORGANIZATION,
        lambda s, ids: {"json": {"name": f"New org {next(_unique)}", "region": ids[s]["region"]}},
    ),
    ("GET", "/api/v1/organizations/<id:organization_id>"): (READ, None),
    ("PATCH", "/api/v1/organizations/<id:organization_id>"): (
        ORGANIZATION,
        lambda s, ids: {"json": {"address": "Main street 1"}},
    ),
    ("GET", "/api/v1/places"): (LIST, None),
    ("GET", "/api/v1/regions"): (LIST, None),
    ("GET", "/api/v1/skills"): (LIST, None),
    ("POST", "/api/v1/volunteers"): (
        VOLUNTEER,
        lambda s, ids: {
            "json": {
                "name": "Newcomer",
                "phone": f"+7701888{next(_unique):04d}",
                "lat": ids[s]["point"][0],
                "lon": ids[s]["point"][1],
                "skills": [],
                "language": "ru",
                "organization_id": ids[s]["organization_id"],
            }
        },
    ),
    ("GET", "/api/v1/volunteers"): (LIST, None),
    ("GET", "/api/v1/volunteers/<id:volunteer_id>"): (VOLUNTEER, None),
    ("PATCH", "/api/v1/volunteers/<id:volunteer_id>"): (VOLUNTEER, lambda s, ids: {"json": {"max_distance_km": 40}}),
    ("DELETE", "/api/v1/volunteers/<id:volunteer_id>"): (VOLUNTEER, None),
    ("GET", "/api/v1/volunteers/<id:volunteer_id>/certificate"): (VOLUNTEER, None),
    ("POST", "/api/v1/volunteers/<id:volunteer_id>/telegram-link"): (VOLUNTEER, None),
    ("POST", "/api/v1/volunteers/import"): (VOLUNTEER, lambda s, ids: _csv(s, ids)),
}
# Destructive ones last, so that the others still find their rows.
LAST = ("/cancel", "/close", "DELETE")


def api_routes(app) -> list[tuple[str, str, str]]:
    """(method, rule, required role) of every API route that declares a role."""
    found = []
    for rule in app.url_map.iter_rules():
        role = getattr(app.view_functions[rule.endpoint], "required_role", None)
        if role is None or not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, role))
    return sorted(found, key=lambda r: min((i for i, m in enumerate(LAST) if m in f"{r[0]}{r[1]}"), default=-1))


def test_every_api_route_is_in_the_scope_matrix(app):
    walked = {(method, rule) for method, rule, _ in api_routes(app)}
    assert walked == set(ROUTES), {"missing": walked - set(ROUTES), "gone": set(ROUTES) - walked}


def ask(client, token: str, method: str, rule: str, side: str, ids: dict):
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[side][m[1]]), rule)
    build = ROUTES[method, rule][1]
    kwargs = build(side, ids) if build else {}
    return client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def snapshot() -> dict:
    """What a refused request must leave as it was."""

    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    db.session.expire_all()
    return {
        # Reads are audited, and so is an import, even one that imported nothing.
        "audit": count(
            AuditEvent, AuditEvent.event.not_in(("volunteer_read", "volunteers_read", "volunteers_imported"))
        ),
        "outbox": count(OutboxMessage),
        "alerts": count(Alert),
        "incidents": db.session.execute(
            select(Incident.id, Incident.status, Incident.title, Incident.region).order_by(Incident.id)
        ).all(),
        "volunteers": db.session.execute(
            select(Volunteer.id, Volunteer.name, Volunteer.phone, Volunteer.max_distance_km).order_by(Volunteer.id)
        ).all(),
        "activity": db.session.execute(select(Activity.id, Activity.verified).order_by(Activity.id)).all(),
        "organizations": db.session.execute(select(Organization.id, Organization.address)).all(),
        "certificates": count(Certificate),
        "links": count(TelegramLinkCode),
    }


# In scope, every request succeeds but for these, refused for what the incident is by then.
STATE_CONFLICTS = {
    "/api/v1/incidents/<id:incident_id>/dispatch": "INCIDENT_NOT_DRAFT",  # the seeded incidents are not drafts
    "/api/v1/incidents/<id:incident_id>/close": "INCIDENT_ENDED",  # cancelled just before
}


def expect_in_scope(response, what: str, method: str, rule: str) -> None:
    """The scope let it through: the route did what it does."""
    body = response.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    code = (body.get("error") or {}).get("code")
    if rule in STATE_CONFLICTS:
        assert response.status_code == 409 and code == STATE_CONFLICTS[rule], (response.status_code, body)
        return
    assert 200 <= response.status_code < 300, (response.status_code, body)
    if rule == "/api/v1/activity/import":
        assert len(body["activity_ids"]) == 1, body
    elif rule.endswith("/import"):
        assert body["rejected"] == [] and body["created"] == 1, body


def expect_out_of_scope(response, what: str, method: str, rule: str) -> None:
    body = response.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    code = (body.get("error") or {}).get("code")
    if rule == "/api/v1/activity/import":  # a volunteer they do not have: as one that does not exist
        assert (response.status_code, code) == (400, "CSV_ROWS"), body
        assert [p["code"] for e in body["error"]["details"]["errors"] for p in e["problems"]] == [
            "unknown_volunteer"
        ], body
    elif rule.endswith("/import"):
        assert response.status_code == 200 and body["created"] == 0, body
        assert [r["error"] for r in body["rejected"]] == ["outside your regions and organisations"], body
    elif rule == "/api/v1/volunteers" and method == "POST":  # a new volunteer they could not see
        assert (response.status_code, code) == (403, "OUT_OF_SCOPE"), body
    elif what == ACTIVITY and method == "POST":  # a volunteer they do not have: as one that does not exist
        assert (response.status_code, code) == (400, "VALIDATION_ERROR"), body
        assert "No volunteer" in body["error"]["message"]
    elif what in (VOLUNTEER, ACTIVITY):
        assert (response.status_code, code) == (404, "NOT_FOUND"), body
    elif what in (MANAGE, ORGANIZATION):
        assert (response.status_code, code) == (403, "OUT_OF_SCOPE"), body
    else:  # reading incidents, organisations and lists is everyone's
        assert response.status_code == 200, body


@pytest.mark.parametrize("kind", SCOPES)
@pytest.mark.parametrize("role", ROLES)
def test_scope_matrix(app, client, telegram, kind, role):
    ids = seed()
    tokens = users_for(ids)
    token = tokens[kind, role]
    routes = api_routes(app)
    before = snapshot()
    for method, rule, required in routes:
        what = ROUTES[method, rule][0]
        response = ask(client, token, method, rule, "out", ids)
        if ROLES.index(role) < ROLES.index(required):
            assert response.status_code == 403, (method, rule)
            assert response.get_json()["error"]["code"] == "FORBIDDEN"
        elif kind == "national":
            expect_in_scope(response, what, method, rule)
        else:
            try:
                expect_out_of_scope(response, what, method, rule)
            except AssertionError as exc:
                raise AssertionError(f"{kind} {role} {method} {rule}: {exc}") from None
    if kind != "national":
        events = db.session.execute(select(AuditEvent.actor, AuditEvent.event, AuditEvent.details)).all()
        assert snapshot() == before, f"a request outside the scope changed something: {events}"
    for method, rule, required in routes:
        what = ROUTES[method, rule][0]
        response = ask(client, token, method, rule, "in", ids)
        if ROLES.index(role) < ROLES.index(required):
            assert response.status_code == 403, (method, rule)
            assert response.get_json()["error"]["code"] == "FORBIDDEN"
        elif kind == "organization" and (method, rule) == ("POST", "/api/v1/organizations"):
            # An organisation's coordinator holds no region: new organisations are not theirs to add.
            assert response.get_json()["error"]["code"] == "OUT_OF_SCOPE"
        else:
            try:
                expect_in_scope(response, what, method, rule)
            except AssertionError as exc:
                raise AssertionError(f"{kind} {role} {method} {rule}: {exc}") from None
