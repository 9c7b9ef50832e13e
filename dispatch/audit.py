"""The audit trail: every state change of an incident and an alert, who or what caused it, when."""

from __future__ import annotations

from sqlalchemy import select

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
