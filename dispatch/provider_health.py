"""How each provider (twilio, smsgate, console, telegram) is doing: consecutive send failures,
the last success and failure, and the delivery ratio of its recent sends.

The senders record every attempt here in the transaction of its outcome. A provider that failed
FAILURES_TO_SKIP sends in a row is skipped for new call-outs (they go to the volunteer's next
channel at once). It is not probed apart: COOL_DOWN_S after its last failure it is tried again,
and that next real send (a call-out, or any message still queued for it) is the probe: a success
clears the count, a failure starts another cool-down.

Only failures that say the provider is not working count: no connection, a timeout, a 5xx, a
429, a refused account or a wrong URL. A bad number or an opted-out recipient is about that
recipient, and counts neither way.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from notifications.texts import one_line

from .clock import isoformat, utcnow
from .extensions import db
from .models import OutboxMessage, ProviderHealth

FAILURES_TO_SKIP = 5
COOL_DOWN_S = 60
# The delivery ratio is over sends of this recent past.
RATIO_WINDOW_S = 3600
# A success is written at most this often per provider (a mass call-out is not one write per
# SMS on one hot row); a success after failures is always written.
SUCCESS_WRITE_EVERY_S = 1.0
# Permanent errors that are the provider's (every send would fail alike), not the recipient's.
PROVIDER_REASONS = {"auth_failed", "config", "forbidden", "region_not_enabled"}
_NUMBER = re.compile(r"\+?\d{7,15}")


def provider_failure(exc: Exception) -> bool:
    """Whether a send's error says the provider itself is not working."""
    reason = getattr(exc, "reason", None)
    return reason is None or reason in PROVIDER_REASONS


def record_success(provider: str, now: datetime | None = None, written: set[str] | None = None) -> None:
    """`written`: the providers whose success a sender's batch has written already (none of
    its sends failed since): the rest of the batch writes nothing (not two statements an SMS)."""
    if written is not None:
        if provider in written:
            return
        written.add(provider)
    now = now or utcnow()
    stale = now - timedelta(seconds=SUCCESS_WRITE_EVERY_S)
    # Nearly every send finds nothing to write: one read says so (one round trip per SMS, not two).
    found = db.session.execute(
        select(ProviderHealth.consecutive_failures, ProviderHealth.last_success_at).where(
            ProviderHealth.provider == provider
        )
    ).first()
    if found is not None and found.consecutive_failures == 0 and found.last_success_at is not None:
        if found.last_success_at >= stale:
            return
    done = db.session.execute(
        update(ProviderHealth)
        .where(
            ProviderHealth.provider == provider,
            (ProviderHealth.consecutive_failures > 0)
            | ProviderHealth.last_success_at.is_(None)
            | (ProviderHealth.last_success_at < stale),
        )
        .values(consecutive_failures=0, last_success_at=now)
    ).rowcount
    if not done:
        _insert_if_missing(provider, consecutive_failures=0, last_success_at=now)


def record_failure(provider: str, exc: Exception, now: datetime | None = None, written: set[str] | None = None) -> None:
    if written is not None:
        written.discard(provider)
    now = now or utcnow()
    error = _NUMBER.sub("***", one_line(f"{type(exc).__name__}: {exc}"))[:300]
    values = dict(last_failure_at=now, last_error=error)
    bump = (
        update(ProviderHealth)
        .where(ProviderHealth.provider == provider)
        .values(consecutive_failures=ProviderHealth.consecutive_failures + 1, **values)
    )
    if db.session.execute(bump).rowcount:
        return
    if not _insert_if_missing(provider, consecutive_failures=1, **values):
        db.session.execute(bump)  # another sender inserted it meanwhile


def record_attempt(provider: str, exc: Exception | None, written: set[str] | None = None) -> None:
    """The outcome of one send attempt (None: it went); `written` as for record_success."""
    if exc is None:
        record_success(provider, written=written)
    elif provider_failure(exc):
        record_failure(provider, exc, written=written)


def _insert_if_missing(provider: str, **values) -> bool:
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ProviderHealth).values(provider=provider, **values).on_conflict_do_nothing()
    return bool(db.session.execute(statement).rowcount)


def state_of(row: ProviderHealth | None, now: datetime | None = None) -> str:
    """ok, down (skipped for new call-outs) or probing (cooled down: the next send tells)."""
    if row is None or row.consecutive_failures < FAILURES_TO_SKIP:
        return "ok"
    now = now or utcnow()
    if row.last_failure_at is not None and row.last_failure_at > now - timedelta(seconds=COOL_DOWN_S):
        return "down"
    return "probing"


def down_providers(now: datetime | None = None) -> set[str]:
    """Providers to skip for new call-outs now."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(ProviderHealth).where(ProviderHealth.consecutive_failures >= FAILURES_TO_SKIP)
    ).all()
    return {row.provider for row in rows if state_of(row, now) == "down"}


def delivery_counts(now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """provider -> (delivered, reported) over the sends of the last RATIO_WINDOW_S."""
    since = (now or utcnow()) - timedelta(seconds=RATIO_WINDOW_S)
    reported = OutboxMessage.provider_status.in_(("delivered", "undelivered", "failed"))
    rows = db.session.execute(
        select(
            OutboxMessage.provider,
            func.count().filter(OutboxMessage.provider_status == "delivered"),
            func.count().filter(reported),
        )
        .where(OutboxMessage.provider.is_not(None), OutboxMessage.sent_at >= since)
        .group_by(OutboxMessage.provider)
    ).all()
    return {provider: (int(delivered), int(total)) for provider, delivered, total in rows}


def snapshot(configured: dict[str, str], *, with_errors: bool = False, now: datetime | None = None) -> list[dict]:
    """Each provider's health, configured ones first ({role: provider}: sms, sms_fallback,
    telegram), then any other that has a record. `with_errors`: the last error's text too (for
    signed-in coordinators; /healthz is public)."""
    now = now or utcnow()
    rows = {row.provider: row for row in db.session.scalars(select(ProviderHealth)).all()}
    counts = delivery_counts(now)
    roles = {provider: role for role, provider in configured.items()}
    order = list(dict.fromkeys([*configured.values(), *sorted(rows)]))
    result = []
    for provider in order:
        row = rows.get(provider)
        delivered, reported = counts.get(provider, (0, 0))
        item = {
            "provider": provider,
            "role": roles.get(provider),
            "state": state_of(row, now),
            "consecutive_failures": row.consecutive_failures if row else 0,
            "last_success_at": isoformat(row.last_success_at) if row else None,
            "last_failure_at": isoformat(row.last_failure_at) if row else None,
            "delivered": delivered,
            "reported": reported,
            "delivery_ratio": round(delivered / reported, 3) if reported else None,
            "window_s": RATIO_WINDOW_S,
        }
        if with_errors:
            item["last_error"] = row.last_error if row else None
        result.append(item)
    return result
