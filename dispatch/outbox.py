"""Durable outbound SMS: enqueue in the caller's transaction, then claim, pace, send, record.

A row is written in the same transaction as the state change that caused it, so a crash
loses nothing. Sending happens later, outside any request: due rows are claimed atomically
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers), marked `sending` with a
lease, and sent one HTTP call each. A sender that dies mid-send leaves the row `sending`;
when the lease runs out it is claimed again and the attempt is counted as ambiguous (it may
have gone out). Provider outcomes:
  retryable (429, connection refused)   back off with jitter, try again
  ambiguous (5xx, timeout)              back off, try again, count a possible duplicate
  permanent (21211, 21610, other 4xx)   stop; mark the volunteer for coordinators
Every attempt at a row carries the row's random idempotency key. A provider that honours it
(SMSGate: the key is the message id) cannot send the SMS twice, so with it nothing is ambiguous.
Status callbacks only move a message forward: queued < sent < delivered | undelivered | failed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select, text, update

from notifications.gateway import SmsPermanent, mask_phone
from notifications.segments import count_segments
from notifications.texts import one_line

from . import provider_health
from .clock import utcnow
from .extensions import db
from .models import Incident, OutboxMessage, Volunteer, new_idempotency_key

log = logging.getLogger(__name__)
_OUTBOX = OutboxMessage.__table__

# A claim is a lease: after a crash its rows go back to the pool this long after the claim.
# Claims are small (about two seconds of sending at the paced rate), so this stays short.
LEASE_S = 20
# Retries back off 2, 4, 8, 16 s, then every 30 s at most: once a provider outage ends, every
# waiting call-out goes within half a minute. 30 attempts are about 13 minutes of trying,
# about an alert's reply time (ALERT_TIMEOUT_S): then the alert fails and is replaced.
MAX_ATTEMPTS = 30
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 30.0
# Kinds that may still go to a number that has opted out: the confirmation of it, and HELP
# (carriers require HELP to be answered whatever the opt-out state).
_SENT_EVEN_IF_OPTED_OUT = {"opted_out", "help"}
# Provider statuses in the order they can follow each other; the last three are final.
_PROVIDER_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}
# Who waits when the provider is the bottleneck: a call-out or a confirmation never queues
# behind stand-downs and acknowledgements.
# A changed place goes with the confirmations (people may be on their way); a standby notice
# (be ready, no answer) waits behind everything about an emergency under way.
PRIORITY = {
    "alert": 0,
    "confirmation": 0,
    "place_changed": 0,
    "stand_down": 1,
    "closed": 1,
    "cancelled": 1,
    "broadcast": 1,
    "standby": 1,
    "standby_notice": 2,
}
# Fair turns between incidents (fair_rank): within one priority, due rows go in fair_rank order.
# A call-out's fair_rank is its turn in its incident's queue: the incident's first queued
# call-out takes the first turn, each next one a turn of _FAIR_STEP[severity] later. So every
# open incident's first call-out goes before any incident's second, and a new incident's first
# call-out never waits behind an older incident's backlog. Weighted by severity: an extreme
# incident takes two turns for a severe one's one and four for a moderate or minor one's, and
# at the same turn extreme goes before severe before the rest (the offset within a turn). Other
# kinds keep fair_rank 0: a confirmation never waits behind call-outs.
_FAIR_STEP = {"extreme": 1, "severe": 2}  # others 4
_FAIR_OFFSET = {"extreme": 0, "severe": 1}  # others 2
_FAIR_TURN = 3  # ranks per turn: room for the three offsets
_QUEUED = ("pending", "claimed", "sending")
# PostgreSQL advisory lock keys: one sender per provider at a time keeps each provider's pacing
# global. Keyed by provider, not by route, so whichever setting names a provider, its pace holds.
_SENDER_LOCK_KEY = 0x5D15_0B0C
# The Telegram sender's own (it paces another provider, so it never waits for the SMS one).
TELEGRAM_SENDER_LOCK_KEY = 0x5D15_0B0D
SENDER_LOCK_KEYS = {"twilio": _SENDER_LOCK_KEY, "console": 0x5D15_0B0E, "smsgate": 0x5D15_0B0F}


def sender_lock_key(provider: str, index: int = 0) -> int:
    """The advisory lock of the SMS sender for this provider: its `index`th sender (a second
    Twilio number, a second SMSGate phone) has a lock, and so a pace, of its own."""
    return SENDER_LOCK_KEYS.get(provider, _SENDER_LOCK_KEY) + (index << 16)


def failover_deadline(kind: str):
    """When a call-out with no delivery report goes on the next channel (None for other kinds)."""
    if kind != "alert":
        return None
    return utcnow() + timedelta(seconds=current_app.config["FAILOVER_AFTER_S"])


def enqueue(
    volunteer: Volunteer,
    kind: str,
    body: str,
    *,
    incident_id: int | None = None,
    alert_id: int | None = None,
    channel: str | None = None,
) -> OutboxMessage | None:
    """Queue a message to a volunteer in the current transaction, on `channel` ("sms" or
    "telegram"; None: their preferred channel). Telegram falls back to SMS where the volunteer
    cannot be reached there. None when the volunteer must not be messaged at all."""
    if (channel or volunteer.preferred_channel) == "telegram" and telegram_reachable(volunteer, kind):
        return enqueue_to_chat(
            volunteer.telegram_chat_id,
            kind,
            body,
            volunteer_id=volunteer.id,
            incident_id=incident_id,
            alert_id=alert_id,
        )
    if volunteer.phone is None or volunteer.phone_problem is not None:
        return None
    if volunteer.status == "opted_out" and kind not in _SENT_EVEN_IF_OPTED_OUT:
        return None
    return enqueue_to_number(
        volunteer.phone, kind, body, volunteer_id=volunteer.id, incident_id=incident_id, alert_id=alert_id
    )


def enqueue_to_number(
    phone: str,
    kind: str,
    body: str,
    *,
    volunteer_id: int | None = None,
    incident_id: int | None = None,
    alert_id: int | None = None,
    route: str | None = None,
) -> OutboxMessage:
    """Queue an SMS to a number (a volunteer's, or a stranger's for the polite answer), through
    SMS_BACKEND (route None) or SMS_FALLBACK_BACKEND (route "fallback")."""
    if route is None and kind != "alert":  # a call-out's route is chosen by channels.py
        route = _route_while_main_is_down()
    return _queue(
        kind,
        body,
        volunteer_id,
        incident_id,
        alert_id,
        to_phone=phone,
        segments=count_segments(body).segments,
        route=route,
    )


def _route_while_main_is_down() -> str | None:
    """A new SMS goes through SMS_FALLBACK_BACKEND while SMS_BACKEND's provider is skipped for
    failing (provider_health.py): confirmations and stand-downs need not wait for it to return."""
    extensions = current_app.extensions
    if "sms_fallback_gateway" not in extensions:
        return None
    return "fallback" if provider_name(extensions["sms_gateway"]) in provider_health.down_providers() else None


def telegram_reachable(volunteer: Volunteer, kind: str = "alert") -> bool:
    """A linked chat that has not opted out, and Telegram turned on (dispatch/telegram.py)."""
    if volunteer.status == "opted_out" and kind not in _SENT_EVEN_IF_OPTED_OUT:
        return False
    return (
        bool(current_app.config["TELEGRAM_ENABLED"])
        and volunteer.telegram_chat_id is not None
        and volunteer.telegram_opted_out_at is None
    )


def enqueue_to_chat(
    chat_id: int,
    kind: str,
    body: str,
    *,
    volunteer_id: int | None = None,
    incident_id: int | None = None,
    alert_id: int | None = None,
    markup: str | None = None,
) -> OutboxMessage:
    """Queue a Telegram message to a chat (a volunteer's, or an unlinked one for a hint)."""
    return _queue(
        kind,
        body[:1600],
        volunteer_id,
        incident_id,
        alert_id,
        channel="telegram",
        to_phone="",
        to_chat_id=chat_id,
        markup=markup,
        segments=1,
    )


def _queue(
    kind: str,
    body: str,
    volunteer_id: int | None,
    incident_id: int | None,
    alert_id: int | None,
    **channel_fields,
) -> OutboxMessage:
    """A new due row in the caller's transaction: what every channel's row has in common, plus
    where it goes (`channel_fields`)."""
    message = OutboxMessage(
        fair_rank=fair_rank(incident_id) if kind == "alert" else 0,
        body=body,
        kind=kind,
        priority=PRIORITY.get(kind, 2),
        volunteer_id=volunteer_id,
        incident_id=incident_id,
        alert_id=alert_id,
        status="pending",
        next_attempt_at=utcnow(),
        idempotency_key=new_idempotency_key(),
        failover_at=failover_deadline(kind),
        **channel_fields,
    )
    db.session.add(message)
    return message


def fair_rank(incident_id: int | None) -> int:
    """The fair_rank of the next call-out of this incident: one turn after its last call-out
    still queued, or its first turn when none is. The caller holds the incident's lock
    (alerting.lock_incident), so no two transactions number one incident's call-outs at once;
    within a transaction the last rank is remembered (a wave queues hundreds)."""
    if incident_id is None:
        return 0
    incident = db.session.get(Incident, incident_id)
    severity = incident.severity if incident is not None else "severe"
    transaction = db.session().get_transaction()
    memo = db.session.info.get("fair_ranks")
    if memo is None or memo[0] is not transaction:
        memo = db.session.info["fair_ranks"] = (transaction, {})
    last = memo[1].get(incident_id)
    if last is None:
        last = db.session.scalar(
            select(func.max(OutboxMessage.fair_rank)).where(
                OutboxMessage.incident_id == incident_id,
                OutboxMessage.kind == "alert",
                OutboxMessage.status.in_(_QUEUED),
            )
        )
    if last is None:
        rank = _FAIR_OFFSET.get(severity, 2)
    else:
        rank = last + _FAIR_STEP.get(severity, 4) * _FAIR_TURN
    memo[1][incident_id] = rank
    return rank


class Pacer:
    """At most `per_second` segments a second from this process (a token bucket)."""

    def __init__(self, per_second: float, clock=time.monotonic, sleep=time.sleep):
        self.per_second = per_second
        self._clock, self._sleep = clock, sleep
        self._next_free = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def wait(self, segments: int) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next_free)
            self._next_free = start + segments / self.per_second
        if start > now:
            self._sleep(start - now)

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (the provider said 429, retry after)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def paused_for(self) -> float:
        """Seconds left of a pause, 0 when there is none."""
        return max(0.0, self._paused_until - self._clock())


