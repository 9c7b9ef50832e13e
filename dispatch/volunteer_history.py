"""One volunteer's history for the console's volunteer page: their call-outs (incident, when,
answer, on-scene state), the texts and presses that came from them, and their activity records.
The caller has checked the volunteer is in the reader's scope (dispatch/scopes.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from . import activity
from .extensions import db
from .models import Alert, InboundMessage, Incident, User

LIMIT = 100


@dataclass
class History:
    alerts: list[tuple[Alert, Incident]]
    replies: list[InboundMessage]
    activity: list[tuple]  # activity.list_activity rows
    activity_total: int
    activity_hours: float


def of(volunteer_id: int, reader: User | None, limit: int = LIMIT) -> History:
    alerts = db.session.execute(
        select(Alert, Incident)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Alert.volunteer_id == volunteer_id)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    ).all()
    replies = db.session.scalars(
        select(InboundMessage)
        .where(InboundMessage.volunteer_id == volunteer_id)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    ).all()
    rows, total, hours = activity.list_activity(
        activity.ActivityFilter(volunteer_id=volunteer_id, reader=reader, per_page=limit)
    )
    return History([tuple(row) for row in alerts], list(replies), rows, total, hours or 0.0)


def responder_state(alert: Alert) -> str:
    """Where an accepted responder is: help, safe, left, on_scene, en_route; '' otherwise."""
    if alert.status != "accepted":
        return ""
    if alert.help_requested_at is not None:
        return "help"
    if alert.safe_at is not None:
        return "safe"
    if alert.left_at is not None:
        return "left"
    if alert.arrived_at is not None:
        return "on_scene"
    return "en_route"
