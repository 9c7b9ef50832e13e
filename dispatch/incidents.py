"""Use cases on incidents: report (alerting starts at once), close, cancel, broadcast, manual alert."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from geo import Point, geodesic_km
from notifications.texts import render

from . import alerting, audit, responders, scopes
from .clock import utcnow
from .errors import DispatchError, NotFound, ValidationFailed
from .extensions import db
from .gazetteer import region_for
from .matching import Candidate, is_minor
from .models import OPEN_INCIDENT_STATUSES, PENDING_ALERT_STATUSES, Alert, Incident, Need, User, Volunteer
from .outbox import enqueue
from .schemas import IncidentIn, NeedIn
from .skills import SkillCatalogue

DEFAULT_RADIUS_KM = 10.0
DEFAULT_MAX_RADIUS_KM = 50.0


class IncidentEnded(DispatchError):
    status, code, message = 409, "INCIDENT_ENDED", "The incident is closed or cancelled."


@dataclass
class Placement:
    """Where an incident is, once validated and (optionally) geocoded."""

    lat: float
    lon: float
    place: str | None = None
    address: str | None = None


def report_incident(data: IncidentIn, placement: Placement, reported_by: User | None) -> Incident:
    """Stores the incident and its first wave in one transaction."""
    catalogue = SkillCatalogue.load()
    needs = merge_needs(data.needs, catalogue)
    radius = data.radius_km or DEFAULT_RADIUS_KM
    max_radius = data.max_radius_km or max(radius, DEFAULT_MAX_RADIUS_KM)
    if max_radius < radius:
        raise ValidationFailed(
            "max_radius_km must not be smaller than radius_km.", {"fields": {"max_radius_km": "smaller than radius_km"}}
        )
    actor = f"user:{reported_by.id}" if reported_by else "system"
    region = region_for(placement.lat, placement.lon, data.region)
    scopes.of(reported_by).check_region(region)
    for _attempt in range(5):
        incident = Incident(
            code=free_code(),
            kind=data.kind,
            title=data.title,
            description=data.description,
            lat=placement.lat,
            lon=placement.lon,
            place=placement.place,
            address=placement.address,
            region=region,
            area_geojson=data.area,
            radius_km=radius,
            max_radius_km=max_radius,
            current_radius_km=radius,
            severity=data.severity,
            exclude_inside_area=data.exclude_inside_area,
            drill=data.drill,
            status="dispatching",
            reported_by_id=reported_by.id if reported_by else None,
        )
        db.session.add(incident)
        try:
            db.session.flush()
            break
        except IntegrityError:
            # Another worker took the same reply code a moment ago: draw again.
            db.session.rollback()
    else:
        raise DispatchError("Could not allocate a reply code; try again.")
    for skill, count in needs.items():
        db.session.add(Need(incident_id=incident.id, skill=skill, count=count, filled=0))
    db.session.flush()
    db.session.refresh(incident)
    audit.record(
        actor,
        "incident_reported",
        incident_id=incident.id,
        details={"needs": {k or "any": v for k, v in needs.items()}, "drill": incident.drill},
    )
    alerting.run_waves(incident, actor)
    db.session.commit()
    return incident


def merge_needs(needs: list[NeedIn], catalogue: SkillCatalogue) -> dict[str | None, int]:
    """{skill or None: count}, one entry per skill (the report and its preview read needs alike);
    a skill not in the catalogue is an UnknownSkill on `needs`."""
    merged: dict[str | None, int] = {}
    for need in needs:
        catalogue.bit(need.skill, "needs")
        merged[need.skill] = merged.get(need.skill, 0) + need.count
    return merged


def free_code() -> str:
    """A three-digit reply code no open incident uses (four digits if all 900 are taken)."""
    taken = set(db.session.scalars(select(Incident.code).where(Incident.status.in_(OPEN_INCIDENT_STATUSES))))
    for digits in (3, 4):
        free = [str(n) for n in range(10 ** (digits - 1), 10**digits) if str(n) not in taken]
        if free:
            return random.choice(free)
    raise DispatchError("No free reply code.")


def get_incident(incident_id: int) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id}.")
    return incident


def list_incidents(status: str | None = None, limit: int = 200, region: str | None = None) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if region is not None:
        query = query.where(Incident.region == region)
    if status == "open":
        query = query.where(Incident.status.in_(OPEN_INCIDENT_STATUSES))
    elif status is not None:
        query = query.where(Incident.status == status)
    return list(db.session.scalars(query))


def end_incident(incident_id: int, how: str, by: User | None, actor: str | None = None) -> Incident:
    """Close (`closed`) or cancel (`cancelled`): alerting stops, accepted and pending are told.
    A draft (from a warning) ends the same way: cancelling it is dismissing it."""
    incident = alerting.lock_incident(_existing(incident_id))
    scopes.of(by).check_incident(incident)
    if not incident.is_open and incident.status != "draft":
        raise IncidentEnded(f"Incident {incident_id} is already {incident.status}.")
    actor = f"user:{by.id}" if by is not None else (actor or "system")
    accepted = db.session.scalars(select(Alert).where(Alert.incident_id == incident.id, Alert.status == "accepted"))
    for alert in accepted:
        alerting.tell(alert.volunteer_id, incident, how)
    alerting.stand_down_pending(incident, how, actor)
    incident.status, incident.ended_at = how, utcnow()
    responders.incident_ended(incident, incident.ended_at)
    audit.record(actor, f"incident_{how}", incident_id=incident.id)
    db.session.commit()
    return incident


def broadcast(incident_id: int, body: str, to: str, by: User) -> int:
    """A coordinator's message to accepted, pending or all volunteers of an open incident."""
    incident = alerting.lock_incident(_existing(incident_id))
    scopes.of(by).check_incident(incident)
    if not incident.is_open:
        raise IncidentEnded()
    statuses = {
        "accepted": ("accepted",),
        "pending": PENDING_ALERT_STATUSES,
        "all": ("accepted", *PENDING_ALERT_STATUSES),
    }[to]
    sent = 0
    for alert in db.session.scalars(select(Alert).where(Alert.incident_id == incident.id, Alert.status.in_(statuses))):
        volunteer = db.session.get(Volunteer, alert.volunteer_id)
        text = render("broadcast", volunteer.language, code=incident.code, body=body, drill=incident.drill)
        if enqueue(volunteer, "broadcast", text, incident_id=incident.id, alert_id=alert.id):
            sent += 1
    audit.record(f"user:{by.id}", "broadcast", incident_id=incident.id, details={"to": to, "recipients": sent})
    db.session.commit()
    return sent


