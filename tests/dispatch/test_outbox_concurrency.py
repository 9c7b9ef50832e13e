"""SMS_SEND_CONCURRENCY > 1: several sends in flight, still each SMS exactly once, still paced."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dispatch import jobs, outbox
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Alert, OutboxMessage

from .factories import report, swimmers


@pytest.fixture
def in_flight(app):
    """Four sends at a time, as in production (the test default is one), in claims of 50."""
    saved = {name: app.config[name] for name in ("SMS_SEND_CONCURRENCY", "SMS_MAX_PER_SECOND")}
    app.config.update(SMS_SEND_CONCURRENCY=4, SMS_MAX_PER_SECOND=100)
    yield 4
    app.config.update(saved)


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def broadcast_to(people) -> None:
    for person in people:
        outbox.enqueue(person, "broadcast", "Sandbags at the north gate at 18:00.")
    db.session.commit()


def test_sends_overlap_up_to_the_setting_and_each_goes_once(twilio, in_flight):
    people = swimmers(12)
    broadcast_to(people)
    twilio.delay_next(0.2, times=12)  # slow answers, so sends that can overlap do
    assert jobs.send_outbox() == 12
    assert sorted(m["to"] for m in twilio.messages) == sorted(p.phone for p in people)
    assert 2 <= twilio.max_in_flight <= in_flight
    stored = rows()
    assert all(m.status == "sent" and m.attempts == 1 and m.ambiguous_attempts == 0 for m in stored)
    assert {m.provider_id for m in stored} == {m["sid"] for m in twilio.messages}


def test_one_at_a_time_when_set_to_one(twilio, app):
    assert app.config["SMS_SEND_CONCURRENCY"] == 1
    broadcast_to(swimmers(6))
    twilio.delay_next(0.05, times=6)
    assert jobs.send_outbox() == 6
    assert twilio.max_in_flight == 1


def test_alerts_sent_concurrently_start_their_reply_clocks(client, auth, twilio, in_flight):
    swimmers(20)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 4}])
    queued = incident["alerts"]["queued"]
    assert jobs.send_outbox() == queued
    db.session.expire_all()
    alerts = db.session.scalars(select(Alert).where(Alert.incident_id == incident["id"])).all()
    assert len(alerts) == queued == len(twilio.messages) == len({m["to"] for m in twilio.messages})
    assert all(a.status == "sent" and a.expires_at is not None for a in alerts)


def test_a_crashing_send_leaves_the_others_sent_and_is_recovered_once(twilio, in_flight, app):
    people = swimmers(8)
    broadcast_to(people)
    victim = people[3].phone
    real = app.extensions["sms_gateway"]

    class Crashing:
        """A bug or a dying thread in the middle of one HTTP call."""

        def send(self, to, body, **kwargs):
            if to == victim:
                raise RuntimeError("sender thread died mid-call")
            return real.send(to, body, **kwargs)

    app.extensions["sms_gateway"] = Crashing()
    with pytest.raises(RuntimeError):
        jobs.send_outbox()
    app.extensions["sms_gateway"] = real
    assert sorted(m["to"] for m in twilio.messages) == sorted(p.phone for p in people if p.phone != victim)
    stuck = [m for m in rows() if m.status != "sent"]
    assert [(m.to_phone, m.status) for m in stuck] == [(victim, "sending")]
    # Nothing more goes out while its lease holds; after it, exactly once, flagged as maybe doubled.
    assert jobs.send_outbox() == 0
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == stuck[0].id)
        .values(claimed_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert jobs.send_outbox() == 1
    assert [m["to"] for m in twilio.messages].count(victim) == 1
    (recovered,) = [m for m in rows() if m.to_phone == victim]
    assert recovered.status == "sent" and recovered.ambiguous_attempts == 1


def test_concurrent_callers_get_distinct_paced_slots():
    slept: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    pacer = outbox.Pacer(4, clock=lambda: 0.0, sleep=sleep)  # the clock stands still: slots only
    threads = [threading.Thread(target=pacer.wait, args=(1,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Eight one-segment sends at 4 a second: one now, the others 0.25 s apart, none sharing a slot.
    assert sorted(slept) == pytest.approx([0.25 * i for i in range(1, 8)])