@dataclass(frozen=True)
class SendOutcome:
    message_id: int
    alert_id: int | None
    kind: str
    outcome: str  # sent | retry | failed | cancelled | lease_lost
    provider_id: str | None = None  # when sent


def claim_due(limit: int, *, idempotent: bool = False, channel: str = "sms", route: str | None = None) -> list[int]:
    """Claim up to `limit` due messages for this sender and commit the claim. SMS rows are
    claimed per route (None: SMS_BACKEND's, "fallback": SMS_FALLBACK_BACKEND's).

    `idempotent`: the gateway these will be sent through honours the idempotency key, so a row
    found `sending` (its sender died mid-call) is resent without any risk of a duplicate."""
    now = utcnow()
    mine = (OutboxMessage.channel == channel, *_route_is(channel, route))
    fair = (OutboxMessage.priority, OutboxMessage.fair_rank, OutboxMessage.id)
    # First rows whose lease ran out (a sender died holding them: rare, and overdue), then due
    # pending rows in fair order, along the partial index ix_outbox_fair_due.
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(*mine, OutboxMessage.status.in_(("claimed", "sending")), OutboxMessage.claimed_until < now)
            .order_by(*fair)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if len(ids) < limit:
        ids += db.session.scalars(
            select(OutboxMessage.id)
            .where(*mine, OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(*fair)
            .limit(limit - len(ids))
            .with_for_update(skip_locked=True)
        )
    if ids and not idempotent:
        # Found `sending`: a sender died during the HTTP call, so that attempt may have gone
        # out. (Found `claimed`: it died before sending; nothing went out.)
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
            .values(ambiguous_attempts=OutboxMessage.ambiguous_attempts + 1)
        )
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status="claimed", claimed_until=now + timedelta(seconds=LEASE_S))
        )
    db.session.commit()
    return ids