def alert_chosen(incident_id: int, volunteer_ids: list[int], by: User) -> list[Alert]:
    """A coordinator picks volunteers by hand: they skip distance and fatigue rules, never an opt-out.
    By hand only from their own registry: a volunteer outside their scope is as unknown as a
    missing one (the automatic waves ignore borders)."""
    incident = alerting.lock_incident(_existing(incident_id))
    scope = scopes.of(by)
    scope.check_incident(incident)
    if not incident.is_open:
        raise IncidentEnded()
    catalogue = SkillCatalogue.load()
    already = set(db.session.scalars(select(Alert.volunteer_id).where(Alert.incident_id == incident.id)))
    created = []
    wave = alerting.next_wave(incident.id)
    for volunteer_id in dict.fromkeys(volunteer_ids):
        volunteer = db.session.get(Volunteer, volunteer_id)
        if (
            volunteer is None
            or volunteer.phone is None
            or volunteer.lat is None
            or not scope.holds_volunteer(volunteer)
        ):
            raise ValidationFailed(
                f"No volunteer {volunteer_id} to alert.", {"fields": {"volunteer_ids": volunteer_id}}
            )
        if volunteer.status != "active":
            raise ValidationFailed(
                f"Volunteer {volunteer_id} is {volunteer.status}; they cannot be alerted.",
                {"fields": {"volunteer_ids": volunteer_id}},
            )
        if is_minor(volunteer.birth_date, utcnow()):
            raise ValidationFailed(
                f"Volunteer {volunteer_id} is under 18; the law bars minors from emergency response.",
                {"fields": {"volunteer_ids": volunteer_id}},
            )
        if volunteer_id in already:
            continue
        need = alerting.need_to_fill(incident, volunteer) or incident.needs[0]
        distance = geodesic_km(Point(incident.lat, incident.lon), Point(volunteer.lat, volunteer.lon))
        candidate = Candidate(
            volunteer.id, distance, volunteer.skill_mask, f"chosen by coordinator, {distance:.1f} km away"
        )
        created.append(alerting.create_alert(incident, need, candidate, wave, catalogue, utcnow()))
    audit.record(f"user:{by.id}", "manual_alert", incident_id=incident.id, details={"volunteer_ids": volunteer_ids})
    db.session.commit()
    return created


def _existing(incident_id: int) -> int:
    get_incident(incident_id)
    return incident_id
