"""Every form's limits hold on the server, whatever the browser was told: too long is a form
error in the page's language (4xx) and changes nothing. The numbers come from one place (the
pydantic models in dispatch/schemas.py, or the column that stores the value)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dispatch import incidents, jobs
from dispatch.errors import ValidationFailed
from dispatch.extensions import db
from dispatch.models import AuditEvent, InboundMessage, Incident, OutboxMessage
from dispatch.schemas import IncidentIn, max_length
from dispatch.users import create_user, set_password
from tests.dispatch.factories import ASTANA, volunteer

from .conftest import PASSWORD, csrf_token, sign_in


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_limits_are_read_from_the_models():
    assert max_length(IncidentIn, "title") == 200
    assert max_length(IncidentIn, "description") == 2000  # inside `Annotated[...] | None`
    with pytest.raises(LookupError):
        max_length(IncidentIn, "kind")


# -- the SMS simulator ------------------------------------------------------------------------


def test_a_simulated_reply_over_an_sms_length_is_refused_not_cut(console, sms):
    person = volunteer(1, name="Long Talker")
    response = console.post_form(f"/console/simulator/{person.id}/reply", {"body": "YES " + "x" * 4996})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "An SMS can be up to 1600 characters long; this one has 5000. Nothing was sent." in html
    assert 'maxlength="1600"' in html
    assert count(InboundMessage) == 0


def test_a_simulated_reply_of_exactly_an_sms_length_is_taken_whole(console, sms):
    person = volunteer(1)
    body = "NO " + "x" * 1597
    assert console.post_form(f"/console/simulator/{person.id}/reply", {"body": body}).status_code == 302
    assert db.session.scalar(select(InboundMessage.body)) == body


def test_an_empty_simulated_reply_is_a_form_error(console, sms):
    person = volunteer(1)
    response = console.post_form(f"/console/simulator/{person.id}/reply", {"body": "   "})
    assert response.status_code == 400 and "Write the text the volunteer sends." in response.get_data(as_text=True)
    assert count(InboundMessage) == 0


def test_the_simulators_error_is_in_the_pages_language(console, sms):
    person = volunteer(1)
    console.get("/console/?lang=kk")
    response = console.post_form(f"/console/simulator/{person.id}/reply", {"body": "x" * 1601})
    assert response.status_code == 400
    assert "SMS 1600 таңбадан аспауы керек, ал мұнда 1601 таңба." in response.get_data(as_text=True)


# -- broadcast and the incident form ------------------------------------------------------------


def alerted_incident() -> Incident:
    volunteer(0.5)
    data = IncidentIn.model_validate(
        {"kind": "flood", "title": "Flood", "lat": ASTANA[0], "lon": ASTANA[1], "needs": [{"skill": None, "count": 1}]}
    )
    incident = incidents.report_incident(data, incidents.Placement(*ASTANA), reported_by=None)
    jobs.send_outbox()
    return incident


def test_a_broadcast_over_its_limit_is_a_form_error_and_sends_nothing(console, sms):
    incident = alerted_incident()
    response = console.post_form(f"/console/incidents/{incident.id}/broadcast", {"body": "x" * 601, "to": "all"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Write a message (up to 600 characters) and choose who gets it. Nothing was sent." in html
    assert 'maxlength="600"' in html and "Flood" in html  # the incident page again, with the error
    assert count(OutboxMessage, OutboxMessage.kind == "broadcast") == 0
    ok = console.post_form(f"/console/incidents/{incident.id}/broadcast", {"body": "x" * 600, "to": "all"})
    assert ok.status_code == 302 and count(OutboxMessage, OutboxMessage.kind == "broadcast") == 1


INCIDENT_FORM = {
    "kind": "flood",
    "title": "Flood",
    "lat": f"{ASTANA[0]}",
    "lon": f"{ASTANA[1]}",
    "radius_km": "10",
    "max_radius_km": "50",
    "severity": "severe",
    "need_count_0": "1",
    "action": "preview",
}


@pytest.mark.parametrize(("field", "value"), [("title", "t" * 201), ("description", "d" * 2001)])
def test_an_incident_field_over_its_limit_is_shown_by_the_field(console, field, value):
    response = console.post_form("/console/incidents/new", {**INCIDENT_FORM, field: value})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html and f'aria-describedby="{field}-error"' in html
    assert 'maxlength="200"' in html and 'maxlength="2000"' in html
    assert count(Incident) == 0


# -- signing in, preferences, registry filters, the simulator's phone search ------------------------


def test_an_overlong_email_or_password_is_refused_before_any_look_up(client, app):
    create_user("long@test.local", "coordinator", password=PASSWORD)
    for data in (
        {"email": "a" * 250 + "@x.kz", "password": PASSWORD},
        {"email": "long@test.local", "password": "p" * 257},
    ):
        for _ in range(6):  # more than the lockout allows: none of them counts as a failure
            response = client.post("/login", data={**data, "csrf_token": csrf_token(client)})
            html = response.get_data(as_text=True)
            assert response.status_code == 400
            assert "An email has at most 254 characters and a password at most 256." in html
            assert "a" * 250 not in html  # not echoed back
    assert count(AuditEvent, AuditEvent.event == "login_failed") == 0
    assert sign_in(client, "long@test.local").status_code == 302


def test_a_password_longer_than_sign_in_takes_cannot_be_set(app):
    user, _ = create_user("setter@test.local", "coordinator")
    with pytest.raises(ValidationFailed):
        set_password(user, "p" * 257)
    set_password(user, "p" * 256)


def test_the_sign_in_error_is_in_the_pages_language(client):
    client.get("/login?lang=ru")
    response = client.post("/login", data={"email": "a" * 300, "password": "x", "csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert "Адрес эл. почты — не длиннее 254 знаков, пароль — не длиннее 256." in response.get_data(as_text=True)


def test_preferences_take_only_their_lists(console):
    for data in ({"language": "kk", "timezone": "Asia/" + "x" * 5000}, {"language": "x" * 5000, "timezone": "UTC"}):
        response = console.post_form("/preferences", data)
        assert response.status_code == 200 and "Choose a language and a time zone" in response.get_data(as_text=True)
    html = console.get("/preferences").get_data(as_text=True)
    assert '<html lang="en">' in html and "<option selected>Asia/Almaty</option>" in html


def test_an_organisation_filter_over_its_limit_is_a_form_error(console):
    volunteer(1, organization="Astana Rescue", name="Listed Anyway")
    response = console.get("/console/volunteers?organization=" + "o" * 201)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "An organisation&#39;s name has at most 200 characters." in html
    assert "Listed Anyway" in html  # searched without it
    assert console.get("/console/volunteers?organization=" + "o" * 200).status_code == 200


def test_an_overlong_number_in_the_simulators_search_finds_nobody(console):
    response = console.get("/console/simulator/?phone=" + "7" * 5000)
    assert response.status_code == 200 and "No volunteer has that number." in response.get_data(as_text=True)