def _route_is(channel: str, route: str | None) -> tuple:
    if channel != "sms":
        return ()
    return (OutboxMessage.route.is_(None),) if route is None else (OutboxMessage.route == route,)


def _claimed_columns():
    return (
        OutboxMessage.id,
        OutboxMessage.to_phone,
        OutboxMessage.body,
        OutboxMessage.segments,
        OutboxMessage.kind,
        OutboxMessage.idempotency_key,
        OutboxMessage.alert_id,
        OutboxMessage.volunteer_id,
        OutboxMessage.failover_at,
        Volunteer.status.label("volunteer_status"),
        Volunteer.phone.label("volunteer_phone"),
        Volunteer.phone_problem,
    )


def load_claimed(ids: list[int]) -> dict:
    """What sending needs of each claimed row (and its volunteer), in one read for a batch."""
    rows = db.session.execute(
        select(*_claimed_columns())
        .outerjoin(Volunteer, Volunteer.id == OutboxMessage.volunteer_id)
        .where(OutboxMessage.id.in_(ids))
    ).all()
    return {row.id: row for row in rows}


def start_sending(rows: list, still_wanted: dict[int, str], provider: str) -> list:
    """Mark a claimed batch at once, before any of it is sent: a row that must not go any more
    `cancelled` (with why: `still_wanted` from dispatch, or the volunteer opted out or changed
    number since), the others `sending` with an attempt counted. Guarded by the lease: a row
    whose lease ran out may be another sender's now, and is left alone. Commits (no transaction
    stays open across the HTTP calls). Returns the rows this sender is to send, in batch order.

    From `sending` on, a crash leaves it unknown whether a row went out: the rows of a batch a
    sender died in the middle of are claimed again when the lease ends and counted ambiguous,
    those it had not sent yet included (about a second of sending at the paced rate)."""
    table = _OUTBOX
    ours = (table.c.status == "claimed", table.c.claimed_until >= utcnow())
    why: dict[int, str] = {}
    for row in rows:
        reason = _why_not_send(row) or still_wanted.get(row.id)
        if reason:
            why[row.id] = reason
    # Hot path: Core statements, one per reason and one for the rest, not two an SMS.
    for reason in set(why.values()):
        ids = [message_id for message_id, said in why.items() if said == reason]
        db.session.execute(
            update(table)
            .where(table.c.id.in_(ids), *ours)
            .values(status="cancelled", last_error=reason, failover_at=None)
        )
    wanted = [row.id for row in rows if row.id not in why]
    started: set[int] = set()
    if wanted:
        started = set(
            db.session.scalars(
                update(table)
                .where(table.c.id.in_(wanted), *ours)
                .values(status="sending", attempts=table.c.attempts + 1, provider=provider)
                .returning(table.c.id)
            )
        )
    db.session.commit()
    return [row for row in rows if row.id in started]


