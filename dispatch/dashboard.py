"""Read-only queries behind the web pages: the public board, an incident's live picture, the
inbox of texts nobody understood and the SMS simulator's threads (the pre-send preview is a
use case of its own, dispatch/preview.py, shared with the API).

Nothing here writes: the pages change state only through the use cases (incidents, inbox,
volunteer_import), exactly as the API does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select

from . import incidents, reply_links, responders
from .extensions import db
from .models import (
    PENDING_ALERT_STATUSES,
    Alert,
    InboundMessage,
    Incident,
    Organization,
    OutboxMessage,
    User,
    Volunteer,
)
from .presenters import alert_counts, alerts_json, public_incident_json, responders_json

# What the simulator shows as "arrived on the phone".
DELIVERED_OUTBOX = ("sent", "delivered")


# -- public --------------------------------------------------------------------------------


def public_status() -> dict:
    """The open incidents as anyone may see them: the same rule as GET /api/v1/status."""
    open_incidents = incidents.list_incidents("open")
    counts = alert_counts([i.id for i in open_incidents])
    return {"incidents": [public_incident_json(i, counts[i.id]) for i in open_incidents]}


# -- an incident, live ---------------------------------------------------------------------


@dataclass
class IncidentPicture:
    incident: Incident
    counts: dict[str, int]
    responders: list[dict]
    alerts: list[dict]
    messages: list[dict]
    roll_call: responders.RollCall
    on_scene: int  # responders there now (arrived, not left)


def incident_picture(incident_id: int) -> IncidentPicture:
    incident = incidents.get_incident(incident_id)
    people = responders_json(incident.id)
    return IncidentPicture(
        incident=incident,
        counts=alert_counts([incident.id])[incident.id],
        responders=people,
        alerts=alerts_json(incident.id),
        messages=_messages(InboundMessage.incident_id == incident.id, limit=200),
        roll_call=responders.roll_call(incident.id),
        on_scene=sum(1 for r in people if r["arrived_at"] and not r["left_at"]),
    )


def recent_incidents(
    limit: int = 50, region: str | None = None, nothing: bool = False
) -> tuple[list[Incident], dict[int, dict[str, int]]]:
    """Open incidents first (newest first), then the most recently ended; in one region if given
    (`nothing`: a filter no incident can match)."""
    found = [] if nothing else incidents.list_incidents(None, limit=limit, region=region)
    found.sort(key=lambda i: (not i.is_open, -i.id))
    return found, alert_counts([i.id for i in found])


# -- inbound texts ---------------------------------------------------------------------------


def needs_attention(limit: int = 200, volunteers: ColumnElement[bool] | None = None) -> list[dict]:
    """Replies the service did not understand, newest first, for a coordinator to read. With a
    `volunteers` condition (a scope's, on Volunteer), only those volunteers' texts: no text from
    an unknown number either."""
    where = InboundMessage.needs_attention.is_(True)
    if volunteers is not None:
        where = and_(where, InboundMessage.volunteer_id.is_not(None), volunteers)
    return _messages(where, limit)


def _messages(where, limit: int) -> list[dict]:
    rows = db.session.execute(
        select(InboundMessage, Volunteer.name, Incident.code)
        .outerjoin(Volunteer, Volunteer.id == InboundMessage.volunteer_id)
        .outerjoin(Incident, Incident.id == InboundMessage.incident_id)
        .where(where)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": m.id,
            "volunteer_id": m.volunteer_id,
            "name": name,
            "from_phone": m.from_phone,
            "body": m.body,
            "intent": m.intent,
            "outcome": m.outcome,
            "incident_id": m.incident_id,
            "incident_code": code,
            "received_at": m.received_at,
            "channel": m.channel,
        }
        for m, name, code in rows
    ]


# -- the SMS simulator -------------------------------------------------------------------------


@dataclass
class Thread:
    volunteer: Volunteer
    # Newest first: {"direction": "out"|"in", "body", "at", "status"}.
    messages: list[dict]
    waiting: int  # SMS still in the outbox, not yet on the phone


def simulator_inboxes(limit: int = 100) -> list[dict]:
    """Volunteers who have received SMS, the most recent first."""
    last = (
        select(OutboxMessage.to_phone, func.max(OutboxMessage.id).label("last_id"), func.count().label("n"))
        .where(OutboxMessage.status.in_(DELIVERED_OUTBOX))
        .group_by(OutboxMessage.to_phone)
        .subquery()
    )
    rows = db.session.execute(
        select(Volunteer, last.c.n, OutboxMessage.body, OutboxMessage.sent_at)
        .join(last, last.c.to_phone == Volunteer.phone)
        .join(OutboxMessage, OutboxMessage.id == last.c.last_id)
        .order_by(last.c.last_id.desc())
        .limit(limit)
    )
    return [{"volunteer": v, "count": n, "last_body": body, "last_at": at} for v, n, body, at in rows]


def volunteer_by_phone(phone: str) -> Volunteer | None:
    return db.session.scalar(select(Volunteer).where(Volunteer.phone == phone))


def simulator_thread(volunteer: Volunteer, limit: int = 100) -> Thread:
    """What this volunteer's phone shows: SMS sent to their number and their own replies."""
    outbox = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_phone == volunteer.phone)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    inbound = db.session.scalars(
        select(InboundMessage)
        .where(InboundMessage.volunteer_id == volunteer.id, InboundMessage.channel == "sms")
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    ).all()
    messages = [
        {"direction": "out", "body": m.body, "at": m.sent_at or m.created_at, "status": m.status}
        for m in outbox
        if m.status in DELIVERED_OUTBOX
    ]
    messages += [{"direction": "in", "body": m.body, "at": m.received_at, "status": m.outcome} for m in inbound]
    messages.sort(key=lambda m: m["at"], reverse=True)
    waiting = sum(1 for m in outbox if m.status in ("pending", "claimed", "sending"))
    return Thread(volunteer=volunteer, messages=messages[:limit], waiting=waiting)


