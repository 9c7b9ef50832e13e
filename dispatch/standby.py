"""Standby notices: before an emergency (a warning, usually still a draft) or while one is under
way, the available volunteers inside the incident's area, and near it (within its radius_km of
the area, or of the point when it has none), are told to be ready. No answer is expected, and
the SMS says so.

Rules: who may be texted and is available now (matching.reachable: active, a working number,
not busy, not a minor, within their own max distance); quiet hours are respected unless the
severity is `extreme`; a volunteer is told at most once per incident (a standby_notices row,
unique per incident and volunteer; one already called out for the incident counts as told).
Someone skipped for quiet hours gets no row, so a later call can reach them.

Bounded: one call enqueues at most MAX_NOTICES_PER_CALL SMS, nearest first, and answers how
many it left (`remaining`); calling again goes on with the next ones, since those told are
never told again. A cap per call rather than batches by a scheduler job: the coordinator sees
at once what was done and decides on more, and nothing keeps texting a warning's area in the
background after they have moved on. The notices go through the outbox at priority 2, behind
every call-out, confirmation and stand-down (outbox.PRIORITY).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select

from geo import Point, parse_geojson_area
from notifications.texts import render

from . import alerting, audit, matching, scopes
from .clock import utcnow
from .errors import NotFound
from .extensions import db
from .incidents import IncidentEnded
from .models import Alert, Incident, StandbyNotice, User, Volunteer
from .outbox import enqueue

# About 8 minutes of sending at 10 SMS a second, and a few seconds of work in one request.
MAX_NOTICES_PER_CALL = 5_000
_CHUNK = 500


@dataclass(frozen=True)
class StandbyOutcome:
    notified: int  # told now
    already: int  # told before, or already called out for this incident
    skipped_quiet_hours: int  # in their quiet hours now (not for `extreme`): not told, not recorded
    remaining: int  # eligible, but beyond this call's cap: call again


def notify_standby(
    incident_id: int, by: User | None, limit: int = MAX_NOTICES_PER_CALL, now: datetime | None = None
) -> StandbyOutcome:
    """Tell the volunteers in and near a draft's or an open incident's area to be ready; commits."""
    if db.session.get(Incident, incident_id) is None:
        raise NotFound(f"No incident {incident_id}.")
    incident = alerting.lock_incident(incident_id)  # one standby call per incident at a time
    db.session.refresh(incident)
    scopes.of(by).check_incident(incident)
    if incident.status != "draft" and not incident.is_open:
        raise IncidentEnded(f"Incident {incident_id} is already {incident.status}.")
    now = now or utcnow()
    search = matching.Search(
        point=Point(incident.lat, incident.lon),
        radius_km=incident.radius_km,
        area=parse_geojson_area(incident.area_geojson) if incident.area_geojson else None,
        severity=incident.severity,
        incident_id=incident.id,
    )
    told = set(db.session.scalars(select(StandbyNotice.volunteer_id).where(StandbyNotice.incident_id == incident.id)))
    told |= set(db.session.scalars(select(Alert.volunteer_id).where(Alert.incident_id == incident.id)))
    quiet_hours_apply = incident.severity != "extreme"
    chosen: list[tuple[int, float]] = []
    already = skipped = remaining = 0
    for volunteer_id, distance_km, quiet in matching.reachable(search, now):
        if volunteer_id in told:
            already += 1
        elif quiet and quiet_hours_apply:
            skipped += 1
        elif len(chosen) < limit:
            chosen.append((volunteer_id, distance_km))
        else:
            remaining += 1
    texts: dict[str, str] = {}
    for start in range(0, len(chosen), _CHUNK):
        part = dict(chosen[start : start + _CHUNK])
        for volunteer in db.session.scalars(select(Volunteer).where(Volunteer.id.in_(list(part)))):
            if volunteer.language not in texts:
                texts[volunteer.language] = render(
                    "standby_notice",
                    volunteer.language,
                    kind=incident.kind,
                    title=incident.title,
                    place=alerting.approximate_place(incident),
                    drill=incident.drill,
                )
            enqueue(volunteer, "standby_notice", texts[volunteer.language], incident_id=incident.id)
            db.session.add(
                StandbyNotice(
                    incident_id=incident.id, volunteer_id=volunteer.id, distance_km=round(part[volunteer.id], 3)
                )
            )
    outcome = StandbyOutcome(len(chosen), already, skipped, remaining)
    audit.record(
        f"user:{by.id}" if by is not None else "system",
        "standby_notified",
        incident_id=incident.id,
        details={**asdict(outcome), "radius_km": incident.radius_km},
    )
    db.session.commit()
    return outcome


def notified_count(incident_id: int) -> int:
    """How many volunteers have been told to stand by for the incident."""
    return db.session.scalar(
        select(func.count()).select_from(StandbyNotice).where(StandbyNotice.incident_id == incident_id)
    )
