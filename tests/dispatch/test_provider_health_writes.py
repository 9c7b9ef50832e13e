"""A provider's successes on the hot path of every send (dispatch/provider_health.py): written at
most once per SUCCESS_WRITE_EVERY_S, at once after a failure, and a send that has nothing to
write costs one statement (bench-outbox: the second one was a tenth of the sender's time)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from dispatch import provider_health
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import ProviderHealth
from notifications.gateway import SmsRetryable


def health(provider: str) -> ProviderHealth | None:
    db.session.expire_all()
    return db.session.get(ProviderHealth, provider)


class Statements:
    """Counts the SQL statements run on the app's engine while in the with-block."""

    def __enter__(self) -> Statements:
        self.seen: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seen.append(statement.split(None, 1)[0].upper())


def test_the_first_success_creates_the_row(app):
    now = utcnow()
    provider_health.record_success("twilio", now)
    db.session.commit()
    row = health("twilio")
    assert row is not None and row.consecutive_failures == 0 and row.last_success_at == now


def test_a_success_within_the_interval_writes_nothing_and_costs_one_read(app):
    first = utcnow()
    provider_health.record_success("smsgate", first)
    db.session.commit()
    soon = first + timedelta(seconds=provider_health.SUCCESS_WRITE_EVERY_S / 2)
    with Statements() as statements:
        provider_health.record_success("smsgate", soon)
        db.session.commit()
    assert [s for s in statements.seen if s not in ("BEGIN", "COMMIT")] == ["SELECT"]
    assert health("smsgate").last_success_at == first


def test_a_success_after_the_interval_moves_the_time_on(app):
    first = utcnow()
    provider_health.record_success("telegram", first)
    db.session.commit()
    later = first + timedelta(seconds=provider_health.SUCCESS_WRITE_EVERY_S * 2)
    provider_health.record_success("telegram", later)
    db.session.commit()
    assert health("telegram").last_success_at == later


def test_a_success_right_after_a_failure_clears_the_count_at_once(app):
    first = utcnow()
    provider_health.record_success("twilio", first)
    provider_health.record_failure("twilio", SmsRetryable("connection refused"), first)
    db.session.commit()
    assert health("twilio").consecutive_failures == 1
    soon = first + timedelta(seconds=provider_health.SUCCESS_WRITE_EVERY_S / 10)
    provider_health.record_success("twilio", soon)
    db.session.commit()
    row = health("twilio")
    assert row.consecutive_failures == 0 and row.last_success_at == soon


def test_a_row_with_no_success_yet_gets_one(app):
    now = utcnow()
    provider_health.record_failure("smsgate", SmsRetryable("connection refused"), now)
    db.session.commit()
    provider_health.record_success("smsgate", now)
    db.session.commit()
    row = health("smsgate")
    assert row.consecutive_failures == 0 and row.last_success_at == now