# The reply link in a call-out SMS (reply_links.reply_url): only its path is used, so the link
# opens on whatever address the console was reached at.
_REPLY_LINK = re.compile(
    re.escape(reply_links.PATH) + rf"([A-Za-z0-9_-]{{{reply_links.TOKEN_LENGTH}}})(?![A-Za-z0-9_-])"
)


def simulator_reply_links(volunteer: Volunteer) -> list[dict]:
    """The reply links this volunteer's phone holds that still answer: one per alert waiting for
    them, taken from the call-out SMS (only the SMS holds the token; the database keeps its hash)."""
    rows = db.session.execute(
        select(OutboxMessage.body, Alert.id, Alert.reply_token_hash, Incident.id, Incident.kind)
        .join(Alert, Alert.id == OutboxMessage.alert_id)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(
            OutboxMessage.volunteer_id == volunteer.id,
            OutboxMessage.channel == "sms",
            OutboxMessage.kind == "alert",
            OutboxMessage.status.in_(DELIVERED_OUTBOX),
            Alert.status.in_(PENDING_ALERT_STATUSES),
        )
        .order_by(OutboxMessage.id.desc())
    )
    links, seen = [], set()
    for body, alert_id, token_hash, incident_id, kind in rows:
        match = _REPLY_LINK.search(body)
        if alert_id in seen or match is None or reply_links.hash_token(match[1]) != token_hash:
            continue  # an older SMS of a re-sent call-out: its token was replaced
        seen.add(alert_id)
        links.append({"alert_id": alert_id, "incident_id": incident_id, "kind": kind, "token": match[1]})
    return links


def volunteers_by_chat(chat_ids: list[int]) -> dict[int, Volunteer]:
    """The volunteers linked to these Telegram chats, by chat id."""
    if not chat_ids:
        return {}
    found = db.session.scalars(select(Volunteer).where(Volunteer.telegram_chat_id.in_(chat_ids[:500])))
    return {v.telegram_chat_id: v for v in found}


# -- registry ---------------------------------------------------------------------------------


def organizations(where: ColumnElement[bool] | None = None) -> list[Organization]:
    """Every organisation (or those `where` holds: a scope's), active first, by name: the choices
    of the registry's filter."""
    query = select(Organization).order_by(Organization.active.desc(), Organization.name_key)
    if where is not None:
        query = query.where(where)
    return list(db.session.scalars(query))


def organization_names(ids: list[int]) -> list[str]:
    """The names of these organisations, by name."""
    if not ids:
        return []
    return list(
        db.session.scalars(select(Organization.name).where(Organization.id.in_(ids)).order_by(Organization.name_key))
    )


def volunteers_in_scope(ids: set[int], where: ColumnElement[bool] | None) -> set[int]:
    """Those of `ids` that a scope's condition on Volunteer holds (None: all of them)."""
    if where is None:
        return set(ids)
    found: set[int] = set()
    chunk = sorted(ids)
    for start in range(0, len(chunk), 500):
        part = chunk[start : start + 500]
        found.update(db.session.scalars(select(Volunteer.id).where(Volunteer.id.in_(part), where)))
    return found


def registry_extent() -> tuple[float, float, float, float] | None:
    """(min_lat, min_lon, max_lat, max_lon) of active volunteers: where a new incident's map opens."""
    row = db.session.execute(
        select(
            func.min(Volunteer.lat), func.min(Volunteer.lon), func.max(Volunteer.lat), func.max(Volunteer.lon)
        ).where(Volunteer.status == "active", Volunteer.lat.is_not(None))
    ).one()
    return None if row[0] is None else tuple(row)


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))
