"""The SMS webhooks: signatures, once-only handling, and every word a volunteer can text."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Alert, InboundMessage, OutboxMessage, Volunteer
from notifications.signatures import sign

from .factories import by_status, count, queued, report, signed_post, swimmers, volunteer


def test_a_bad_or_missing_signature_is_403_and_changes_nothing(client, app):
    person = volunteer(1)
    params = {"MessageSid": "SM" + "1" * 32, "From": person.phone, "Body": "STOP"}
    url = app.config["PUBLIC_BASE_URL"] + "/sms/inbound"
    for headers in (
        {},
        {"X-Twilio-Signature": "not-a-signature"},
        {"X-Twilio-Signature": sign(url, {**params, "Body": "START"}, app.config["TWILIO_AUTH_TOKEN"])},
        {"X-Twilio-Signature": sign("http://elsewhere.example/sms/inbound", params, app.config["TWILIO_AUTH_TOKEN"])},
        {"X-Twilio-Signature": sign(url, params, "another-account-token")},
    ):
        response = client.post("/sms/inbound", data=params, headers=headers)
        assert response.status_code == 403
    assert client.post("/sms/status", data={"MessageSid": "SM1", "MessageStatus": "failed"}).status_code == 403
    assert count(InboundMessage) == 0 and count(OutboxMessage) == 0
    assert db.session.get(Volunteer, person.id).status == "active"


def test_the_signature_is_checked_over_the_public_url(client, app):
    """Behind a proxy the app sees another host; Twilio signed PUBLIC_BASE_URL + path."""
    person = volunteer(1)
    params = {"MessageSid": "SM" + "2" * 32, "From": person.phone, "Body": "HELP"}
    good = sign(app.config["PUBLIC_BASE_URL"] + "/sms/inbound", params, app.config["TWILIO_AUTH_TOKEN"])
    response = client.post(
        "/sms/inbound", data=params, headers={"X-Twilio-Signature": good}, base_url="http://10.0.0.7:8000"
    )
    assert response.status_code == 200
    assert response.mimetype == "text/xml" and response.get_data(as_text=True).strip().endswith("<Response />")


def test_the_same_message_sid_twice_is_handled_once(text_in, run_outbox):
    person = volunteer(1)
    assert text_in(person.phone, "HELP", sid="SM" + "d" * 32).status_code == 200
    assert text_in(person.phone, "HELP", sid="SM" + "d" * 32).status_code == 200
    assert count(InboundMessage) == 1
    assert len(run_outbox()) == 1


def test_missing_fields_are_400(client, app):
    assert signed_post(client, app, "/sms/inbound", {"Body": "YES"}).status_code == 400
    assert signed_post(client, app, "/sms/status", {"MessageSid": "SM9"}).status_code == 400
    assert count(InboundMessage) == 0


def test_an_unknown_number_gets_one_polite_answer_a_day(text_in, run_outbox):
    text_in("+77779998877", "YES")
    text_in("+77779998877", "hello?")
    sent = run_outbox()
    assert [m.to for m in sent] == ["+77779998877"]
    assert count(Volunteer) == 0
    assert db.session.scalars(select(InboundMessage.outcome)).all() == ["unknown_number", "unknown_number"]


def test_stop_opts_out_at_once_confirms_and_replaces_pending(client, auth, text_in, run_outbox):
    people = swimmers(5)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    run_outbox()
    text_in(people[0].phone, "стоп")
    assert db.session.get(Volunteer, people[0].id).status == "opted_out"
    assert people[0].id in by_status(incident["id"], "declined")
    assert people[3].id in by_status(incident["id"], "queued")
    sent = run_outbox()
    assert people[0].phone in [m.to for m in sent]  # the confirmation of the opt-out, and nothing after
    text_in(people[0].phone, "YES")
    assert [m.to for m in run_outbox()] == []


def test_an_opt_out_between_queueing_and_sending_stops_the_sms(client, auth, text_in, run_outbox, sms):
    people = swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    person = db.session.get(Volunteer, people[1].id)
    person.status = "opted_out"  # e.g. a STOP handled by another worker a moment ago
    db.session.commit()
    sent = run_outbox()
    assert people[1].phone not in [m.to for m in sent]
    assert [m.status for m in queued(volunteer_id=people[1].id)] == ["cancelled"]


def test_start_resumes(text_in, run_outbox):
    person = volunteer(1, status="opted_out")
    text_in(person.phone, "START")
    assert db.session.get(Volunteer, person.id).status == "active"
    assert len(run_outbox()) == 1


def test_help_is_answered_even_after_stop(text_in, run_outbox):
    person = volunteer(1, status="opted_out")
    text_in(person.phone, "HELP")
    assert [m.to for m in run_outbox()] == [person.phone]


def test_busy_and_available(client, auth, text_in, run_outbox):
    people = swimmers(4)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    text_in(people[0].phone, "BUSY 3")
    busy = db.session.get(Volunteer, people[0].id)
    assert utcnow() + timedelta(hours=2.9) < busy.busy_until < utcnow() + timedelta(hours=3.1)
    assert people[0].id in by_status(incident["id"], "declined")
    text_in(people[0].phone, "AVAILABLE")
    assert db.session.get(Volunteer, people[0].id).busy_until is None
    text_in(people[1].phone, "busy")
    assert db.session.get(Volunteer, people[1].id).available is False


def test_status_callbacks_only_move_forward(client, auth, run_outbox, status_in):
    swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    first = run_outbox()[0]
    for status in ("delivered", "sent", "queued", "failed", "delivered"):
        assert status_in(first.provider_id, status).status_code == 200
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.provider_id == first.provider_id)).one()
    assert (message.status, message.provider_status) == ("delivered", "delivered")
    alert = db.session.get(Alert, message.alert_id)
    assert alert.status == "delivered"
    # An unknown provider id is accepted and ignored (it may be from before a restore).
    assert status_in("SM" + "e" * 32, "delivered").status_code == 200


def test_a_carrier_opt_out_marks_the_volunteer(client, auth, run_outbox, status_in):
    people = swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    first = run_outbox()[0]
    status_in(first.provider_id, "failed", "21610")
    assert db.session.get(Volunteer, people[0].id).status == "opted_out"


def test_a_number_stuck_in_a_loop_is_heard_but_answered_at_most_ten_times_an_hour(text_in, run_outbox):
    from dispatch.inbox import MAX_ANSWERS_PER_HOUR

    person = volunteer(1)
    for i in range(MAX_ANSWERS_PER_HOUR + 5):
        assert text_in(person.phone, f"auto-reply number {i}").status_code == 200
    assert count(InboundMessage) == MAX_ANSWERS_PER_HOUR + 5  # every text is kept for coordinators
    assert len(run_outbox()) == MAX_ANSWERS_PER_HOUR
