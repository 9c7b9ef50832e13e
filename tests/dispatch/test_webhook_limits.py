"""The webhooks' two rate limits: forged requests per client address, texts per sending number."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from dispatch import dashboard
from dispatch.extensions import db
from dispatch.inbox import MAX_TEXTS_PER_NUMBER, TEXT_WINDOW
from dispatch.models import Alert, AuditEvent, InboundMessage, Need, OutboxMessage, Volunteer
from dispatch.webhooks import FORGED_EVENT, FORGED_WINDOW, MAX_FORGED_PER_ADDRESS
from notifications.gateway import mask_phone

from .factories import alerts_of, by_status, count, report, swimmers, volunteer

# The test client's address: text_in and status_in (validly signed) come from it too.
ADDRESS = "127.0.0.1"
OTHER_ADDRESS = "198.51.100.7"


def forged(client, path: str = "/sms/inbound", address: str = ADDRESS, signature: str | None = "forged"):
    params = {"MessageSid": "SMforged", "From": "+77010000001", "Body": "STOP", "MessageStatus": "failed"}
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, data=params, headers=headers, environ_base={"REMOTE_ADDR": address})


def forged_failures(address: str = ADDRESS) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.actor == f"address:{address}", AuditEvent.event == FORGED_EVENT)
    )


def assert_forbidden(response) -> None:
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "FORBIDDEN" and "X-Twilio-Signature" in error["message"]


def limit_address(client) -> None:
    for i in range(MAX_FORGED_PER_ADDRESS):
        assert_forbidden(forged(client, "/sms/status" if i % 2 else "/sms/inbound"))
    assert forged_failures() == MAX_FORGED_PER_ADDRESS
    # Each failure is recorded with the path it tried.
    paths = sorted(
        e.details["path"] for e in db.session.scalars(select(AuditEvent).where(AuditEvent.event == FORGED_EVENT))
    )
    half = MAX_FORGED_PER_ADDRESS // 2
    assert paths == sorted(half * ["/sms/inbound"] + half * ["/sms/status"])


def assert_rate_limited(response, window: timedelta) -> None:
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "RATE_LIMITED" and error["message"] and error["details"] == {}
    assert response.headers["Retry-After"] == str(int(window.total_seconds()))


def age(model, column: str, by: timedelta) -> None:
    """Moves every row of `model` back in time (portable: SQLite has no interval arithmetic)."""
    for row in db.session.scalars(select(model)):
        setattr(row, column, getattr(row, column) - by)
    db.session.commit()


def flood(text_in, phone: str, n: int = MAX_TEXTS_PER_NUMBER) -> None:
    for i in range(n):
        assert text_in(phone, f"auto-reply {i}").status_code == 200


# -- forged requests, per client address ---------------------------------------------------------


def test_the_21st_forged_request_from_an_address_is_429_and_writes_nothing(client):
    limit_address(client)
    for path in ("/sms/inbound", "/sms/status"):
        assert_rate_limited(forged(client, path), FORGED_WINDOW)
        assert_rate_limited(forged(client, path, signature=None), FORGED_WINDOW)
    assert count(AuditEvent) == MAX_FORGED_PER_ADDRESS
    assert count(InboundMessage) == 0 and count(OutboxMessage) == 0


def test_another_address_is_not_limited_by_the_first(client):
    limit_address(client)
    assert_forbidden(forged(client, address=OTHER_ADDRESS))
    assert forged_failures(OTHER_ADDRESS) == 1
    assert forged_failures() == MAX_FORGED_PER_ADDRESS
    assert count(InboundMessage) == 0 and count(OutboxMessage) == 0


def test_a_signed_request_from_a_limited_address_still_goes_through(client, auth, text_in, status_in, run_outbox):
    people = swimmers(3)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    first = run_outbox()[0]
    limit_address(client)
    assert status_in(first.provider_id, "delivered").status_code == 200
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.provider_id == first.provider_id)).one()
    assert db.session.get(Alert, message.alert_id).status == "delivered"
    assert text_in(people[0].phone, f"YES {incident['code']}").status_code == 200
    assert by_status(incident["id"], "accepted") == [people[0].id]
    # Signed requests are not failures, and do not lift the limit on forged ones.
    assert forged_failures() == MAX_FORGED_PER_ADDRESS
    assert forged(client).status_code == 429


def test_the_forged_request_limit_lifts_once_the_window_has_passed(client):
    limit_address(client)
    age(AuditEvent, "at", FORGED_WINDOW - timedelta(minutes=1))
    assert forged(client).status_code == 429
    assert forged_failures() == MAX_FORGED_PER_ADDRESS  # the refused one was not recorded
    age(AuditEvent, "at", timedelta(minutes=1, seconds=1))
    assert_forbidden(forged(client))  # and counted again, from one
    assert forged_failures() == MAX_FORGED_PER_ADDRESS + 1
    assert count(InboundMessage) == 0 and count(OutboxMessage) == 0


# -- valid texts, per sending number -------------------------------------------------------------


def test_over_twenty_texts_in_ten_minutes_a_text_is_stored_but_not_acted_on(client, auth, text_in, run_outbox, caplog):
    people = swimmers(3)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    run_outbox()
    person = people[0]
    flood(text_in, person.phone)
    assert set(db.session.scalars(select(InboundMessage.outcome))) == {"not_understood"}  # all acted on
    run_outbox()
    alerts_before = [(a.id, a.status) for a in alerts_of(incident["id"])]
    outbox_before, audit_before = count(OutboxMessage), count(AuditEvent)

    with caplog.at_level(logging.INFO):
        assert_rate_limited(text_in(person.phone, f"YES {incident['code']}"), TEXT_WINDOW)
        assert_rate_limited(text_in(person.phone, "AVAILABLE"), TEXT_WINDOW)

    stored = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc()).limit(2)).all()
    assert [(m.body, m.outcome, m.volunteer_id, m.intent, m.incident_id) for m in stored] == [
        ("AVAILABLE", "rate_limited", person.id, None, None),
        (f"YES {incident['code']}", "rate_limited", person.id, None, None),
    ]
    assert count(InboundMessage) == MAX_TEXTS_PER_NUMBER + 2
    # Nothing acted on: no acceptance, no fill, no SMS queued, no audit event.
    assert [(a.id, a.status) for a in alerts_of(incident["id"])] == alerts_before
    assert db.session.scalar(select(func.sum(Need.filled)).where(Need.incident_id == incident["id"])) == 0
    assert count(OutboxMessage) == outbox_before and count(AuditEvent) == audit_before
    assert run_outbox() == []
    # Coordinators see the burst in the inbox once (its first text), not once a text; the log
    # names the number only masked.
    attention = [m["body"] for m in dashboard.needs_attention()]
    assert f"YES {incident['code']}" in attention and "AVAILABLE" not in attention
    assert mask_phone(person.phone) in caplog.text and person.phone not in caplog.text


def test_stop_is_honoured_over_the_limit(client, auth, text_in, run_outbox):
    person = volunteer(1)
    flood(text_in, person.phone)
    assert text_in(person.phone, "STOP").status_code == 200
    assert db.session.get(Volunteer, person.id).status == "opted_out"
    inbound = db.session.scalars(select(InboundMessage).where(InboundMessage.body == "STOP")).one()
    assert inbound.outcome != "rate_limited"


def test_another_number_is_not_affected(client, auth, text_in, run_outbox):
    people = swimmers(3)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    run_outbox()
    flood(text_in, people[0].phone)
    assert_rate_limited(text_in(people[0].phone, f"YES {incident['code']}"), TEXT_WINDOW)
    answer = text_in(people[1].phone, f"YES {incident['code']}")
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    assert by_status(incident["id"], "accepted") == [people[1].id]
    outcomes = {
        m.volunteer_id: m.outcome
        for m in db.session.scalars(select(InboundMessage).where(InboundMessage.body == f"YES {incident['code']}"))
    }
    assert outcomes == {people[0].id: "rate_limited", people[1].id: "accepted"}


def test_a_duplicate_message_sid_over_the_limit_is_answered_as_a_duplicate(text_in, run_outbox):
    person = volunteer(1)
    for i in range(MAX_TEXTS_PER_NUMBER):
        assert text_in(person.phone, "HELP", sid=f"SMaa{i:030x}").status_code == 200
    assert text_in(person.phone, "HELP", sid="SMbb" + "0" * 30).status_code == 429
    run_outbox()
    # A re-delivery, of a text handled before the limit or of the one over it: 200, once only.
    assert text_in(person.phone, "HELP", sid=f"SMaa{0:030x}").status_code == 200
    assert text_in(person.phone, "HELP", sid="SMbb" + "0" * 30).status_code == 200
    assert count(InboundMessage) == MAX_TEXTS_PER_NUMBER + 1
    over = db.session.scalars(select(InboundMessage).where(InboundMessage.message_sid == "SMbb" + "0" * 30)).one()
    assert over.outcome == "rate_limited"
    assert run_outbox() == []
    # Re-deliveries add no row, so they do not count towards the limit either.
    assert text_in(person.phone, "HELP", sid="SMbb" + "0" * 30).status_code == 200
    assert count(InboundMessage) == MAX_TEXTS_PER_NUMBER + 1


def test_the_text_limit_lifts_as_texts_leave_the_window(text_in):
    person = volunteer(1, available=False)
    flood(text_in, person.phone)
    assert_rate_limited(text_in(person.phone, "AVAILABLE"), TEXT_WINDOW)
    age(InboundMessage, "received_at", TEXT_WINDOW - timedelta(minutes=1))
    assert_rate_limited(text_in(person.phone, "AVAILABLE"), TEXT_WINDOW)
    assert db.session.get(Volunteer, person.id).available is False
    age(InboundMessage, "received_at", timedelta(minutes=1, seconds=1))
    assert text_in(person.phone, "AVAILABLE").status_code == 200
    assert db.session.get(Volunteer, person.id).available is True
    outcomes = list(
        db.session.scalars(
            select(InboundMessage.outcome).where(InboundMessage.body == "AVAILABLE").order_by(InboundMessage.id)
        )
    )
    assert outcomes[:2] == ["rate_limited", "rate_limited"] and outcomes[2] != "rate_limited"


def test_status_callbacks_are_not_limited_per_number(client, auth, run_outbox, status_in):
    swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    first = run_outbox()[0]
    for _ in range(MAX_TEXTS_PER_NUMBER + 5):
        assert status_in(first.provider_id, "sent").status_code == 200
    assert status_in(first.provider_id, "delivered").status_code == 200
    # The last callback was applied: the SMS and its alert are delivered; no text was stored
    # and no forged request recorded.
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.provider_id == first.provider_id)).one()
    assert message.status == "delivered" and db.session.get(Alert, message.alert_id).status == "delivered"
    assert count(InboundMessage) == 0 and forged_failures() == 0
