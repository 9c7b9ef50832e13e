"""The SMS simulator: what each phone received, and answering through the inbound code path."""

from __future__ import annotations

import re

from sqlalchemy import select

from config import TestConfig
from dispatch import create_app, jobs
from dispatch.extensions import db
from dispatch.models import Alert, InboundMessage
from tests.dispatch.factories import ASTANA, volunteer

from .conftest import sign_in


def report(client, auth) -> dict:
    response = client.post(
        "/api/v1/incidents",
        headers=auth("coordinator"),
        json={
            "kind": "flood",
            "title": "Flooded yard",
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "needs": [{"skill": "water_rescue", "count": 1}],
        },
    )
    assert response.status_code == 201
    return response.get_json()


def test_a_phone_shows_what_was_sent_to_it_newest_first(console, auth, sms):
    person = volunteer(1, skills=("water_rescue",), name="Simulated Swimmer", language="en")
    incident = report(console, auth)
    assert "Simulated Swimmer" not in console.get("/console/simulator/").get_data(as_text=True)  # not sent yet
    jobs.send_outbox()
    index = console.get("/console/simulator/").get_data(as_text=True)
    assert "Simulated Swimmer" in index
    thread = console.get(f"/console/simulator/{person.id}").get_data(as_text=True)
    assert f"Reply YES {incident['code']}" in thread


def test_answering_as_a_volunteer_takes_the_inbound_path(console, auth, sms):
    person = volunteer(1, skills=("water_rescue",), name="Simulated Swimmer", language="en")
    incident = report(console, auth)
    jobs.send_outbox()
    response = console.post_form(f"/console/simulator/{person.id}/reply", {"body": f"YES {incident['code']} 12"})
    assert response.status_code == 302
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == person.id))
    assert alert.status == "accepted" and alert.eta_min == 12
    inbound = db.session.scalar(select(InboundMessage))
    assert inbound.from_phone == person.phone and re.fullmatch(r"SIM[0-9a-f]{32}", inbound.message_sid)
    jobs.send_outbox()
    bubbles = re.findall(
        r'class="bubble ([a-z-]+)"', console.get(f"/console/simulator/{person.id}").get_data(as_text=True)
    )
    assert bubbles == ["from-service", "from-volunteer", "from-service"]  # confirmation, YES, alert


def test_answering_needs_the_csrf_token(console, sms):
    person = volunteer(1)
    assert console.post(f"/console/simulator/{person.id}/reply", data={"body": "STOP"}).status_code == 400
    assert db.session.scalar(select(InboundMessage)) is None


def test_open_a_phone_by_number(console):
    person = volunteer(1)
    local = "8" + person.phone[2:]
    response = console.get(f"/console/simulator/?phone={local}")
    assert response.headers["Location"] == f"/console/simulator/{person.id}"


def test_the_simulator_does_not_exist_with_a_real_sms_backend(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.rollback()  # SQLite: let the other app's connection in
    twilio = create_app(
        TestConfig.for_database(url, SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID="AC1", TWILIO_FROM_NUMBER="+15005550006")
    )
    with twilio.app_context():
        from dispatch.users import create_user

        create_user("sim@test.local", "coordinator", password="correct horse battery")
        client = twilio.test_client()
        sign_in(client, "sim@test.local")
        assert client.get("/console/simulator/").status_code == 404
        assert "SMS simulator" not in client.get("/console/").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


def test_the_simulator_does_not_exist_in_production_even_with_the_console_backend(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.rollback()  # SQLite: let the other app's connection in
    production = create_app(TestConfig.for_database(url, DISPATCH_ENV="production", SMS_BACKEND="console"))
    with production.app_context():
        from dispatch.users import create_user

        person = volunteer(1, skills=("first_aid",))
        create_user("sim-prod@test.local", "coordinator", password="correct horse battery")
        client = production.test_client()
        assert sign_in(client, "sim-prod@test.local").status_code == 302
        assert client.get("/console/").status_code == 200
        for path in ("/console/simulator/", f"/console/simulator/{person.id}", f"/console/simulator/{person.id}/live"):
            assert client.get(path).status_code == 404, path
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/").get_data(as_text=True))
        reply = client.post(f"/console/simulator/{person.id}/reply", data={"body": "YES", "csrf_token": token.group(1)})
        assert reply.status_code == 404
        assert db.session.scalars(select(InboundMessage)).all() == []
        assert "SMS simulator" not in client.get("/console/").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
