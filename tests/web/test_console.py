"""The coordinators' console through HTTP: signing in, CSRF, posting with a preview, the
incident page and its actions. Every change goes through the same use cases as the API."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Alert, Incident, OutboxMessage
from dispatch.users import create_user
from tests.dispatch.factories import ASTANA, volunteer

from .conftest import PASSWORD, csrf_token, sign_in

INCIDENT_FORM = {
    "kind": "flood",
    "title": "Ishim embankment flooding",
    "lat": f"{ASTANA[0]}",
    "lon": f"{ASTANA[1]}",
    "radius_km": "10",
    "max_radius_km": "50",
    "severity": "severe",
    "need_skill_0": "water_rescue",
    "need_count_0": "1",
}


def incidents_in_db() -> list[Incident]:
    return list(db.session.scalars(select(Incident)))


def preview(console, **changes):
    response = console.post_form("/console/incidents/new", {**INCIDENT_FORM, **changes, "action": "preview"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def digest_of(html: str) -> str:
    return re.search(r'name="previewed" value="([0-9a-f]+)"', html).group(1)


def assert_redirect(response, to: str) -> None:
    """A 302 to exactly `to` (a path; a trailing * matches any rest, such as ?next=...)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(to[:-1]) if to.endswith("*") else location == to, location


def test_console_needs_a_signed_in_coordinator(client, app):
    response = client.get("/console/incidents/new")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    create_user("viewer@test.local", "viewer", password=PASSWORD)
    assert_redirect(sign_in(client, "viewer@test.local"), "/console/")
    assert client.get("/console/").status_code == 403


def test_wrong_password_is_refused_without_saying_which_part(client, coordinator):
    wrong = sign_in(client, coordinator.email, "not the password")
    unknown = sign_in(client, "nobody@test.local")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password" in wrong.get_data(as_text=True)
    assert_redirect(client.get("/console/"), "/login?next=*")


