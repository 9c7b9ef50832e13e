"""The outbox through SmsGateGateway and a loopback SMSGate: the row's random key is the message
id, so a retry after a crash, a 5xx or a timeout never sends twice and is never ambiguous."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text, update

from config import TestConfig
from dispatch import create_app, jobs, outbox
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Alert, EarlyStatus, OutboxMessage
from notifications.gateway import SmsRetryable
from notifications.smsgate import is_valid_message_id
from tests.fakes.smsgate_server import FakeSmsGate

from .factories import by_status, report, swimmers, volunteer


def messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def make_due_now() -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending").values(next_attempt_at=utcnow()))
    db.session.commit()


def lease_runs_out() -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status.in_(("claimed", "sending")))
        .values(claimed_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


class SenderDies(BaseException):
    """The process is killed (OOM, deploy, power) the moment the phone has taken the SMS."""


class DiesAfterThePhoneTookIt:
    idempotent = True

    def __init__(self, gateway):
        self.gateway = gateway

    def send(self, to, body, **kwargs):
        self.gateway.send(to, body, **kwargs)
        raise SenderDies()


def test_call_outs_reach_the_phone_with_the_rows_key_as_message_id(client, auth, smsgate):
    people = swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    assert jobs.send_outbox() == 3
    stored = messages()
    assert [m.phone_numbers for m in smsgate.messages] == [[v.phone] for v in people]
    assert [m.id for m in smsgate.messages] == [m.idempotency_key for m in stored]
    assert all(m.status == "sent" and m.provider_id == m.idempotency_key for m in stored)
    assert all(m.ttl == 600 and m.with_delivery_report for m in smsgate.messages)  # ALERT_TIMEOUT_S
    assert set(by_status(stored[0].incident_id, "sent")) == {v.id for v in people}


def test_keys_are_random_unique_and_not_the_row_id(client, auth, smsgate):
    swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    keys = [m.idempotency_key for m in messages()]
    assert len(set(keys)) == 3
    # 144 random bits each: a phone that remembers ids from before a database reset never
    # mistakes a new SMS for an old one (a row number would start again at 1).
    assert all(is_valid_message_id(key) and re.fullmatch(r"[A-Za-z0-9_-]{24}", key) for key in keys)


def test_a_500_after_the_phone_took_it_is_retried_and_sent_once(client, auth, smsgate):
    people = swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    smsgate.fail_next(500, created=True)  # the phone enqueued it, then its answer was an error
    jobs.send_outbox()
    row = messages()[0]
    assert row.status == "pending" and row.ambiguous_attempts == 0 and "500" in row.last_error
    make_due_now()
    jobs.send_outbox()
    row = messages()[0]
    # The retry was refused as a duplicate (409): that is the proof the first one went through.
    assert [r.status for r in smsgate.requests if r.path == "/messages"] == [500, 409]
    assert [m.phone_numbers for m in smsgate.messages] == [[people[0].phone]]
    assert (row.status, row.attempts, row.ambiguous_attempts) == ("sent", 2, 0)
    assert row.provider_id == row.idempotency_key == smsgate.messages[0].id


def test_a_timeout_is_retried_and_sent_once(client, auth, smsgate):
    report_people = swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    smsgate.delay_next(1.5)  # the phone takes it, but answers after our 0.5 s timeout
    jobs.send_outbox()
    row = messages()[0]
    assert row.status == "pending" and row.ambiguous_attempts == 0
    make_due_now()
    jobs.send_outbox()
    row = messages()[0]
    assert len(smsgate.messages) == 1 and smsgate.messages[0].phone_numbers == [report_people[0].phone]
    assert (row.status, row.ambiguous_attempts) == ("sent", 0)


def test_crash_drill_a_sender_killed_after_the_phone_took_it_sends_exactly_once(client, auth, smsgate, app, smsgate_in):
    people = swimmers(1)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    real = app.extensions["sms_gateway"]
    app.extensions["sms_gateway"] = DiesAfterThePhoneTookIt(real)
    with pytest.raises(SenderDies):
        jobs.send_outbox()
    db.session.rollback()
    app.extensions["sms_gateway"] = real  # the next process
    (row,) = messages()
    assert (row.status, row.provider_id, len(smsgate.messages)) == ("sending", None, 1)
    # The phone reports delivery before anyone recorded the send: held, not lost.
    assert smsgate_in(smsgate.delivery_event(row.idempotency_key, "sms:delivered")).status_code == 200
    assert db.session.scalar(select(EarlyStatus.status)) == "delivered"
    assert jobs.send_outbox() == 0  # the dead sender's lease still holds
    lease_runs_out()
    assert jobs.send_outbox() == 1
    (row,) = messages()
    assert len(smsgate.messages) == 1  # exactly one SMS at the phone
    assert (row.status, row.attempts, row.ambiguous_attempts) == ("delivered", 2, 0)
    assert row.provider_id == row.idempotency_key
    assert by_status(incident["id"], "delivered") == [people[0].id]
    assert db.session.scalar(select(EarlyStatus.id)) is None


def test_a_row_found_sending_is_not_ambiguous_with_smsgate(client, auth, smsgate):
    """The same drill at the row level: died mid-call, lease over, re-claimed and resent."""
    swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    outbox.claim_due(10, idempotent=True)
    db.session.execute(update(OutboxMessage).values(status="sending", attempts=1))
    db.session.commit()
    lease_runs_out()
    jobs.send_outbox()
    (row,) = messages()
    assert (row.status, row.ambiguous_attempts, len(smsgate.messages)) == ("sent", 0, 1)


def test_every_attempt_carries_the_same_key_through_any_gateway(client, auth, sms):
    swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    sms.fail_next(SmsRetryable("busy"))
    jobs.send_outbox()
    make_due_now()
    jobs.send_outbox()
    (row,) = messages()
    assert [a.idempotency_key for a in sms.attempts] == [row.idempotency_key] * 2
    assert row.status == "sent" and row.provider_id.startswith("SM")


def test_a_failed_report_fails_the_alert_and_queues_the_next_candidate(client, auth, smsgate, smsgate_in):
    people = swimmers(4)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    jobs.send_outbox()
    first = messages()[0]
    event = smsgate.delivery_event(first.provider_id, "sms:failed")
    assert smsgate_in(event).status_code == 200
    assert by_status(incident["id"], "failed") == [people[0].id]
    assert by_status(incident["id"], "queued") == [people[3].id]
    row = messages()[0]
    assert (row.status, row.provider_status) == ("failed", "failed")
    # The same report again (the phone retries), or a late sms:sent: nothing more happens.
    assert smsgate_in(event).status_code == 200
    assert smsgate_in(smsgate.delivery_event(first.provider_id, "sms:sent")).status_code == 200
    assert len(alerts := db.session.scalars(select(Alert).where(Alert.incident_id == incident["id"])).all()) == 4
    assert sorted(a.status for a in alerts) == ["failed", "queued", "sent", "sent"]
    jobs.send_outbox()
    assert [m.phone_numbers for m in smsgate.messages][-1] == [people[3].phone]


def test_an_app_started_with_sms_backend_smsgate_hears_and_answers_through_the_phone(app):
    """No fixture swaps the gateway here: create_app builds it from the settings."""
    phone = volunteer(1).phone
    db.session.rollback()  # this test's own session lets go of the database (SQLite: its lock)
    with FakeSmsGate() as fake:
        wired = create_app(
            TestConfig.for_database(
                app.config["DATABASE_URL"],
                SMS_BACKEND="smsgate",
                SMSGATE_URL=fake.base_url,
                SMSGATE_USERNAME=fake.username,
                SMSGATE_PASSWORD=fake.password,
                SMSGATE_SIGNING_KEY=fake.signing_key,
            )
        )
        with wired.app_context():
            try:
                event = fake.received_event(phone.lstrip("+"), "HELP")
                response = wired.test_client().post("/sms/smsgate", data=event.body, headers=event.headers)
                assert response.status_code == 200 and response.get_json()["result"] == "handled"
                assert jobs.send_outbox() == 1
                (answer,) = fake.messages
                key = db.session.scalar(select(OutboxMessage.idempotency_key))
                assert answer.phone_numbers == [phone] and answer.id == key
                assert fake.requests[-1].authorized
            finally:
                db.session.remove()
                wired.extensions["sms_gateway"].close()
                db.engine.dispose()


# -- the migration gives existing rows a key ------------------------------------------------------


def test_the_migration_gives_every_existing_row_its_own_key(scratch_database_url):
    scratch = create_app(TestConfig.for_database(scratch_database_url))
    with scratch.app_context():
        upgrade(revision="0006")
        now = utcnow()
        for i in range(3):
            db.session.execute(
                text(
                    "INSERT INTO outbox (to_phone, body, kind, segments, priority, status, attempts, "
                    "ambiguous_attempts, next_attempt_at, created_at, updated_at) VALUES "
                    "(:phone, 'text', 'alert', 1, 0, 'pending', 0, 0, :now, :now, :now)"
                ),
                {"phone": f"+7701000000{i}", "now": now},
            )
        db.session.commit()
        upgrade()
        keys = list(db.session.scalars(text("SELECT idempotency_key FROM outbox ORDER BY id")))
        assert len(keys) == 3 and len(set(keys)) == 3
        assert all(is_valid_message_id(key) for key in keys)
        # New rows get theirs at enqueue; the column refuses none and refuses a repeat.
        message = outbox.enqueue_to_number("+77010000009", "alert", "text")
        db.session.commit()
        assert is_valid_message_id(message.idempotency_key) and message.idempotency_key not in keys
        db.session.remove()
        db.engine.dispose()
