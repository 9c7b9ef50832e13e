"""Inbound SMS: store once per MessageSid, find the volunteer, read the reply, act on it.

Every answer goes out through the outbox (so it is paced, retried and tracked like any SMS);
the webhook itself answers an empty TwiML document.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from notifications.gateway import mask_phone
from notifications.phones import InvalidPhone, normalize_phone
from notifications.replies import Intent, Reply, parse_reply
from notifications.texts import render

from . import activity, alerting, audit, responders, telegram_links
from .clock import utcnow
from .extensions import db
from .models import (
    OPEN_INCIDENT_STATUSES,
    PENDING_ALERT_STATUSES,
    Alert,
    InboundMessage,
    Incident,
    OutboxMessage,
    Volunteer,
)
from .outbox import enqueue, enqueue_to_number

log = logging.getLogger(__name__)

# A bare YES/NO with nothing pending still means the most recent call-out within this time.
RECENT_ALERT = timedelta(hours=12)
# Strangers get one polite answer a day, so two auto-responders cannot ping-pong through us.
STRANGER_ANSWER_EVERY = timedelta(hours=24)
# A volunteer's texts are always stored and acted on, but automatic answers to one number are
# capped: a phone stuck in a loop (an auto-reply, a broken app) must not run up SMS costs or
# crowd out call-outs. Confirmations of YES are not automatic answers and are never capped.
MAX_ANSWERS_PER_HOUR = 10
# Such a loop also texts far faster than any person: past this many texts from one number in
# the window, a text is still stored (outcome "rate_limited", shown in the coordinators' inbox)
# but not acted on at all, and the webhook answers 429. A constant next to the answer cap, not
# a setting: it is a safety net no deployment needs to tune. Counted over the `inbound` rows
# (index ix_inbound_from_phone_received_at), so every worker agrees.
MAX_TEXTS_PER_NUMBER = 20
TEXT_WINDOW = timedelta(minutes=10)
RATE_LIMITED = "rate_limited"
ANSWER_KINDS = ("help", "hint", "no_pending", "which_incident", "busy", "available", "opted_in", "opted_out")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
# Kept out of a stored text (PostgreSQL refuses NUL; nobody reads the others): each becomes U+FFFD.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def receive_sms(message_sid: str, from_phone: str, body: str) -> InboundMessage | None:
    """Handle one inbound SMS and commit. None when this MessageSid was handled before.

    Over MAX_TEXTS_PER_NUMBER the text is stored with outcome RATE_LIMITED and nothing else happens.
    """
    inbound = store(message_sid, from_phone, body)
    if inbound is None:
        return None
    volunteer = _volunteer_by_phone(from_phone)
    if not handle_text(inbound, volunteer, channel="sms"):
        inbound.outcome = "unknown_number"
        _answer_stranger(from_phone, body)
    db.session.commit()
    return inbound


def store(message_sid: str, sender: str, body: str, channel: str = "sms") -> InboundMessage | None:
    """Keep an inbound message once per message_sid (flushed, not committed); None when it was
    stored before (the provider delivered it twice, perhaps to two workers at once)."""
    sender, body = _CONTROL.sub("\ufffd", sender), _CONTROL.sub("\ufffd", body)
    inbound = InboundMessage(
        message_sid=message_sid, from_phone=sender[:32], body=body[:1600], received_at=utcnow(), channel=channel
    )
    db.session.add(inbound)
    try:
        db.session.flush()
    except IntegrityError:
        # The unique constraint on message_sid lets exactly one of them through.
        db.session.rollback()
        return None
    return inbound


def handle_text(inbound: InboundMessage, volunteer: Volunteer | None, channel: str) -> bool:
    """The part of an inbound text that is the same on every channel: the per-sender limit
    (counted over inbound.from_phone: a number, or "tg:<chat>"), then the reply read with the
    same words and acted on by the same use cases; answers go back on `channel`. The caller
    commits. False when there is no volunteer to act for (the caller answers the stranger)."""
    reply = parse_reply(inbound.body)
    texts = _texts_in_window(inbound.from_phone)
    # STOP is honoured at any rate: an opt-out binds us however it arrives.
    if texts > MAX_TEXTS_PER_NUMBER and reply.intent is not Intent.STOP:
        # Kept for a coordinator to read, with whose it is; nothing is done, nothing answered.
        # Only the first of a burst asks for attention, so a loop cannot bury real replies.
        inbound.volunteer_id = volunteer.id if volunteer else None
        inbound.outcome, inbound.needs_attention = RATE_LIMITED, texts == MAX_TEXTS_PER_NUMBER + 1
        log.warning(
            "inbound %s from %s: over %d texts in %s; stored, not acted on",
            channel,
            mask_phone(inbound.from_phone) if channel == "sms" else inbound.from_phone,
            MAX_TEXTS_PER_NUMBER,
            TEXT_WINDOW,
        )
        return True
    if volunteer is None:
        return False
    inbound.volunteer_id, inbound.intent = volunteer.id, reply.intent.value
    inbound.outcome = _act(volunteer, reply, inbound, channel)
    return True


def over_limit(sender: str) -> bool:
    """More than MAX_TEXTS_PER_NUMBER stored from this sender in TEXT_WINDOW (this one included)."""
    return _texts_in_window(sender) > MAX_TEXTS_PER_NUMBER


def _texts_in_window(from_phone: str) -> int:
    """Texts stored from this number in the last TEXT_WINDOW, the one being handled included."""
    return db.session.scalar(
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.from_phone == from_phone, InboundMessage.received_at > utcnow() - TEXT_WINDOW)
    )


def _volunteer_by_phone(from_phone: str) -> Volunteer | None:
    try:
        phone = normalize_phone(from_phone, current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhone:
        return None
    return db.session.scalar(select(Volunteer).where(Volunteer.phone == phone))


def _answer_stranger(phone: str, body: str) -> None:
    try:
        normalize_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhone:
        return  # a sender name or a short code (a carrier's own texts to an SMSGate SIM): no answer
    recent = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.to_phone == phone,
            OutboxMessage.kind == "unknown_number",
            OutboxMessage.created_at > utcnow() - STRANGER_ANSWER_EVERY,
        )
    )
    if not recent:
        language = "ru" if _CYRILLIC.search(body) else "en"
        enqueue_to_number(phone, "unknown_number", render("unknown_number", language))


def _say(volunteer: Volunteer, template: str, channel: str = "sms", **values) -> None:
    answered = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.volunteer_id == volunteer.id,
            OutboxMessage.kind.in_(ANSWER_KINDS),
            OutboxMessage.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if answered >= MAX_ANSWERS_PER_HOUR:
        log.warning("volunteer %s: %d automatic answers this hour; not answering %s", volunteer.id, answered, template)
        return
    enqueue(volunteer, template, render(template, volunteer.language, **values), channel=channel)


def _act(volunteer: Volunteer, reply: Reply, inbound: InboundMessage, channel: str = "sms") -> str:
    actor = f"volunteer:{volunteer.id}"
    intent = reply.intent
    if channel == "telegram" and intent in (Intent.STOP, Intent.START):
        # In Telegram, STOP and START are about Telegram only: SMS stays as it is.
        return telegram_links.stop_or_start(volunteer, intent is Intent.STOP, actor)
    if intent is Intent.STOP:
        volunteer.status = "opted_out"
        audit.record(actor, "opted_out", volunteer_id=volunteer.id)
        alerting.withdraw_pending(volunteer.id, actor)
        _say(volunteer, "opted_out", channel)
        return "opted_out"
    if intent is Intent.START:
        if volunteer.status == "opted_out":
            volunteer.status = "active"
            audit.record(actor, "opted_in", volunteer_id=volunteer.id)
        _say(volunteer, "opted_in", channel)
        return "opted_in"
    if intent is Intent.HELP:
        # From the scene it is a call for help: coordinators are alerted at once.
        on_scene = responders.help_from_scene(volunteer, actor)
        if on_scene is not None:
            inbound.incident_id = on_scene[1]
            return on_scene[0]
        _say(volunteer, "help", channel)
        return "help"
    if volunteer.status == "opted_out":
        # Anything else from an opted-out number changes nothing and gets no answer.
        return "ignored_opted_out"
    if intent is Intent.BUSY:
        if reply.busy_hours:
            volunteer.busy_until = utcnow() + timedelta(hours=reply.busy_hours)
        else:
            volunteer.available = False
        alerting.withdraw_pending(volunteer.id, actor)
        _say(volunteer, "busy", channel, hours=reply.busy_hours)
        return "busy"
    if intent is Intent.AVAILABLE:
        volunteer.available, volunteer.busy_until = True, None
        _say(volunteer, "available", channel)
        return "available"
    if intent in (Intent.ACCEPT, Intent.DECLINE):
        return _answer_alert(volunteer, reply, inbound, actor, channel)
    if intent in (Intent.ARRIVED, Intent.DONE, Intent.SAFE):
        outcome, inbound.incident_id = responders.reply_from_scene(volunteer, intent.value, reply.code, actor)
        return outcome
    if intent is Intent.HOURS:
        return activity.answer_hours(volunteer)
    inbound.needs_attention = True
    _say(volunteer, "hint", channel)
    return "not_understood"


def _answer_alert(volunteer: Volunteer, reply: Reply, inbound: InboundMessage, actor: str, channel: str) -> str:
    alert, outcome = _target_alert(volunteer, reply.code)
    if alert is None:
        if outcome == "ambiguous":
            codes = _pending_codes(volunteer.id)
            _say(volunteer, "which_incident", channel, codes=codes)
        else:
            _say(volunteer, "no_pending", channel)
        return outcome
    if reply.intent is Intent.ACCEPT:
        outcome = alerting.accept(alert.id, reply.eta_min, actor)
    else:
        outcome = alerting.decline(alert.id, actor)
    inbound.incident_id = alert.incident_id  # after the incident lock is held (see lock_incident)
    return outcome


def _target_alert(volunteer: Volunteer, code: str | None) -> tuple[Alert | None, str]:
    """The alert a YES/NO answers: by code, else the only pending one, else the latest recent one."""
    alerts = select(Alert).join(Incident, Incident.id == Alert.incident_id).where(Alert.volunteer_id == volunteer.id)
    if code is not None:
        # Codes are unique among open incidents; an ended incident's code may have been reused.
        found = db.session.scalars(
            alerts.where(Incident.code == code).order_by(
                Incident.status.in_(OPEN_INCIDENT_STATUSES).desc(), Alert.id.desc()
            )
        ).first()
        return (found, "") if found else (None, "unknown_code")
    pending = db.session.scalars(
        alerts.where(Alert.status.in_(PENDING_ALERT_STATUSES), Incident.status.in_(OPEN_INCIDENT_STATUSES))
    ).all()
    if len(pending) == 1:
        return pending[0], ""
    if len(pending) > 1:
        return None, "ambiguous"
    recent = db.session.scalars(
        alerts.where(Alert.created_at > utcnow() - RECENT_ALERT).order_by(Alert.id.desc())
    ).first()
    return (recent, "") if recent else (None, "nothing_pending")


def _pending_codes(volunteer_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Incident.code)
            .join(Alert, Alert.incident_id == Incident.id)
            .where(
                Alert.volunteer_id == volunteer_id,
                Alert.status.in_(PENDING_ALERT_STATUSES),
                Incident.status.in_(OPEN_INCIDENT_STATUSES),
            )
            .order_by(Alert.id)
        )
    )
