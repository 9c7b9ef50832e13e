"""What the scheduler runs: short functions that claim due work and call the use cases.

Every deadline lives in a row (alerts.expires_at and welfare_due_at, outbox.next_attempt_at and
failover_at), so these can run
in any number of processes, be killed and restarted, and still do each piece of work once.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from . import (
    activity,
    alerting,
    cap_feeds,
    delivery,
    outbox,
    responders,
    sender,
    sms,
    telegram,
    telegram_outbox,
    warnings_in,
)
from .extensions import db
from .models import PENDING_ALERT_STATUSES, Alert, Incident, Need

log = logging.getLogger(__name__)

# One call sends for at most this long, so a tick never overlaps the next one for long.
SEND_BUDGET_S = 30.0
# Outside a request a wave is built a few batches at a time (fewer candidate searches per
# alert), still in short transactions: about half a second of the incident's lock at most.
TICK_BATCHES = 16


def send_outbox(budget_s: float = SEND_BUDGET_S) -> int:
    """Send due SMS through each SMS sender (SMS_BACKEND's, one per number or phone it lists,
    then SMS_FALLBACK_BACKEND's: each its own gateway, pacer and lock) until none are due or the
    budget is spent. SMS_BACKEND's senders run at once, in threads of their own (they share its
    rows, so one alone would leave the others' capacity unused); then the fallback's, with
    what is left of the budget. Returns how many were handled."""
    started = time.monotonic()
    senders = sms.senders()
    main = [s for s in senders if s[0] is None]
    # Each provider gets its share: a slow one never starves the other.
    main_budget = budget_s if len(main) == len(senders) else budget_s / 2
    handled = 0
    if len(main) == 1:
        route, gateway, pacer, index = main[0]
        handled += _send_route(route, gateway, pacer, main_budget, index)
    else:
        app = current_app._get_current_object()

        def in_own_context(route, gateway, pacer, index) -> int:
            with app.app_context():
                try:
                    return _send_route(route, gateway, pacer, main_budget, index)
                finally:
                    db.session.remove()

        with ThreadPoolExecutor(max_workers=len(main), thread_name_prefix="sms-sender") as pool:
            futures = [pool.submit(in_own_context, *sender) for sender in main]
        handled += sum(future.result() for future in futures)
    for route, gateway, pacer, index in senders[len(main) :]:
        # The fallback gets what is left: a slow one never starves the main provider.
        handled += _send_route(route, gateway, pacer, max(budget_s - (time.monotonic() - started), 0.0), index)
    return handled


def _send_route(route: str | None, gateway, pacer, budget_s: float, index: int = 0) -> int:
    config = current_app.config
    # A claim is a lease: claim about two seconds of sending, well within it.
    batch = max(1, min(50, int(config["SMS_MAX_PER_SECOND"] * 2)))
    handled, started = 0, time.monotonic()
    # With a gateway that honours the outbox's idempotency keys (SMSGate), a row left `sending`
    # by a dead sender is resent with its key: never a possible duplicate.
    idempotent = getattr(gateway, "idempotent", False)
    with outbox.sender_slot(outbox.sender_lock_key(outbox.provider_name(gateway), index)) as mine:
        if not mine:
            return 0
        while time.monotonic() - started < budget_s:
            ids = outbox.claim_due(batch, idempotent=idempotent, route=route)
            if not ids:
                break
            sender.send_batch(ids, config["SMS_SEND_CONCURRENCY"], gateway, pacer)
            handled += len(ids)
    return handled


def send_telegram_outbox(budget_s: float = SEND_BUDGET_S) -> int:
    """Send due Telegram rows (their own claim, lock and pacer) until none are due or the budget
    is spent, or Telegram asked us to wait (a 429). Returns how many were handled."""
    if not telegram.enabled():
        return 0
    channel, pacer = telegram.channel(), telegram.pacer()
    handled, started = 0, time.monotonic()
    with outbox.sender_slot(outbox.TELEGRAM_SENDER_LOCK_KEY) as mine:
        if not mine:
            return 0
        while time.monotonic() - started < budget_s and pacer.paused_for() == 0:
            ids = outbox.claim_due(50, idempotent=False, channel="telegram")
            if not ids:
                break
            for message_id in ids:
                _send_one_telegram(message_id, channel, pacer)
            handled += len(ids)
    return handled


def _send_one_telegram(message_id: int, channel, pacer) -> None:
    result = telegram_outbox.send_claimed(message_id, channel, pacer, alerting.alert_still_wanted)
    if result.alert_id is not None and result.kind == "alert":
        if result.outcome == "sent":
            alerting.alert_sms_sent(result.alert_id)
            alerting.alert_sms_delivered(result.alert_id)  # the Bot API took it: delivered
        elif result.outcome == "failed":
            # A blocked bot (403) opted their Telegram out: the next channel is SMS.
            alerting.fail_over(result.alert_id, message_id, "the Telegram message could not be sent", failed=True)
    db.session.commit()


def expire_alerts() -> int:
    return alerting.expire_alerts()


def fail_over_silent() -> int:
    """Call-outs with no delivery report FAILOVER_AFTER_S after they left go on the next channel."""
    return alerting.fail_over_due()


def top_up_waves(budget_s: float = 10.0) -> int:
    """Build waves outside requests, and retry incidents that are short of people (volunteers
    may have become available). A request queues at most alerting.WAVE_BATCH alerts: here the
    rest is built, a batch per incident per pass, each in its own short transaction, in turns
    between incidents (a new incident is not held up by a huge one), until every wave is full
    or the budget is spent (the next tick goes on)."""
    created, started = 0, time.monotonic()
    ids = _short_of_alerts()
    db.session.rollback()
    while ids and time.monotonic() - started < budget_s:
        more = []
        for incident_id in ids:
            incident = alerting.lock_incident(incident_id)
            batch = alerting.run_waves(incident, "scheduler", limit=alerting.WAVE_BATCH * TICK_BATCHES)
            db.session.commit()
            created += batch
            if batch >= alerting.WAVE_BATCH * TICK_BATCHES:  # there may be more to build
                more.append(incident_id)
        ids = more
    return created


def _short_of_alerts() -> list[int]:
    """The open incidents run_waves would change: unfilled ones (someone may have become
    available), and dispatching ones with a need short of pending alerts (a wave still to
    build, or a place freed) or with every need filled (to be marked staffed). One grouped
    read, not a locked run_waves for every open incident on every tick."""
    pending = func.count(Alert.id)
    rows = db.session.execute(
        select(Incident.id, Incident.status, Need.count, Need.filled, pending)
        .join(Need, Need.incident_id == Incident.id)
        .outerjoin(Alert, (Alert.need_id == Need.id) & Alert.status.in_(PENDING_ALERT_STATUSES))
        .where(Incident.status.in_(("dispatching", "unfilled")))
        .group_by(Incident.id, Incident.status, Need.id, Need.count, Need.filled)
    ).all()
    open_places: dict[int, list[tuple[int, int]]] = {}
    for incident_id, status, places, filled, alerts in rows:
        wanted = open_places.setdefault(incident_id, [])
        if status == "unfilled":
            wanted.append((1, 0))
        elif filled < places:
            wanted.append((alerting.wave_size(places - filled), alerts))
    return sorted(i for i, needs in open_places.items() if not needs or any(want > have for want, have in needs))


def welfare_checks(now: datetime | None = None) -> dict:
    """The welfare check's reminders and overdue alerts, and activity left open too long:
    deadlines in rows (alerts.welfare_remind_at / welfare_due_at, activities.started_at),
    each claimed by a conditional UPDATE, so any number of schedulers do each once."""
    return {
        "welfare_reminded": responders.send_welfare_reminders(now),
        "welfare_overdue": responders.mark_welfare_overdue(now),
        "activity_closed": activity.close_stale(now),
    }


def dispatch_tick() -> dict:
    """Expire silent alerts, top up waves, run the welfare checks (they queue SMS;
    send_outbox sends them)."""
    done = {
        "expired": expire_alerts(),
        "failed_over": fail_over_silent(),
        "alerted": top_up_waves(),
        "forgotten_statuses": delivery.forget_stale_early_statuses(),
        **welfare_checks(),
        "warnings_expired": warnings_in.close_expired(),
    }
    db.session.remove()
    return done


def cap_tick() -> dict:
    """Read the CAP_FEEDS that are due (the scheduler runs this every CAP_POLL_S)."""
    done = cap_feeds.poll_feeds()
    db.session.remove()
    return done


def send_tick() -> int:
    sent = send_outbox() + send_telegram_outbox()
    db.session.remove()
    return sent


def tick() -> dict:
    """Everything once, in order (tests and tools; the scheduler runs the two halves apart)."""
    return {**dispatch_tick(), "sent": send_tick()}
