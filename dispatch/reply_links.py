"""Reply links: every call-out SMS carries PUBLIC_BASE_URL/r/<token>, a page where the volunteer
accepts (with an ETA) or declines in a browser, for senders that cannot receive a reply.

The token is 22 random base64url characters (132 bits), made when the alert's SMS is queued,
in the same transaction; only its SHA-256 is stored (alerts.reply_token_hash), and a page is
found by that hash. An answer on the page applies the same use cases as a YES or NO by SMS
(alerting.accept / alerting.decline, under the incident's row lock), and only while the alert
is still waiting for an answer, so an answer counts once whichever channel it came on. It is
kept with the inbound texts (channel "link") for the coordinators.

Guessing is refused per client address: past MAX_UNKNOWN_PER_ADDRESS unknown tokens in
UNKNOWN_WINDOW, counted in the database as audit events like the sign-in lockout
(dispatch/users.py) and the forged-webhook limit (dispatch/webhooks.py), every reply-link
request from that address is refused until the window has passed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from notifications.telegram_buttons import accept_word, decline_word

from . import alerting, audit, responders
from .clock import utcnow
from .errors import RateLimited
from .extensions import db
from .models import PENDING_ALERT_STATUSES, Alert, InboundMessage, Incident, Need, Volunteer
from .skills import SkillCatalogue

TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_"  # base64url: GSM-7 and URL safe
TOKEN_LENGTH = 22  # 22 x 6 = 132 bits
PATH = "/r/"
# What previews show in place of a token: the real length, so the segment count is the real one.
PLACEHOLDER_TOKEN = "x" * TOKEN_LENGTH
_TOKEN_FORMAT = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")

# Guessing: a person mistyping a link gets a few 404s; a scanner gets this many, then 429s.
# Constants like the other limits: no deployment needs another value.
UNKNOWN_WINDOW = timedelta(minutes=15)
MAX_UNKNOWN_PER_ADDRESS = 20
UNKNOWN_EVENT = "reply_link_unknown"


class TooManyUnknownLinks(RateLimited):
    message = "Too many unknown reply links from this address; try again later."
    retry_after = int(UNKNOWN_WINDOW.total_seconds())


# -- tokens --------------------------------------------------------------------------------------


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def reply_url(token: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"] + PATH + token


def issue(alert: Alert) -> str:
    """A new token for the alert (in the caller's transaction); the caller puts it in the SMS."""
    token = new_token()
    alert.reply_token_hash = hash_token(token)
    return token


def find_alert(token: str) -> Alert | None:
    """The alert a token belongs to; None for anything else (malformed, altered, unknown)."""
    if not _TOKEN_FORMAT.fullmatch(token):
        return None
    return db.session.scalar(select(Alert).where(Alert.reply_token_hash == hash_token(token)))


# -- what the page shows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyPage:
    """The alert as its volunteer may see it. `state` is "pending" while an answer is wanted,
    else what happened: accepted, declined, expired, stood_down, closed or cancelled."""

    alert_id: int
    language: str
    state: str
    code: str
    kind: str
    title: str
    place: str
    distance_km: float
    posted_at: datetime
    drill: bool
    skill_name: str | None
    eta_min: int | None
    # Only once accepted, as the confirmation SMS gives it.
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    # After the accept: accepted | arrived | done | safe (responders.responder_status), since
    # when they arrived and left, and the on-scene buttons the page offers now (SCENE_WORDS).
    scene: str | None = None
    arrived_at: datetime | None = None
    left_at: datetime | None = None
    scene_buttons: tuple[str, ...] = ()


def page(alert: Alert) -> ReplyPage:
    incident = db.session.get(Incident, alert.incident_id)
    volunteer = db.session.get(Volunteer, alert.volunteer_id)
    language = volunteer.language
    need_id = alert.filled_need_id or alert.need_id
    need = db.session.get(Need, need_id) if need_id else None
    state = _state(alert, incident, volunteer)
    accepted = state == "accepted"
    return ReplyPage(
        alert_id=alert.id,
        language=language,
        state=state,
        code=incident.code,
        kind=incident.kind,
        title=incident.title,
        place=alerting.approximate_place(incident),
        distance_km=round(alert.distance_km, 1),
        posted_at=incident.created_at,
        drill=incident.drill,
        skill_name=SkillCatalogue.load().name(need.skill, language) if need and need.skill else None,
        eta_min=alert.eta_min,
        lat=incident.lat if accepted else None,
        lon=incident.lon if accepted else None,
        address=incident.address if accepted else None,
        scene=responders.responder_status(alert) if alert.status == "accepted" else None,
        arrived_at=alert.arrived_at if alert.status == "accepted" else None,
        left_at=alert.left_at if alert.status == "accepted" else None,
        scene_buttons=scene_buttons(alert, incident),
    )


def _state(alert: Alert, incident: Incident, volunteer: Volunteer) -> str:
    if not incident.is_open:
        return incident.status  # closed or cancelled: that matters more than the alert's own end
    if alert.status in PENDING_ALERT_STATUSES:
        return "pending" if volunteer.status == "active" else "expired"
    # A failed SMS was replaced like an unanswered one.
    return {"failed": "expired"}.get(alert.status, alert.status)


# -- answering -----------------------------------------------------------------------------------------


def answer(
    alert_id: int, accept: bool, eta_min: int | None = None, inbound: InboundMessage | None = None
) -> str | None:
    """Accept (with an optional ETA) or decline from the page (or a Telegram button), and commit.

    The outcome of alerting.accept / decline; None when the alert no longer waits for an
    answer (answered on another channel, expired, stood down, the incident ended): then
    nothing changes and nothing is recorded (but `inbound`, the press as the caller stored it).
    """
    alert = db.session.get(Alert, alert_id)
    incident = alerting.lock_incident(alert.incident_id)
    db.session.refresh(alert)
    volunteer = db.session.get(Volunteer, alert.volunteer_id)
    if _state(alert, incident, volunteer) != "pending":
        db.session.commit()
        return None
    actor = f"volunteer:{volunteer.id}"
    word = accept_word(volunteer.language) if accept else decline_word(volunteer.language)
    words = f"{word} {incident.code}"
    # Kept as the SMS that means the same, so the coordinators read it like any other answer.
    if inbound is None:
        inbound = InboundMessage(message_sid=f"link:{alert.id}", channel="link", from_phone=volunteer.phone or "")
        db.session.add(inbound)
    inbound.body = f"{words} {eta_min}" if accept and eta_min else words
    inbound.received_at = utcnow()
    inbound.volunteer_id, inbound.incident_id = volunteer.id, incident.id
    inbound.intent = "accept" if accept else "decline"
    if accept:
        inbound.outcome = alerting.accept(alert.id, eta_min, actor)
    else:
        inbound.outcome = alerting.decline(alert.id, actor)
    db.session.commit()
    return inbound.outcome


# -- on scene: the buttons after an accept ------------------------------------------------------------

# What each button means, as the word an SMS would carry (kept with the inbound texts).
SCENE_WORDS = {
    "arrived": {"en": "ARRIVED", "ru": "ПРИБЫЛ", "kk": "КЕЛДІМ"},
    "done": {"en": "DONE", "ru": "ЗАКОНЧИЛ", "kk": "БІТІРДІМ"},
    "safe": {"en": "SAFE", "ru": "В ПОРЯДКЕ", "kk": "АМАНМЫН"},
    "help": {"en": "HELP", "ru": "ПОМОЩЬ", "kk": "КӨМЕК"},
}
# Outcomes of a press that changed something; any other outcome changed nothing.
SCENE_DONE = ("arrived", "left", "safe", "safe_noted", "help_on_scene")


def scene_buttons(alert: Alert, incident: Incident) -> tuple[str, ...]:
    """The on-scene buttons for the responder's state: ARRIVED before they arrive; DONE, SAFE
    and HELP on scene; SAFE (and HELP while a welfare check waits) after they left."""
    if alert.status != "accepted":
        return ()
    waiting = responders.waiting_for_safe(alert)
    welfare = alert.welfare_due_at is not None or alert.welfare_overdue_at is not None
    if alert.arrived_at is None:
        return ("arrived",) if incident.is_open else ()
    if alert.left_at is None and incident.is_open:
        return ("done", "safe", "help")
    if welfare or (waiting and not incident.is_open):  # the welfare check (or a HELP) waits
        return ("safe", "help")
    unsafe = alert.left_at is not None and (alert.safe_at is None or alert.safe_at < alert.left_at)
    return ("safe",) if waiting or (unsafe and incident.is_open) else ()


def from_scene(alert_id: int, intent: str) -> str:
    """A press of ARRIVED, DONE, SAFE or HELP on the page: the same use cases as the words by
    SMS (dispatch/responders.py), for this call-out alone, kept with the inbound texts, and
    committed. The outcome; one outside SCENE_DONE changed nothing (DONE before ARRIVED...)."""
    alert = db.session.get(Alert, alert_id)
    volunteer = db.session.get(Volunteer, alert.volunteer_id)
    incident = db.session.get(Incident, alert.incident_id)
    actor = f"volunteer:{volunteer.id}"
    word = SCENE_WORDS[intent].get(volunteer.language, SCENE_WORDS[intent]["en"])
    inbound = InboundMessage(
        message_sid=f"link:{alert.id}:{secrets.token_hex(8)}",
        channel="link",
        from_phone=volunteer.phone or "",
        body=f"{word} {incident.code}",
        received_at=utcnow(),
        volunteer_id=volunteer.id,
        incident_id=incident.id,
        intent=intent,
    )
    db.session.add(inbound)
    if intent == "help":
        found = responders.help_from_scene(volunteer, actor, alert_id=alert.id)
        outcome = found[0] if found is not None else "help_not_on_scene"
    else:
        outcome, _incident_id = responders.reply_from_scene(volunteer, intent, incident.code, actor, alert_id=alert.id)
    inbound.outcome = outcome
    db.session.commit()
    return outcome


# -- guessing -------------------------------------------------------------------------------------------


def check_address(address: str | None) -> None:
    """Raise TooManyUnknownLinks while this address is over the limit of unknown tokens."""
    if audit.count_recent(audit.address_actor(address), UNKNOWN_EVENT, UNKNOWN_WINDOW) >= MAX_UNKNOWN_PER_ADDRESS:
        raise TooManyUnknownLinks()


def record_unknown(address: str | None) -> None:
    audit.record(audit.address_actor(address), UNKNOWN_EVENT)
    db.session.commit()
