"""A status callback that beats the sender's record of the MessageSid is held, then applied."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from dispatch import jobs
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import EarlyStatus, InboundMessage, OutboxMessage

from .factories import alerts_of, by_status, report, swimmers, volunteer


def held() -> int:
    return db.session.scalar(select(func.count()).select_from(EarlyStatus))


@pytest.fixture
def fast_provider(app, sms, status_in):
    """A provider so quick that its status callback for an SMS reaches us while the send call
    has not yet returned: before the sender could record the MessageSid."""
    reports: dict[str, tuple[str, str | None]] = {}
    answered = []

    class Fast:
        def send(self, to, body, **kwargs):
            result = sms.send(to, body, **kwargs)
            if to in reports:
                answered.append(status_in(result.provider_id, *reports[to]).status_code)
            return result

    app.extensions["sms_gateway"] = Fast()
    yield reports, answered


def test_a_failure_reported_before_the_send_is_recorded_still_replaces_the_alert(client, auth, fast_provider):
    reports, answered = fast_provider
    people = swimmers(8)
    reports[people[0].phone] = ("undelivered", "30003")
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    assert by_status(incident["id"], "queued") == [v.id for v in people[:3]]
    jobs.send_outbox()
    assert answered == [200]
    db.session.expire_all()
    assert by_status(incident["id"], "failed") == [people[0].id]
    # Replaced at once by the next nearest, not after the reply time: the status was not lost.
    assert people[3].id in by_status(incident["id"], "queued") + by_status(incident["id"], "sent")
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_phone == people[0].phone)).one()
    assert (message.status, message.last_error) == ("undelivered", "provider error 30003")
    assert held() == 0


def test_a_delivery_reported_early_is_applied_once(client, auth, fast_provider, status_in):
    reports, _ = fast_provider
    people = swimmers(3)
    reports[people[1].phone] = ("delivered", None)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    jobs.send_outbox()
    db.session.expire_all()
    statuses = {a.volunteer_id: a.status for a in alerts_of(incident["id"])}
    assert statuses == {people[0].id: "sent", people[1].id: "delivered", people[2].id: "sent"}
    # The same callback again (providers repeat themselves) changes nothing and holds nothing.
    provider_id = db.session.scalars(
        select(OutboxMessage.provider_id).where(OutboxMessage.to_phone == people[1].phone)
    ).one()
    assert status_in(provider_id, "delivered").status_code == 200
    assert held() == 0


def test_a_status_for_a_sid_that_never_shows_up_is_forgotten_after_a_day(status_in):
    assert status_in("SMcc" + "0" * 30, "delivered").status_code == 200
    assert status_in("SMcc" + "0" * 29 + "1", "delivered").status_code == 200
    assert held() == 2
    db.session.execute(
        update(EarlyStatus)
        .where(EarlyStatus.provider_id.endswith("0"))
        .values(received_at=utcnow() - timedelta(days=1, seconds=1))
    )
    db.session.commit()
    assert jobs.dispatch_tick()["forgotten_statuses"] == 1
    assert db.session.scalars(select(EarlyStatus.provider_id)).all() == ["SMcc" + "0" * 29 + "1"]


def test_a_sid_longer_than_any_provider_gives_is_a_400_and_changes_nothing(status_in, text_in):
    assert status_in("SM" + "x" * 200, "delivered").status_code == 400
    assert held() == 0
    person = volunteer(1)
    assert text_in(person.phone, "HELP", sid="SM" + "y" * 200).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0
