"""Use cases on warnings in (CAP 1.2): a document becomes draft incidents, updates them or
cancels them; drafts are dispatched with needs (alerting starts) or dismissed; incidents from
warnings close when the warning expires.

What a CAP field becomes (API.md, "Incidents from warnings"; README "Warnings (CAP)"):

| CAP | incident |
| --- | --- |
| event names a flood (flood, паводок, наводнение, тасқын...) | kind `flood` |
| event names an earthquake (earthquake, землетрясение, жер сілкінісі...) | kind `earthquake` |
| category `Fire`, or event names a fire (fire, пожар, өрт) | kind `fire` |
| category `Met` and event names a storm (storm, wind, gale, blizzard, шторм, буря, дауыл...) | kind `storm` |
| category `Rescue` | kind `search_rescue` |
| anything else | kind `other` |
| severity Extreme / Severe / Moderate / Minor / Unknown | extreme / severe / moderate / minor / severe |
| status Exercise or Test | `drill: true` |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import cap
from geo import Area, GeoError, cap_area

from . import alerting, audit, incidents, scopes
from .clock import to_utc_naive, utcnow
from .errors import DispatchError, ValidationFailed
from .extensions import db
from .gazetteer import region_for
from .models import OPEN_INCIDENT_STATUSES, CapMessage, Incident, Need, User
from .schemas import DispatchIn
from .skills import SkillCatalogue

LANGUAGES = ("kk", "ru", "en")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
TITLE_CHARS, DESCRIPTION_CHARS, PLACE_CHARS = 200, 2000, 120

_WORDS = {
    "flood": ("flood", "паводок", "паводк", "наводнен", "половод", "подтоплен", "тасқын", "су басу"),
    "earthquake": ("earthquake", "quake", "seismic", "землетрясен", "сейсм", "жер сілкін"),
    "fire": ("fire", "пожар", "өрт"),
    "storm": (
        "storm", "thunder", "wind", "gale", "gust", "blizzard", "hurricane", "typhoon", "cyclone", "tornado",
        "squall", "шторм", "буря", "бури", "ветер", "ветр", "ураган", "метел", "буран", "дауыл", "боран", "жел",
    ),
}  # fmt: skip
SEVERITY = {"Extreme": "extreme", "Severe": "severe", "Moderate": "moderate", "Minor": "minor", "Unknown": "severe"}


class InvalidCap(DispatchError):
    status, code, message = 400, "INVALID_CAP", "The document is not a valid CAP 1.2 alert."


class NotDraft(DispatchError):
    status, code, message = 409, "INCIDENT_NOT_DRAFT", "Only a draft incident can be dispatched."


@dataclass
class Outcome:
    """What a document did: the incidents it created or changed (changed=True), or those it
    names when it changed nothing (a repeat, an expired alert)."""

    changed: bool
    incidents: list[Incident] = field(default_factory=list)


def kind_of(info: cap.Info) -> str:
    event = info.event.lower()
    if _names(event, "flood"):
        return "flood"
    if _names(event, "earthquake"):
        return "earthquake"
    if "Fire" in info.categories or _names(event, "fire"):
        return "fire"
    if "Met" in info.categories and _names(event, "storm"):
        return "storm"
    if "Rescue" in info.categories:
        return "search_rescue"
    return "other"


def _names(event: str, kind: str) -> bool:
    return any(word in event for word in _WORDS[kind])


class _Raced(Exception):
    """The same message was committed by another request a moment ago."""


def ingest(data: bytes, by: User | None) -> Outcome:
    """A CAP document, posted or polled: one transaction, committed here."""
    try:
        alert = cap.parse_alert(data)
    except cap.CapError as exc:
        raise InvalidCap(f"Invalid CAP: {exc}.") from None
    try:
        return _ingest(alert, by)
    except _Raced:
        seen = _seen(alert.sender, alert.identifier)
        return Outcome(False, _incidents_of([seen] if seen else []))


def _ingest(alert: cap.Alert, by: User | None) -> Outcome:
    actor = f"user:{by.id}" if by else "cap"
    seen = _seen(alert.sender, alert.identifier)
    if seen is not None and seen.msg_type is not None:
        return Outcome(False, _incidents_of([seen]))  # the same message again
    if alert.status in ("System", "Draft") or alert.msg_type in ("Ack", "Error"):
        _remember(alert, seen, None)  # not a warning to the public: nothing to do
        return Outcome(False)
    if alert.msg_type == "Cancel":
        _check_scope(by, _referenced(alert), None)
        return _cancel(alert, seen, by, actor)
    if seen is not None and seen.cancelled:
        _remember(alert, seen, None)  # its Cancel came first
        return Outcome(False)
    info = cap.choose_info(alert, LANGUAGES)
    if info is None:
        raise InvalidCap(f"Invalid CAP: the {alert.msg_type} has no <info> block.")
    targets = _referenced(alert) if alert.msg_type == "Update" else []
    _check_scope(by, targets, info)
    if targets:
        return _update(alert, seen, info, targets, actor)
    return _create(alert, seen, info, actor)


def _check_scope(by: User | None, targets: list[Incident], info: cap.Info | None) -> None:
    """Before anything is written: a scoped user's document may only create or change incidents
    in their scope (the region of its area, and of every incident it changes); 403 otherwise."""
    scope = scopes.of(by)
    if scope.national:
        return
    for incident in targets:
        scope.check_incident(incident)
    if info is not None:
        point = _area(info).representative_point
        scope.check_region(region_for(point.lat, point.lon))


def _create(alert: cap.Alert, seen: CapMessage | None, info: cap.Info, actor: str) -> Outcome:
    expires_at = to_utc_naive(info.expires) if info.expires else None
    if expires_at is not None and expires_at <= utcnow():
        _remember(alert, seen, None)
        return Outcome(False)
    area = _area(info)
    point = area.representative_point
    incident = Incident(
        code="",  # a reply code is drawn when the draft is dispatched
        kind=kind_of(info),
        lat=point.lat,
        lon=point.lon,
        area_geojson=area.to_geojson(),
        radius_km=incidents.DEFAULT_RADIUS_KM,
        max_radius_km=incidents.DEFAULT_MAX_RADIUS_KM,
        current_radius_km=incidents.DEFAULT_RADIUS_KM,
        region=region_for(point.lat, point.lon),
        drill=alert.is_exercise,
        status="draft",
        source={"type": "cap", "sender": alert.sender, "identifier": alert.identifier, "sent": alert.sent_text},
    )
    _apply(incident, info, area, expires_at)
    db.session.add(incident)
    db.session.flush()
    audit.record(actor, "incident_drafted", incident_id=incident.id, details=incident.source)
    _remember(alert, seen, incident.id)
    return Outcome(True, [incident])


def _update(alert: cap.Alert, seen: CapMessage | None, info: cap.Info, targets: list[Incident], actor: str) -> Outcome:
    area = _area(info)
    expires_at = to_utc_naive(info.expires) if info.expires else None
    changed = []
    for target in targets:
        incident = alerting.lock_incident(target.id)
        if incident.status != "draft" and not incident.is_open:
            continue  # an ended incident stays as it ended
        _apply(incident, info, area, expires_at)
        if incident.status == "draft":
            point = area.representative_point
            incident.lat, incident.lon, incident.kind = point.lat, point.lon, kind_of(info)
            incident.region = region_for(point.lat, point.lon)
        audit.record(
            actor, "incident_updated_by_cap", incident_id=incident.id, details={"identifier": alert.identifier}
        )
        changed.append(incident)
    _remember(alert, seen, targets[0].id)
    return Outcome(bool(changed), changed or targets)


def _cancel(alert: cap.Alert, seen: CapMessage | None, by: User | None, actor: str) -> Outcome:
    cancelled: list[Incident] = []
    for reference in alert.references:
        earlier = _seen(reference.sender, reference.identifier)
        if earlier is None:
            # The Cancel came first: remember it, so the late Alert opens nothing.
            db.session.add(
                CapMessage(
                    sender=reference.sender[:255],
                    identifier=reference.identifier[:255],
                    sent=reference.sent[:40],
                    msg_type=None,
                    cancelled=True,
                )
            )
            continue
        earlier.cancelled = True
        incident = db.session.get(Incident, earlier.incident_id) if earlier.incident_id else None
        if incident is not None and (incident.status == "draft" or incident.is_open):
            cancelled.append(incident)
    _remember(alert, seen, cancelled[0].id if cancelled else None)
    db.session.flush()
    ended = []
    for incident in cancelled:
        # Commits; volunteers already called are told (as a coordinator's cancel).
        ended.append(incidents.end_incident(incident.id, "cancelled", by, actor=actor))
    return Outcome(bool(ended), ended)


def _apply(incident: Incident, info: cap.Info, area: Area, expires_at) -> None:
    incident.title = _line(info.headline or info.event, TITLE_CHARS) or "CAP"
    parts = [p for p in (info.description, info.instruction) if p]
    incident.description = _text("\n\n".join(parts), DESCRIPTION_CHARS) or None
    incident.place = _line("; ".join(a.description for a in info.areas), PLACE_CHARS) or None
    incident.area_geojson = area.to_geojson()
    incident.severity = SEVERITY[info.severity]
    incident.expires_at = expires_at


def _area(info: cap.Info) -> Area:
    circles = [(c.lat, c.lon, c.radius_km) for c in info.circles]
    if not info.polygons and not circles:
        raise InvalidCap(
            "The warning has no <polygon> or <circle> in its chosen <info> (geocodes alone are not resolved)."
        )
    try:
        return cap_area(info.polygons, circles)
    except GeoError as exc:
        raise InvalidCap(f"Invalid CAP area: {exc}.") from None


def _line(text: str | None, limit: int) -> str:
    text = " ".join(_CONTROL.sub(" ", text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(text: str, limit: int) -> str:
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _seen(sender: str, identifier: str) -> CapMessage | None:
    return db.session.scalar(select(CapMessage).where(CapMessage.sender == sender, CapMessage.identifier == identifier))


def _referenced(alert: cap.Alert) -> list[Incident]:
    found: dict[int, Incident] = {}
    for reference in alert.references:
        earlier = _seen(reference.sender, reference.identifier)
        if earlier is not None and earlier.incident_id is not None:
            incident = db.session.get(Incident, earlier.incident_id)
            if incident is not None:
                found[incident.id] = incident
    return list(found.values())


def _incidents_of(messages: list[CapMessage]) -> list[Incident]:
    ids = [m.incident_id for m in messages if m.incident_id is not None]
    return [db.session.get(Incident, i) for i in ids]


def _remember(alert: cap.Alert, seen: CapMessage | None, incident_id: int | None) -> None:
    """Record the message as seen and commit; a twin committed first makes this a repeat."""
    if seen is None:
        seen = CapMessage(sender=alert.sender, identifier=alert.identifier, sent=alert.sent_text[:40])
        db.session.add(seen)
    seen.msg_type = alert.msg_type
    seen.incident_id = incident_id
    try:
        db.session.commit()
    except IntegrityError:
        # The same document, posted twice at once: the first one's transaction won.
        db.session.rollback()
        raise _Raced() from None


def dispatch_draft(incident_id: int, data: DispatchIn, by: User) -> Incident:
    """A draft becomes a dispatching incident with needs; its first wave goes as for a posted one."""
    incidents.get_incident(incident_id)
    incident = alerting.lock_incident(incident_id)
    scopes.of(by).check_incident(incident)
    if incident.status != "draft":
        raise NotDraft(f"Incident {incident_id} is {incident.status}, not a draft.")
    catalogue = SkillCatalogue.load()
    needs = incidents.merge_needs(data.needs, catalogue)
    # A radius set on the draft (PATCH, for its standby notices) stands unless the dispatch gives one.
    radius = data.radius_km or incident.radius_km
    max_radius = data.max_radius_km or max(radius, incident.max_radius_km)
    if max_radius < radius:
        raise ValidationFailed(
            "max_radius_km must not be smaller than radius_km.", {"fields": {"max_radius_km": "smaller than radius_km"}}
        )
    for _attempt in range(5):
        try:
            with db.session.begin_nested():
                incident.code = incidents.free_code()
                incident.status = "dispatching"
            break
        except IntegrityError:
            continue  # another incident took the code a moment ago: draw again
    else:
        raise DispatchError("Could not allocate a reply code; try again.")
    incident.radius_km, incident.max_radius_km, incident.current_radius_km = radius, max_radius, radius
    for skill, count in needs.items():
        db.session.add(Need(incident_id=incident.id, skill=skill, count=count, filled=0))
    db.session.flush()
    db.session.refresh(incident)
    actor = f"user:{by.id}"
    audit.record(
        actor,
        "incident_dispatched",
        incident_id=incident.id,
        details={"needs": {k or "any": v for k, v in needs.items()}},
    )
    alerting.run_waves(incident, actor)
    db.session.commit()
    return incident


def close_expired(now=None) -> int:
    """Incidents from warnings whose warning expired: drafts and open ones are closed."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Incident.id).where(
            Incident.expires_at.is_not(None),
            Incident.expires_at <= now,
            Incident.status.in_((*OPEN_INCIDENT_STATUSES, "draft")),
        )
    ).all()
    closed = 0
    for incident_id in due:
        try:
            incidents.end_incident(incident_id, "closed", None, actor="cap-expiry")
            closed += 1
        except incidents.IncidentEnded:
            db.session.rollback()  # a coordinator ended it a moment ago
    return closed


def drafts() -> list[Incident]:
    return list(db.session.scalars(select(Incident).where(Incident.status == "draft").order_by(Incident.id.desc())))
