"""POST /incidents stays short whatever the incident's size (issue 13): the request queues at
most alerting.WAVE_BATCH alerts, the scheduler's dispatch tick builds the rest in batches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from dispatch import alerting, jobs
from dispatch.extensions import db
from dispatch.models import Alert, Incident, OutboxMessage

from .factories import alerts_of, by_status, count, report, swimmers, volunteer


@pytest.fixture
def batch_of_five(monkeypatch):
    monkeypatch.setattr(alerting, "WAVE_BATCH", 5)
    return 5


def test_the_request_queues_one_batch_and_the_tick_builds_the_rest(client, auth, sms, batch_of_five):
    swimmers(30)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 7}])  # a wave of 20
    assert count(Alert) == count(OutboxMessage) == batch_of_five
    assert incident["status"] == "dispatching"  # not "unfilled": the rest is still to come
    assert jobs.top_up_waves() == 15
    alerts = alerts_of(incident["id"])
    assert len(alerts) == 20 == len({a.volunteer_id for a in alerts})
    # Nearest first still: the 20 nearest of the 30 (swimmer n is n km away).
    assert max(a.distance_km for a in alerts) < 21
    assert count(OutboxMessage) == 20
    assert jobs.top_up_waves() == 0  # full: nothing more


def test_the_batch_is_shared_between_the_needs(client, auth, sms, batch_of_five):
    for i in range(10):
        volunteer(km=i + 1, skills=("first_aid",))
    incident = report(client, auth, [{"skill": "first_aid", "count": 3}, {"skill": None, "count": 3}])
    by_need = Counter(a.need_id for a in alerts_of(incident["id"]))
    assert len(by_need) == 2 and sum(by_need.values()) == 5


def test_a_need_left_for_the_tick_is_not_called_unfilled(client, auth, sms, batch_of_five):
    swimmers(12)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}, {"skill": None, "count": 1}])
    db.session.expire_all()
    stored = db.session.get(Incident, incident["id"])
    assert stored.status == "dispatching" and stored.unfilled_reason is None
    jobs.top_up_waves()
    db.session.expire_all()
    assert db.session.get(Incident, incident["id"]).status == "dispatching"
    assert len(alerts_of(incident["id"])) == 6 + 3


def test_the_default_batch_bounds_a_large_incident(client, auth, sms):
    swimmers(alerting.WAVE_BATCH + 10)
    report(client, auth, [{"skill": "water_rescue", "count": 30}])  # a wave of 86
    assert count(Alert) == alerting.WAVE_BATCH
    jobs.top_up_waves()
    assert count(Alert) == alerting.WAVE_BATCH + 10  # everyone there is to ask


def test_each_incident_takes_turns_in_the_tick(client, auth, sms, batch_of_five):
    swimmers(40)
    first = report(client, auth, [{"skill": "water_rescue", "count": 7}])
    second = report(client, auth, [{"skill": "water_rescue", "count": 7}], title="Second flood")
    assert jobs.top_up_waves() == 30
    assert len(alerts_of(first["id"])) == len(alerts_of(second["id"])) == 20
    everyone = [a.volunteer_id for a in alerts_of(first["id"])]
    assert len(set(everyone)) == 20


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block (executemany counts once: one round trip)."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def near(n: int) -> list:
    """n water rescuers within 9 km of Astana: one search finds them all."""
    return [volunteer(km=i % 9 + 1, bearing=i * 7, skills=("water_rescue",)) for i in range(n)]


# Round trips are PostgreSQL's cost (SQLite writes audit rows one by one whatever we do).
@pytest.mark.postgres
def test_a_reports_statements_do_not_grow_with_its_wave(client, auth, sms):
    near(alerting.WAVE_BATCH + 5)
    with statements() as small:
        report(client, auth, [{"skill": "water_rescue", "count": 2}])  # a wave of 6
    with statements() as large:
        report(client, auth, [{"skill": "water_rescue", "count": 30}], title="Second")  # WAVE_BATCH of 86
    assert count(Alert) == 6 + alerting.WAVE_BATCH
    # A batch is written a table at a time: 6 alerts or 40, about the same round trips.
    assert len(large) <= len(small) + 5, Counter(s[:70] for s in large).most_common(8)


@pytest.mark.postgres
def test_the_accept_that_fills_stands_down_the_wave_in_a_few_statements(client, auth, sms, text_in, run_outbox):
    people = {p.id: p.phone for p in near(30)}

    def fill(incident: dict, places: int) -> list[str]:
        run_outbox()
        alerts = alerts_of(incident["id"])
        for alert in alerts[: places - 1]:
            assert text_in(people[alert.volunteer_id], f"YES {incident['code']}").status_code == 200
        with statements() as seen:
            assert text_in(people[alerts[places - 1].volunteer_id], f"YES {incident['code']}").status_code == 200
        return seen

    few = fill(report(client, auth, [{"skill": "water_rescue", "count": 1}]), 1)  # 2 stood down
    big = report(client, auth, [{"skill": "water_rescue", "count": 7}], title="Big")  # a wave of 20
    jobs.top_up_waves()  # the request queued a batch; the rest of the wave is built outside it
    many = fill(big, 7)
    assert len(by_status(big["id"], "stood_down")) == 13
    # 2 stood down or 13: about the same round trips.
    assert len(many) <= len(few) + 5, Counter(s[:70] for s in many).most_common(8)
