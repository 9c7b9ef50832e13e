"""What the scheduler runs: short functions that claim due work and call the use cases.

Every deadline lives in a row (alerts.expires_at, outbox.next_attempt_at), so these can run
in any number of processes, be killed and restarted, and still do each piece of work once.
"""
from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy import select

from . import alerting, outbox, sms
from .extensions import db
from .models import Incident, OutboxMessage

log = logging.getLogger(__name__)

# One call sends for at most this long, so a tick never overlaps the next one for long.
SEND_BUDGET_S = 30.0


def send_outbox(budget_s: float = SEND_BUDGET_S) -> int:
    """Send due SMS until none are due or the budget is spent. Returns how many were handled."""
    rate = current_app.config["SMS_MAX_PER_SECOND"]
    # A claim is a lease: claim about two seconds of sending, well within it.
    batch = max(1, min(50, int(rate * 2)))
    handled, started = 0, time.monotonic()
    with outbox.sender_slot() as mine:
        if not mine:
            return 0
        while time.monotonic() - started < budget_s:
            ids = outbox.claim_due(batch)
            if not ids:
                break
            for message_id in ids:
                result = outbox.send_claimed(message_id, sms.gateway(), sms.pacer(), alerting.alert_still_wanted)
                kind = db.session.get(OutboxMessage, message_id).kind
                if result.alert_id is not None and kind == "alert":
                    if result.outcome == "sent":
                        alerting.alert_sms_sent(result.alert_id)
                    elif result.outcome == "failed":
                        alerting.alert_sms_failed(result.alert_id, "the SMS could not be sent")
                db.session.commit()
                handled += 1
    return handled


def expire_alerts() -> int:
    return alerting.expire_alerts()


def top_up_waves() -> int:
    """Retry incidents that are short of people: volunteers may have become available."""
    created = 0
    ids = db.session.scalars(select(Incident.id).where(Incident.status.in_(("dispatching", "unfilled")))).all()
    for incident_id in ids:
        incident = alerting.lock_incident(incident_id)
        created += alerting.run_waves(incident, "scheduler")
        db.session.commit()
    return created


def dispatch_tick() -> dict:
    """Expire silent alerts and top up waves (they queue SMS; send_outbox sends them)."""
    done = {"expired": expire_alerts(), "alerted": top_up_waves()}
    db.session.remove()
    return done


def send_tick() -> int:
    sent = send_outbox()
    db.session.remove()
    return sent


def tick() -> dict:
    """Everything once, in order (tests and tools; the scheduler runs the two halves apart)."""
    return {**dispatch_tick(), "sent": send_tick()}
