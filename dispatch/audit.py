"""The audit trail: every state change of an incident and an alert, who or what caused it, when."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import func, select

from .clock import isoformat, utcnow
from .extensions import db
from .models import AuditEvent


def record(
    actor: str,
    event: str,
    *,
    incident_id: int | None = None,
    alert_id: int | None = None,
    volunteer_id: int | None = None,
    details: dict | None = None,
) -> None:
    """Added to the caller's transaction: the event exists exactly when the change does."""
    db.session.add(
        AuditEvent(
            at=utcnow(),
            actor=actor,
            event=event,
            incident_id=incident_id,
            alert_id=alert_id,
            volunteer_id=volunteer_id,
            details=details,
        )
    )


def address_actor(address: str | None) -> str:
    """The audit actor for a client address; the column holds 64 characters."""
    key = f"address:{address}"
    return key if len(key) <= 64 else f"address#{hashlib.sha256(str(address).encode()).hexdigest()[:40]}"


def count_recent(actor: str, event: str, window: timedelta, since: datetime | None = None) -> int:
    """How many `event`s `actor` has in the last `window` (and after `since`, if given): the
    counter behind every limit kept in the audit trail, so every worker and host agrees."""
    start = utcnow() - window
    if since is not None and since > start:
        start = since
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.actor == actor, AuditEvent.event == event, AuditEvent.at > start)
    )


def incident_trail(incident_id: int, limit: int = 1000) -> list[dict]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.id).limit(limit)
    )
    return [
        {
            "at": isoformat(e.at),
            "actor": e.actor,
            "event": e.event,
            "alert_id": e.alert_id,
            "volunteer_id": e.volunteer_id,
            "details": e.details or {},
        }
        for e in events
    ]
