"""POST /incidents stays short whatever the incident's size (issue 13): the request queues at
most alerting.WAVE_BATCH alerts, the scheduler's dispatch tick builds the rest in batches."""

from __future__ import annotations

from collections import Counter

import pytest

from dispatch import alerting, jobs
from dispatch.extensions import db
from dispatch.models import Alert, Incident, OutboxMessage

from .factories import alerts_of, count, report, swimmers, volunteer


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
