"""The sender writes a batch's outcomes together (dispatch/sender.py): few commits, none lost,
failures in order, and a stand-down that races the call-out reaches the volunteer once."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from dispatch import jobs, outbox, sender
from dispatch.extensions import db
from dispatch.models import Alert, OutboxMessage, Volunteer

from .factories import report, swimmers


@pytest.fixture
def four_at_once(app):
    saved = {name: app.config[name] for name in ("SMS_SEND_CONCURRENCY", "SMS_MAX_PER_SECOND")}
    app.config.update(SMS_SEND_CONCURRENCY=4, SMS_MAX_PER_SECOND=100)
    yield
    app.config.update(saved)


@pytest.fixture
def commits():
    counted = []

    def count(session):
        counted.append(session)

    event.listen(Session, "after_commit", count)
    yield counted
    event.remove(Session, "after_commit", count)


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def broadcast_to(people, body="Sandbags at the north gate at 18:00.") -> None:
    for person in people:
        outbox.enqueue(person, "broadcast", body)
    db.session.commit()


def test_a_batch_of_sms_is_written_in_a_few_commits_not_two_each(twilio, four_at_once, commits):
    people = swimmers(48)
    broadcast_to(people)
    commits.clear()
    assert jobs.send_outbox() == 48
    stored = rows()
    assert all(m.status == "sent" and m.attempts == 1 and m.sent_at is not None for m in stored)
    assert {m.provider_id for m in stored} == {m["sid"] for m in twilio.messages}
    assert sorted(m["to"] for m in twilio.messages) == sorted(p.phone for p in people)
    # Per batch of 48: the claim, the marking, a write per RECORD_EVERY sent (a few more when the
    # calls pause): far from the 96 commits of one before and one after every SMS.
    assert len(commits) <= 2 + 48 // sender.RECORD_EVERY + 6


def test_a_failure_mid_batch_is_written_in_its_place_and_the_rest_go(twilio, app, commits):
    people = swimmers(10)
    broadcast_to(people)
    gone, retried = people[3], people[6]
    twilio.opt_out(gone.phone)  # 21610: never again
    retried_phone = retried.phone  # the calls run in threads of their own, without the session

    real = app.extensions["sms_gateway"]

    class OneTimeout:
        def send(self, to, body, **kwargs):
            if to == retried_phone and not getattr(self, "failed", False):
                self.failed = True
                twilio.delay_next(2.0)  # longer than the gateway's 0.5 s timeout: ambiguous
            return real.send(to, body, **kwargs)

    app.extensions["sms_gateway"] = OneTimeout()
    try:
        jobs.send_outbox()
    finally:
        app.extensions["sms_gateway"] = real
    by_phone = {m.to_phone: m for m in rows()}
    assert by_phone[gone.phone].status == "failed"
    assert db.session.get(Volunteer, gone.id).status == "opted_out"
    assert by_phone[retried.phone].status == "pending" and by_phone[retried.phone].ambiguous_attempts == 1
    others = [p.phone for p in people if p not in (gone, retried)]
    assert all(by_phone[phone].status == "sent" for phone in others)
    # The fake created the timed-out one too (an ambiguous attempt is exactly that).
    assert Counter(m["to"] for m in twilio.messages) == Counter([*others, retried.phone])


def test_a_stand_down_while_the_call_out_is_being_sent_reaches_them_once(client, auth, twilio, app):
    swimmers(6)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}])
    assert incident["alerts"]["queued"] >= 3
    real = app.extensions["sms_gateway"]

    class CloseDuringFirstSend:
        closed = False

        def send(self, to, body, **kwargs):
            if not self.closed:
                self.closed = True
                # The coordinator closes the incident while the batch is in the sender's hands.
                with app.test_client() as other:
                    response = other.post(f"/api/v1/incidents/{incident['id']}/close", headers=auth("coordinator"))
                    assert response.status_code == 200, response.get_json()
            return real.send(to, body, **kwargs)

    app.extensions["sms_gateway"] = CloseDuringFirstSend()
    try:
        jobs.send_outbox()
    finally:
        app.extensions["sms_gateway"] = real
    jobs.send_outbox()  # the closing messages
    db.session.expire_all()
    alerted = db.session.scalars(select(Alert.volunteer_id).where(Alert.incident_id == incident["id"])).all()
    went = Counter((m.volunteer_id, m.kind) for m in rows() if m.status == "sent")
    reached = [v for v in alerted if went[(v, "alert")]]
    assert reached and all(went[(v, "alert")] == 1 for v in reached)
    for volunteer_id in alerted:
        # Whose call-out was on its way got it, and exactly one word that it is over; whose was
        # still waiting got neither.
        assert went[(volunteer_id, "closed")] == went[(volunteer_id, "alert")], went
    assert sum(went.values()) == len(twilio.messages) == 2 * len(reached)