def record_sent(sent: list[tuple], provider: str) -> None:
    """`sent`: (row, SendResult) of SMS the provider took; one statement for all of them, in the
    caller's transaction (it commits them together with their alerts' bookkeeping)."""
    if not sent:
        return
    now = utcnow()
    table = _OUTBOX
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            status="sent",
            provider_id=bindparam("b_provider_id"),
            provider_status=bindparam("b_provider_status"),
            sent_at=now,
            claimed_until=None,
            last_error=None,
            provider=provider,
            failover_at=bindparam("b_failover_at"),
        )
    )
    db.session.execute(
        statement,
        [
            {
                "b_id": row.id,
                "b_provider_id": result.provider_id,
                # A resend that finds the SMS already at the provider (SMSGate's 409) may learn it
                # is delivered or failed already; that final word comes with its delivery report
                # (held until now, or still to come), which moves the alert too: "sent" at most.
                "b_provider_status": result.status if _PROVIDER_RANK.get(result.status.lower(), 0) < 2 else "sent",
                # From now on the deadline counts from when it left (a call-out with no other
                # route to go on has none: alerting._queue_callout).
                "b_failover_at": failover_deadline(row.kind) if row.failover_at is not None else None,
            }
            for row, result in sent
        ],
    )


def _why_not_send(message) -> str | None:
    # Checked again at send time: an opt-out that arrived after queueing still stops the SMS.
    if message.volunteer_id is None:
        return None
    if message.volunteer_status == "opted_out" and message.kind not in _SENT_EVEN_IF_OPTED_OUT:
        return "the volunteer opted out before it was sent"
    if message.volunteer_phone != message.to_phone:
        return "the volunteer's number changed or was erased"
    if message.phone_problem is not None:
        return f"the number cannot receive SMS ({message.phone_problem})"
    return None


