"""Fair turns in the outbox (issue 13): every open incident's first call-outs go before any one
incident's later ones, extreme before severe before the rest, confirmations before
stand-downs, and each row is still claimed once by concurrent senders."""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from dispatch import alerting, outbox
from dispatch.extensions import db
from dispatch.models import OutboxMessage

from .factories import incident, volunteer


def queue_callouts(inc, count: int) -> list[int]:
    """`count` call-outs of one incident, queued as a wave queues them (under its lock)."""
    alerting.lock_incident(inc.id)
    rows = [
        outbox.enqueue_to_number(f"+7702{inc.id:03d}{i:04d}", "alert", f"call-out {i}", incident_id=inc.id)
        for i in range(count)
    ]
    db.session.commit()
    return [row.id for row in rows]


def incident_of(ids: list[int]) -> list[int]:
    found = dict(
        db.session.execute(select(OutboxMessage.id, OutboxMessage.incident_id).where(OutboxMessage.id.in_(ids)))
        .tuples()
        .all()
    )
    return [found[i] for i in ids]


def mark_sent(ids: list[int]) -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(status="sent", claimed_until=None))
    db.session.commit()


def test_a_new_incident_goes_next_however_long_the_backlog(app):
    first = incident(code="101")
    queue_callouts(first, 1000)
    mark_sent(outbox.claim_due(150))  # the sender is well into the first incident's wave
    second = incident(code="102")
    new = queue_callouts(second, 20)
    claimed = outbox.claim_due(5)
    assert claimed[0] == new[0]
    # It catches up on the turns the first incident had: its whole wave of 20 goes first.
    assert incident_of(claimed) == [second.id] * 5
    mark_sent(claimed)
    assert incident_of(outbox.claim_due(20))[:15] == [second.id] * 15


def test_incidents_take_turns_in_round_robin(app):
    incidents = [incident(code=str(200 + i)) for i in range(3)]
    for inc in incidents:
        queue_callouts(inc, 10)
    claimed = incident_of(outbox.claim_due(9))
    # Three turns: each incident once per turn, in the order they were opened.
    assert claimed == [inc.id for inc in incidents] * 3


def test_extreme_before_severe_before_the_rest_and_twice_the_turns(app):
    moderate = incident(code="301", severity="moderate")
    severe = incident(code="302", severity="severe")
    extreme = incident(code="303", severity="extreme")
    for inc in (moderate, severe, extreme):
        queue_callouts(inc, 20)
    claimed = incident_of(outbox.claim_due(12))
    # The first turn: extreme, severe, moderate; then extreme takes two turns for severe's one,
    # four for moderate's.
    assert claimed[:3] == [extreme.id, severe.id, moderate.id]
    assert claimed.count(extreme.id) > claimed.count(severe.id) > claimed.count(moderate.id)
    everything = incident_of(outbox.claim_due(100))
    assert everything[-1] == moderate.id


def test_confirmations_go_ahead_of_call_outs_and_stand_downs_after(app):
    inc = incident(code="401")
    person = volunteer()
    queue_callouts(inc, 30)
    stand_down = outbox.enqueue(person, "stand_down", "Not needed, thank you.", incident_id=inc.id)
    confirmation = outbox.enqueue(person, "confirmation", "You are in: go to the gate.", incident_id=inc.id)
    db.session.commit()
    claimed = outbox.claim_due(40)
    assert claimed.index(confirmation.id) <= 1  # with the first call-out, at the front
    assert claimed[-1] == stand_down.id


def test_a_retried_call_out_keeps_its_turn(app):
    inc = incident(code="501")
    ids = queue_callouts(inc, 10)
    claimed = outbox.claim_due(1)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == claimed[0]).values(status="pending"))
    db.session.commit()
    assert outbox.claim_due(1) == [ids[0]]


def test_a_call_out_queued_later_in_one_incident_takes_the_next_turn(app):
    inc = incident(code="601")
    ids = queue_callouts(inc, 5)
    later = queue_callouts(inc, 1)
    ranks = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.fair_rank)).tuples().all())
    assert [ranks[i] for i in ids + later] == sorted(ranks[i] for i in ids + later)
    assert len(set(ranks.values())) == 6


def test_two_concurrent_senders_claim_each_row_once(app, migrated_app):
    for n in range(4):
        queue_callouts(incident(code=str(700 + n)), 75)
    db.session.commit()  # no read transaction of ours holds SQLite's lock while they claim
    claims: list[list[int]] = [[], []]
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def sender(index: int) -> None:
        try:
            with migrated_app.app_context():
                start.wait(5)
                while ids := outbox.claim_due(7):
                    claims[index].extend(ids)
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert not set(claims[0]) & set(claims[1])
    db.session.expire_all()
    everything = set(db.session.scalars(select(OutboxMessage.id)))
    assert sorted(claims[0] + claims[1]) == sorted(everything) and len(everything) == 300
    assert set(db.session.scalars(select(OutboxMessage.status))) == {"claimed"}