def test_sign_in_goes_back_only_to_a_page_of_this_site(client, coordinator):
    token = csrf_token(client)
    data = {"email": coordinator.email, "password": PASSWORD, "csrf_token": token}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/console/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/console/")})
    response = client.post("/login?next=/console/volunteers", data={**data, "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/console/volunteers"


def test_sign_out_ends_the_session(console):
    assert console.get("/console/").status_code == 200
    assert_redirect(console.post_form("/logout"), "/login")
    assert_redirect(console.get("/console/"), "/login?next=*")


def test_changing_the_password_ends_open_sessions(console, coordinator):
    from dispatch.users import set_password

    set_password(coordinator, "another long password")
    db.session.commit()
    assert_redirect(console.get("/console/"), "/login?next=*")


def test_a_form_without_its_csrf_token_changes_nothing(console, app):
    volunteer(1, skills=("water_rescue",))
    response = console.post("/console/incidents/new", data={**INCIDENT_FORM, "action": "send"})
    assert response.status_code == 400
    assert "expired or did not come from this site" in response.get_data(as_text=True)
    assert incidents_in_db() == []


def test_the_api_and_the_webhooks_need_no_csrf_token(client, auth, app):
    response = client.post(
        "/api/v1/incidents",
        headers=auth("coordinator"),
        json={
            "kind": "fire",
            "title": "Barn",
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "needs": [{"skill": None, "count": 1}],
        },
    )
    assert response.status_code == 201
    # The webhook answers 403 for its missing signature, not 400 for a missing CSRF token.
    assert client.post("/sms/inbound", data={"From": "+77010000001", "MessageSid": "SM1"}).status_code == 403


def test_preview_shows_candidates_and_the_sms_with_its_parts_and_sends_nothing(console):
    near = volunteer(1, skills=("water_rescue",), name="Near Swimmer")
    volunteer(2, skills=("first_aid",), name="Not A Swimmer")
    html = preview(console)
    assert "Near Swimmer" in html and "Not A Swimmer" not in html
    assert "1 eligible within the radius; the first wave texts 1." in html
    assert "Reply YES 000 / NO 000" in html and "1 SMS part (GSM-7" in html
    assert "ДА 000" in html and "ИӘ 000" in html  # every language the registry speaks
    assert incidents_in_db() == [] and db.session.scalars(select(Alert)).all() == []
    assert near.id


def test_send_after_preview_posts_the_incident_and_alerts_at_once(console):
    swimmer = volunteer(1, skills=("water_rescue",), name="Near Swimmer")
    html = preview(console)
    response = console.post_form(
        "/console/incidents/new", {**INCIDENT_FORM, "action": "send", "previewed": digest_of(html)}
    )
    assert response.status_code == 302
    [incident] = incidents_in_db()
    assert response.headers["Location"] == f"/console/incidents/{incident.id}"
    assert incident.title == "Ishim embankment flooding" and incident.reported_by_id is not None
    assert [a.volunteer_id for a in db.session.scalars(select(Alert))] == [swimmer.id]
    page = console.get(response.headers["Location"]).get_data(as_text=True)
    assert "Near Swimmer" in page and "Incident posted" in page and incident.code in page


def test_sending_something_else_than_was_previewed_shows_the_preview_again(console):
    volunteer(1, skills=("water_rescue",))
    html = preview(console)
    response = console.post_form(
        "/console/incidents/new", {**INCIDENT_FORM, "need_count_0": "3", "action": "send", "previewed": digest_of(html)}
    )
    assert response.status_code == 200
    assert "The form changed after the preview" in response.get_data(as_text=True)
    assert incidents_in_db() == []


def test_form_errors_are_shown_by_field_and_nothing_is_posted(console):
    response = console.post_form(
        "/console/incidents/new", {**INCIDENT_FORM, "title": "", "lat": "north", "action": "send"}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="lat-error"' in html and "must be a number" in html
    response = console.post_form("/console/incidents/new", {**INCIDENT_FORM, "title": "", "action": "preview"})
    assert 'id="title-error"' in response.get_data(as_text=True)
    response = console.post_form("/console/incidents/new", {**INCIDENT_FORM, "area": "{not json", "action": "preview"})
    assert 'id="area-error"' in response.get_data(as_text=True)
    assert incidents_in_db() == []


def test_a_pasted_geojson_feature_becomes_the_incident_area(console):
    volunteer(1, skills=("water_rescue",))
    ring = [[71.40, 51.15], [71.50, 51.15], [71.50, 51.20], [71.40, 51.20], [71.40, 51.15]]
    feature = json.dumps({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    html = preview(console, area=feature)
    console.post_form(
        "/console/incidents/new", {**INCIDENT_FORM, "area": feature, "action": "send", "previewed": digest_of(html)}
    )
    [incident] = incidents_in_db()
    assert incident.area_geojson["type"] == "Polygon"


def post_incident(console) -> Incident:
    html = preview(console)
    console.post_form("/console/incidents/new", {**INCIDENT_FORM, "action": "send", "previewed": digest_of(html)})
    return incidents_in_db()[0]


def test_close_cancel_and_broadcast_call_the_use_cases(console):
    volunteer(1, skills=("water_rescue",))
    incident = post_incident(console)
    response = console.post_form(
        f"/console/incidents/{incident.id}/broadcast", {"body": "Meet at the bridge", "to": "pending"}
    )
    assert_redirect(response, f"/console/incidents/{incident.id}")
    kinds = [m.kind for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert kinds == ["alert", "broadcast"]
    assert_redirect(
        console.post_form(f"/console/incidents/{incident.id}/close", {"confirm": "yes"}),
        f"/console/incidents/{incident.id}",
    )
    db.session.refresh(incident)
    assert incident.status == "closed"
    page = console.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    assert "This incident has ended" in page
    again = console.post_form(f"/console/incidents/{incident.id}/cancel", {"confirm": "yes"})
    assert again.status_code == 409 and "already closed" in again.get_data(as_text=True)


def test_an_unknown_incident_is_a_page_not_json(console):
    response = console.get("/console/incidents/999999")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_live_fragments_answer_304_until_something_changes(console):
    volunteer(1, skills=("water_rescue",))
    incident = post_incident(console)
    url = f"/console/incidents/{incident.id}/live"
    first = console.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert console.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    console.post_form(f"/console/incidents/{incident.id}/cancel", {"confirm": "yes"})
    changed = console.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "Cancelled" in changed.get_data(as_text=True)