def provider_name(gateway) -> str:
    """What the API calls the provider that carried a message: twilio, smsgate, console, telegram."""
    named = getattr(gateway, "provider", None)
    if named:
        return str(named)
    return {"TwilioGateway": "twilio", "SmsGateGateway": "smsgate"}.get(type(gateway).__name__, "console")


def record_retry(message_id: int, exc, ambiguous: bool, delay_s: float | None = None) -> SendOutcome:
    message = db.session.get(OutboxMessage, message_id)
    message.last_error = str(exc)[:300]
    message.claimed_until = None
    if ambiguous:
        message.ambiguous_attempts += 1
    if message.attempts >= MAX_ATTEMPTS:
        message.status, message.failover_at = "failed", None
        log.error(
            "sms %s to %s given up after %d attempts: %s",
            message.id,
            mask_phone(message.to_phone),
            message.attempts,
            one_line(str(exc)),
        )
        return SendOutcome(message.id, message.alert_id, message.kind, "failed")
    delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (message.attempts - 1)) * random.uniform(0.5, 1.0)
    message.status = "pending"
    # A provider that said when to come back (a 429's retry_after) is asked no sooner.
    message.next_attempt_at = utcnow() + timedelta(seconds=delay if delay_s is None else delay_s)
    log.warning(
        "sms %s to %s will be retried (%s): %s",
        message.id,
        mask_phone(message.to_phone),
        "ambiguous" if ambiguous else "retryable",
        one_line(str(exc)),
    )
    return SendOutcome(message.id, message.alert_id, message.kind, "retry")


def record_permanent(message_id: int, exc: SmsPermanent) -> SendOutcome:
    message = db.session.get(OutboxMessage, message_id)
    message.status, message.failover_at = "failed", None
    message.claimed_until = None
    message.last_error = f"{exc.reason}: {exc}"[:300]
    volunteer = db.session.get(Volunteer, message.volunteer_id) if message.volunteer_id else None
    if volunteer is not None:
        mark_number_problem(volunteer, exc.reason)
    log.warning("sms %s to %s failed for good: %s", message.id, mask_phone(message.to_phone), one_line(str(exc)))
    return SendOutcome(message.id, message.alert_id, message.kind, "failed")


def mark_number_problem(volunteer: Volunteer, reason: str) -> None:
    """The provider says this number will never work: coordinators see it flagged."""
    if reason == "unsubscribed":
        # The carrier-level opt-out (Twilio 21610) is as binding as our own STOP.
        volunteer.status = "opted_out"
    elif reason in ("invalid_number", "not_mobile"):
        volunteer.phone_problem = reason


def record_status(provider_id: str, status: str, error_code: int | None) -> OutboxMessage | None:
    """Apply a status callback; out-of-order and repeated ones never move a message back."""
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.provider_id == provider_id).with_for_update())
    if message is None:
        return None
    status = status.lower()
    new_rank = _PROVIDER_RANK.get(status)
    current_rank = _PROVIDER_RANK.get(message.provider_status or "queued", 0)
    if new_rank is None or current_rank == 2 or new_rank < current_rank:
        return message  # unknown, already final, or older news
    message.provider_status = status
    if status in ("delivered", "undelivered", "failed"):
        # A final word: delivered needs no failover; a failure fails over at once (delivery.py).
        message.status, message.failover_at = status, None
    if error_code:
        message.last_error = f"provider error {error_code}"
        volunteer = db.session.get(Volunteer, message.volunteer_id) if message.volunteer_id else None
        reason = {21610: "unsubscribed", 30006: "invalid_number", 21211: "invalid_number"}.get(error_code)
        if volunteer is not None and reason:
            mark_number_problem(volunteer, reason)
    return message


@contextmanager
def sender_slot(key: int = _SENDER_LOCK_KEY) -> Iterator[bool]:
    """True when this process may send now: one sender at a time across processes (PostgreSQL
    advisory lock), so SMS_MAX_PER_SECOND holds for the whole service, not per process.

    The lock is held on its own AUTOCOMMIT connection: never idle in a transaction, so a
    server's idle_in_transaction_session_timeout cannot end it (and free the lock) mid-send."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        try:
            yield bool(got)
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
