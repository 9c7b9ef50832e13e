"""The outbox through the real twilio library and a loopback Twilio: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from config import TestConfig
from dispatch import create_app, jobs, outbox
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import OutboxMessage, Volunteer
from notifications.gateway import TwilioGateway
from tests.fakes.twilio_server import FakeTwilio, closed_port_url

from .factories import report, swimmers


def messages() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def make_due_now() -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending").values(next_attempt_at=utcnow()))
    db.session.commit()


def sent_to(fake: FakeTwilio) -> list[str]:
    return [m["to"] for m in fake.messages]


def test_alerts_reach_twilio_with_callback_and_validity(client, auth, twilio, app):
    people = swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    assert jobs.send_outbox() == 3
    assert sent_to(twilio) == [v.phone for v in people]
    request = twilio.requests[0]
    assert request.field("StatusCallback") == app.config["PUBLIC_BASE_URL"] + "/sms/status"
    assert request.field("ValidityPeriod") == "600"
    stored = messages()
    assert all(m.status == "sent" and m.provider_id.startswith("SM") for m in stored)
    assert {m.provider_id for m in stored} == {m["sid"] for m in twilio.messages}


def test_429_backs_off_and_sends_once_later(client, auth, twilio):
    swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    twilio.fail_next(429, code=20429)
    jobs.send_outbox()
    message = messages()[0]
    assert message.status == "pending" and message.next_attempt_at > utcnow()
    assert message.ambiguous_attempts == 0 and twilio.messages == []
    jobs.send_outbox()
    assert twilio.messages == []  # not due yet: nothing is hammered
    make_due_now()
    jobs.send_outbox()
    db.session.expire_all()
    assert len(twilio.messages) == 1 and messages()[0].status == "sent" and messages()[0].attempts == 2


def test_500_and_timeouts_are_retried_and_counted_as_possible_duplicates(client, auth, twilio):
    swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    twilio.fail_next(500)
    jobs.send_outbox()
    make_due_now()
    twilio.delay_next(1.5)  # Twilio creates the message but answers after our 0.5 s timeout
    jobs.send_outbox()
    db.session.expire_all()
    assert messages()[0].ambiguous_attempts == 2 and messages()[0].status == "pending"
    make_due_now()
    jobs.send_outbox()
    db.session.expire_all()
    message = messages()[0]
    assert message.status == "sent" and message.attempts == 3
    # One possible duplicate really happened (the slow answer), and it is visible.
    assert len(twilio.messages) == 2 and message.ambiguous_attempts == 2


def test_a_provider_outage_loses_nothing(client, auth, twilio):
    people = swimmers(4)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    twilio.down()
    jobs.send_outbox()
    assert {m.status for m in messages()} == {"pending"}
    twilio.up()
    make_due_now()
    jobs.send_outbox()
    assert sorted(sent_to(twilio)) == sorted(v.phone for v in people[:3])


def test_connection_refused_is_retried(client, auth, app):
    swimmers(1)
    saved = app.extensions["sms_gateway"]
    app.extensions["sms_gateway"] = TwilioGateway(
        "AC" + "a" * 32, "token", from_number="+15005550006", api_base_url=closed_port_url(), timeout_s=0.5
    )
    try:
        report(client, auth, [{"skill": "water_rescue", "count": 1}])
        jobs.send_outbox()
    finally:
        app.extensions["sms_gateway"] = saved
    message = messages()[0]
    assert message.status == "pending" and message.ambiguous_attempts == 0 and "could not connect" in message.last_error


def test_a_crash_between_claim_and_send_loses_nothing(client, auth, twilio):
    people = swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    claimed = outbox.claim_due(10)  # ... and the process dies here
    assert claimed and messages()[0].status == "claimed"
    jobs.send_outbox()
    assert twilio.messages == []  # the lease still holds
    db.session.execute(update(OutboxMessage).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    jobs.send_outbox()
    db.session.expire_all()
    assert sent_to(twilio) == [people[0].phone]
    # Nothing had gone out before the crash, and the row says so.
    assert messages()[0].status == "sent" and messages()[0].ambiguous_attempts == 0


def test_a_crash_during_the_http_call_is_counted_as_a_possible_duplicate(client, auth, twilio):
    people = swimmers(1)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    outbox.claim_due(10)
    db.session.execute(
        update(OutboxMessage).values(status="sending", claimed_until=utcnow() - timedelta(seconds=1))
    )  # died mid-call, lease over
    db.session.commit()
    jobs.send_outbox()
    db.session.expire_all()
    assert sent_to(twilio) == [people[0].phone]
    assert messages()[0].status == "sent" and messages()[0].ambiguous_attempts == 1


def test_call_outs_go_before_acknowledgements(client, auth, twilio, text_in):
    people = swimmers(6)
    first = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    jobs.send_outbox()
    text_in(people[1].phone, "HELP")  # an acknowledgement, queued first
    second = report(client, auth, [{"skill": None, "count": 1}], title="Second call-out")
    twilio.reset()
    jobs.send_outbox()
    kinds = [
        db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.provider_id == m["sid"])).one()
        for m in twilio.messages
    ]
    assert kinds[0] == "alert" and kinds[-1] == "help", kinds
    assert first["id"] != second["id"]


def test_21610_opts_out_and_is_not_retried(client, auth, twilio):
    people = swimmers(4)
    twilio.opt_out(people[0].phone)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    jobs.send_outbox()
    db.session.expire_all()
    assert db.session.get(Volunteer, people[0].id).status == "opted_out"
    first = messages()[0]
    assert first.status == "failed" and "unsubscribed" in first.last_error
    make_due_now()
    jobs.send_outbox()
    assert people[0].phone not in sent_to(twilio)
    assert people[3].phone in sent_to(twilio)  # the failed alert was replaced


def test_a_restarted_service_sends_what_was_queued(client, auth, twilio, migrated_app):
    phones = sorted(v.phone for v in swimmers(3))
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    db.session.remove()  # this "process" is gone
    # A new process on the same database, as after a restart.
    fresh = create_app(TestConfig.for_database(migrated_app.config["DATABASE_URL"]))
    fresh.extensions["sms_gateway"] = TwilioGateway(
        twilio.account_sid, twilio.auth_token, from_number="+15005550006", api_base_url=twilio.base_url
    )
    with fresh.app_context():
        try:
            assert jobs.send_outbox() == 3
        finally:
            db.session.remove()
            db.engine.dispose()  # the "process" ends: its pooled connections close with it
    assert sorted(sent_to(twilio)) == phones


def test_two_senders_at_once_send_each_sms_exactly_once(client, auth, twilio, migrated_app):
    swimmers(30)
    report(client, auth, [{"skill": "water_rescue", "count": 10}])
    jobs.top_up_waves()  # the request queued a batch; the wave of 29 is built outside it
    db.session.remove()
    app = migrated_app
    errors = []

    def sender():
        try:
            with app.app_context():
                jobs.send_outbox()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(twilio.messages) == 29 == len(set(sent_to(twilio)))


def test_pacing_holds_the_segment_rate():
    clock = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    pacer = outbox.Pacer(5, clock=lambda: clock[0], sleep=sleep)
    for _ in range(10):
        pacer.wait(1)
    pacer.wait(2)
    # 12 segments at 5 a second: the last one may start 2.0 s after the first.
    assert clock[0] == pytest.approx(2.0)
    assert sum(slept) == pytest.approx(2.0)
