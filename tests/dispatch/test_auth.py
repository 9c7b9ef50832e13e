"""The auth matrix over every route: anonymous, viewer, coordinator, admin."""

from __future__ import annotations

import re

import pytest

from dispatch.models import ROLES
from dispatch.users import create_user, hash_token

# Public by design: health, the API description, the public status; the SMS webhooks are
# guarded by the provider's signature instead (tests/dispatch/test_webhooks.py).
PUBLIC = {
    "/healthz",
    "/api/v1/openapi.json",
    "/api/v1/status",
    "/static/<path:filename>",
    "/sms/inbound",
    "/sms/status",
    "/sms/smsgate",
    "/telegram/webhook",
}


def protected_routes(app) -> list[tuple[str, str, str]]:
    """(method, url, required role) for every route that declares a role."""
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        role = getattr(view, "required_role", None)
        if role is None:
            # Pages (session login, CSRF) have their own matrix in tests/web.
            assert rule.rule in PUBLIC or not rule.rule.startswith(("/api/", "/sms/")), f"{rule.rule} declares no role"
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url, role))
    return routes


def test_every_api_route_declares_a_role_or_is_public(app):
    assert len(protected_routes(app)) >= 7


def test_matrix(app, client, tokens):
    for method, url, required in protected_routes(app):
        response = client.open(url, method=method)
        assert response.status_code == 401, (method, url)
        assert response.get_json()["error"]["code"] == "UNAUTHORIZED"
        response = client.open(url, method=method, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401, (method, url)
        response = client.open(url, method=method, headers={"Authorization": f"Basic {tokens['admin']}"})
        assert response.status_code == 401, (method, url)
        for role in ROLES:
            response = client.open(url, method=method, headers={"Authorization": f"Bearer {tokens[role]}"})
            if ROLES.index(role) < ROLES.index(required):
                assert response.status_code == 403, (method, url, role)
                assert response.get_json()["error"]["code"] == "FORBIDDEN"
            else:
                assert response.status_code not in (401, 403), (method, url, role)


def test_tokens_are_stored_hashed(app):
    user, token = create_user("hash@test.local", "viewer")
    assert [t.token_hash for t in user.tokens] == [hash_token(token)]
    assert token not in hash_token(token)


def test_passwords_are_hashed_with_scrypt(app):
    from dispatch.users import check_password

    user, _ = create_user("pw@test.local", "coordinator", password="correct horse battery")
    assert user.password_hash.startswith("scrypt:")
    assert check_password(user, "correct horse battery")
    assert not check_password(user, "wrong horse battery")


@pytest.mark.parametrize(("email", "role"), [("not-an-email", "viewer"), ("x@y.z", "superuser")])
def test_bad_users_are_refused(app, email, role):
    from dispatch.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        create_user(email, role)


# -- what a viewer may see of volunteers ---------------------------------------------------------

HOME = (51.123456, 71.654321)  # exact, as registered; a viewer sees 51.12, 71.65
PHONE = "+77015550101"


def _seeded(client, auth) -> dict[str, int]:
    """A volunteer with a phone and an exact home, in an organisation, called out to an incident
    (accepted, on scene), with an activity record: every kind of row that carries volunteers."""
    from datetime import timedelta

    from dispatch.clock import utcnow
    from dispatch.extensions import db

    from .factories import alert, incident, organization, volunteer

    org = organization("Astana Rescue", region="KZ-71")
    person = volunteer(0, origin=HOME, phone=PHONE, name="Leak Test", organization="Astana Rescue")
    inc = incident(code="731", lat=51.2, lon=71.4)
    called = alert(inc, person, status="accepted")
    called.distance_km = 19.4321
    called.reason = "19.4 km away, any volunteer, available"
    called.responded_at = called.arrived_at = utcnow()
    db.session.commit()
    start = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
    entered = client.post(
        "/api/v1/activity",
        json={
            "volunteer_id": person.id,
            "activity": "Training",
            "started_at": start.isoformat() + "Z",
            "ended_at": (start + timedelta(hours=1)).isoformat() + "Z",
        },
        headers=auth("coordinator"),
    )
    assert entered.status_code == 201
    return {
        "volunteer_id": person.id,
        "incident_id": inc.id,
        "activity_id": entered.get_json()["id"],
        "organization_id": org.id,
    }


def _get_urls(app, ids: dict[str, int]) -> list[str]:
    """Every GET route of the API with the seeded ids, plus the lists with their filters."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith("/api/"):
            continue
        assert set(rule.arguments) <= set(ids), f"{rule.rule}: seed a row for {rule.arguments}"
        urls.append(re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m[1]]), rule.rule))
    near = f"{HOME[0]},{HOME[1]}"
    urls += [
        f"/api/v1/volunteers?near={near}&radius_km=1",
        f"/api/v1/volunteers?near={near}&radius_km=0.01",
        f"/api/v1/volunteers?organization_id={ids['organization_id']}",
        f"/api/v1/volunteers/{ids['volunteer_id']}?incident_id={ids['incident_id']}",
        f"/api/v1/activity?volunteer_id={ids['volunteer_id']}",
        f"/api/v1/activity?organization_id={ids['organization_id']}",
        "/api/v1/incidents?status=open",
    ]
    return urls


def _values(document):
    if isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from _values(value)
    elif isinstance(document, list):
        for value in document:
            yield from _values(value)
    else:
        yield document


def _leaks(text: str, document) -> list[str]:
    """The seeded phone in any written form, or the exact home, found in an answer."""
    from notifications.phones import local_forms

    found = [form for form in local_forms(PHONE) if form in text]
    national = PHONE[2:]  # 7015550101: however it is spaced or punctuated
    for value in _values(document):
        if isinstance(value, str) and national in re.sub(r"\D", "", value):
            found.append(f"phone in {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for exact in HOME:
                # Anything nearer the exact coordinate than the rounding would be, but the rounded value.
                if abs(value - exact) < 0.004 and value != round(exact, 2):
                    found.append(f"coordinate {value}")
    for exact in HOME:
        if f"{exact:.4f}"[:-1] in text:
            found.append(f"coordinate text {exact}")
    return found


def test_a_viewer_never_receives_a_phone_number_or_an_exact_home(app, client, auth):
    ids = _seeded(client, auth)
    for url in _get_urls(app, ids):
        response = client.get(url, headers=auth("viewer"))
        if response.status_code == 403:  # a coordinator's route: nothing to read
            continue
        assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
        text = response.get_data(as_text=True)
        assert _leaks(text, response.get_json()) == [], url
    # The same routes give a coordinator the full data (so the search above can find it).
    seen = {url: client.get(url, headers=auth("coordinator")) for url in _get_urls(app, ids)}
    person = seen[f"/api/v1/volunteers/{ids['volunteer_id']}"].get_json()
    assert (person["phone"], person["lat"], person["lon"]) == (PHONE, *HOME)
    alerts = seen[f"/api/v1/incidents/{ids['incident_id']}/alerts"].get_json()["items"]
    assert alerts[0]["phone"] == PHONE and alerts[0]["distance_km"] == 19.4321
    # And what a viewer sees instead: rounded, whole km.
    viewer = client.get(f"/api/v1/volunteers/{ids['volunteer_id']}", headers=auth("viewer")).get_json()
    assert (viewer["phone"], viewer["lat"], viewer["lon"]) == (None, 51.12, 71.65)
    viewer_alerts = client.get(f"/api/v1/incidents/{ids['incident_id']}/alerts", headers=auth("viewer")).get_json()
    assert viewer_alerts["items"][0]["distance_km"] == 19.0
    assert viewer_alerts["items"][0]["why_chosen"] == "19 km away, any volunteer, available"


def test_near_measures_a_viewer_from_the_rounded_home(client, auth):
    """A viewer cannot find an exact home by narrowing ?near=: the search sees the rounded one."""
    _seeded(client, auth)
    rounded = (round(HOME[0], 2), round(HOME[1], 2))

    def found(role: str, point: tuple[float, float], radius_km: float) -> int:
        url = f"/api/v1/volunteers?near={point[0]},{point[1]}&radius_km={radius_km}"
        return client.get(url, headers=auth(role)).get_json()["total"]

    assert found("coordinator", HOME, 0.01) == 1 and found("viewer", HOME, 0.01) == 0
    assert found("viewer", rounded, 0.01) == 1 and found("coordinator", rounded, 0.01) == 0


def test_reads_of_full_records_are_audited_once_per_request(client, auth, tokens):
    from sqlalchemy import select

    from dispatch.extensions import db
    from dispatch.models import AuditEvent, User

    ids = _seeded(client, auth)
    reads = ("volunteer_read", "volunteers_read")

    def events() -> list[tuple]:
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event.in_(reads)).order_by(AuditEvent.id))
        return [(e.actor, e.event, e.volunteer_id, e.details) for e in rows]

    for url in (
        f"/api/v1/volunteers/{ids['volunteer_id']}",
        "/api/v1/volunteers",
        f"/api/v1/incidents/{ids['incident_id']}/alerts",
    ):
        client.get(url, headers=auth("viewer"))
    assert events() == []  # a viewer reads no full record
    coordinator = db.session.scalar(select(User.id).where(User.email == "coordinator@test.local"))
    who = f"user:{coordinator}"
    client.get(f"/api/v1/volunteers/{ids['volunteer_id']}", headers=auth("coordinator"))
    client.get(
        f"/api/v1/volunteers/{ids['volunteer_id']}?incident_id={ids['incident_id']}", headers=auth("coordinator")
    )
    client.get("/api/v1/volunteers?per_page=200", headers=auth("coordinator"))
    client.get("/api/v1/volunteers?skill=diver", headers=auth("coordinator"))  # nobody shown: nothing read
    client.get(f"/api/v1/incidents/{ids['incident_id']}/alerts", headers=auth("coordinator"))
    assert events() == [
        (who, "volunteer_read", ids["volunteer_id"], {"why": "registry"}),
        (who, "volunteer_read", ids["volunteer_id"], {"why": f"incident:{ids['incident_id']}"}),
        (who, "volunteers_read", None, {"why": "registry", "count": 1}),
        (who, "volunteers_read", None, {"why": f"incident:{ids['incident_id']}", "count": 1}),
    ]
    bad = client.get(f"/api/v1/volunteers/{ids['volunteer_id']}?incident_id=99999", headers=auth("coordinator"))
    assert bad.status_code == 400 and len(events()) == 4
