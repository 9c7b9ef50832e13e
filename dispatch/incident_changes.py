"""Incidents that change: a coordinator edits a draft or an open incident (PATCH
/api/v1/incidents/{id}, the console's edit form). One transaction, under the incident's row lock
(as accepts take it), so a count lowered while volunteers answer never leaves filled > count.

What follows a change, at once and in the same transaction:
  needs raised or added, radius widened,    the wave logic runs (alerting.run_waves), as when
  severity, area or point changed           posting: new alerts and their SMS, and the status
                                            follows (an unfilled incident may dispatch again)
  a count lowered                           the pending alerts of that need beyond what its
                                            open places still want (alerting.wave_size) are
                                            stood down, newest first; those who got the
                                            call-out are told by SMS
  a need removed (count 0, nothing filled)  its pending alerts are stood down likewise
  the point, the area or the meeting point  accepted responders still there (not left) get a
                                            short SMS with the new place; a title or a
                                            description change texts nobody
Every change is audited (`incident_changed`, before and after of each field that changed).

Radius rules: radius_km <= max_radius_km (a radius above the old maximum raises the maximum
with it). On an open incident the current search radius never shrinks below what was searched
(alerts already sent stay); on a draft it is the radius. Only drafts and open incidents can be
edited (409 INCIDENT_ENDED otherwise); a draft gets its needs when dispatched, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from . import alerting, audit, scopes
from .errors import NotFound, ValidationFailed
from .extensions import db
from .gazetteer import region_for
from .incidents import IncidentEnded
from .models import PENDING_ALERT_STATUSES, Alert, AuditEvent, Incident, Need, User
from .schemas import IncidentPatch
from .skills import SkillCatalogue

# Fields copied as they are; the others have rules below.
_PLAIN = ("title", "description", "severity", "meeting_point")
# Changes that can change who is eligible: the wave logic runs after them.
_MATCHING = {"severity", "radius_km", "max_radius_km", "current_radius_km", "area", "lat", "lon", "needs"}
# Changes the accepted responders are texted about.
_PLACE = {"lat", "lon", "area", "meeting_point"}


@dataclass
class ChangeOutcome:
    incident: Incident
    changes: dict[str, dict] = field(default_factory=dict)  # field -> {"before", "after"}
    alerted: int = 0  # new alerts of the wave that followed
    stood_down: int = 0  # pending alerts stood down because a count went down
    told_new_place: int = 0  # accepted responders texted the new place


def change_incident(incident_id: int, patch: IncidentPatch, by: User | None, place: str | None = None) -> ChangeOutcome:
    """Apply `patch` (only the fields it sets) and what follows from it; commits.

    `place` is the short place name of the patch's new point (geocoded by the caller, outside
    the transaction), or None; it is used only when the point moves."""
    if db.session.get(Incident, incident_id) is None:
        raise NotFound(f"No incident {incident_id}.")
    incident = alerting.lock_incident(incident_id)
    db.session.refresh(incident)  # what was read before the lock may be stale
    scope = scopes.of(by)
    scope.check_incident(incident)
    if incident.status != "draft" and not incident.is_open:
        raise IncidentEnded(f"Incident {incident_id} is already {incident.status}.")
    given = patch.model_fields_set
    actor = f"user:{by.id}" if by is not None else "system"
    needs_after = _checked_needs(incident, patch) if "needs" in given else None
    radius, max_radius = _checked_radii(incident, patch)

    moves = "lat" in given and (patch.lat, patch.lon) != (incident.lat, incident.lon)
    if moves:
        region = region_for(patch.lat, patch.lon, patch.region if "region" in given else None)
    elif "region" in given:
        region = region_for(incident.lat, incident.lon, patch.region)
    else:
        region = incident.region
    scope.check_region(region)  # nor moved out of their scope

    before = _snapshot(incident)
    for name in _PLAIN:
        if name in given:
            setattr(incident, name, getattr(patch, name))
    if "area" in given:
        incident.area_geojson = patch.area
    if moves:
        incident.lat, incident.lon = patch.lat, patch.lon
        incident.place = place
    incident.region = region
    incident.radius_km, incident.max_radius_km = radius, max_radius
    if incident.status == "draft":
        incident.current_radius_km = radius
    else:
        incident.current_radius_km = min(max(incident.current_radius_km, radius), max_radius)
    outcome = ChangeOutcome(incident)
    if needs_after is not None:
        outcome.stood_down = _apply_needs(incident, needs_after, actor)
    after = _snapshot(incident)
    outcome.changes = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if not outcome.changes:
        db.session.commit()
        return outcome
    audit.record(actor, "incident_changed", incident_id=incident.id, details={"changes": outcome.changes})
    if incident.is_open and _PLACE & outcome.changes.keys():
        outcome.told_new_place = _tell_new_place(incident)
    if incident.is_open and _MATCHING & outcome.changes.keys():
        outcome.alerted = alerting.run_waves(incident, actor)
    db.session.commit()
    return outcome


def _snapshot(incident: Incident) -> dict:
    db.session.flush()
    return {
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "meeting_point": incident.meeting_point,
        "area": incident.area_geojson,
        "lat": incident.lat,
        "lon": incident.lon,
        "place": incident.place,
        "region": incident.region,
        "radius_km": incident.radius_km,
        "max_radius_km": incident.max_radius_km,
        "current_radius_km": incident.current_radius_km,
        "needs": {n.skill or "any": n.count for n in _needs(incident)},
    }


def _needs(incident: Incident) -> list[Need]:
    return list(db.session.scalars(select(Need).where(Need.incident_id == incident.id).order_by(Need.id)))


def _checked_radii(incident: Incident, patch: IncidentPatch) -> tuple[float, float]:
    given = patch.model_fields_set
    radius = patch.radius_km if "radius_km" in given else incident.radius_km
    if "max_radius_km" in given:
        max_radius = patch.max_radius_km
    else:
        max_radius = max(incident.max_radius_km, radius)  # a wider radius takes the maximum with it
    if max_radius < radius:
        raise ValidationFailed(
            "max_radius_km must not be smaller than radius_km.", {"fields": {"max_radius_km": "smaller than radius_km"}}
        )
    return radius, max_radius


def _label(skill: str | None) -> str:
    return skill or "any volunteer"


def _checked_needs(incident: Incident, patch: IncidentPatch) -> dict[str | None, int]:
    """{skill: count} after the patch, every rule checked before anything changes."""
    if incident.status == "draft":
        raise ValidationFailed(
            "A draft gets its needs when it is dispatched (POST /api/v1/incidents/{id}/dispatch).",
            {"fields": {"needs": "a draft gets its needs when it is dispatched"}},
        )
    catalogue = SkillCatalogue.load()
    current = {n.skill: n for n in _needs(incident)}
    after = {skill: n.count for skill, n in current.items()}
    for change in patch.needs or []:
        catalogue.bit(change.skill, "needs")
        need = current.get(change.skill)
        if need is None and change.count == 0:
            problem = f"{_label(change.skill)} is not a need of this incident"
            raise ValidationFailed(f"needs: {problem}.", {"fields": {"needs": problem}, "need": change.skill})
        if need is not None and change.count < need.filled:
            problem = f"{_label(change.skill)}: {need.filled} filled, the count cannot go below that"
            raise ValidationFailed(
                f"needs: {problem}.", {"fields": {"needs": problem}, "need": change.skill, "filled": need.filled}
            )
        after[change.skill] = change.count
    if not any(after.values()):
        problem = "an incident keeps at least one need; close or cancel it instead"
        raise ValidationFailed(f"needs: {problem}.", {"fields": {"needs": problem}})
    return after


def _apply_needs(incident: Incident, after: dict[str | None, int], actor: str) -> int:
    """Counts set, needs added and removed; the pending alerts a lower count no longer wants are
    stood down (newest first). Returns how many were stood down."""
    current = {n.skill: n for n in _needs(incident)}
    stood_down = 0
    for skill, count in after.items():
        need = current.get(skill)
        if need is None:
            db.session.add(Need(incident_id=incident.id, skill=skill, count=count, filled=0))
            continue
        if count >= need.count:
            need.count = count
            continue
        pending = list(
            db.session.scalars(
                select(Alert)
                .where(Alert.need_id == need.id, Alert.status.in_(PENDING_ALERT_STATUSES))
                .order_by(Alert.wave.desc(), Alert.distance_km.desc(), Alert.id.desc())
            )
        )
        keep = alerting.wave_size(count - need.filled) if count > need.filled else 0
        extra = pending[: max(len(pending) - keep, 0)]
        alerting.stand_down(incident, extra, "stand_down", actor)
        stood_down += len(extra)
        if count == 0:
            # The alerts called for it stay in the history, without it.
            db.session.execute(
                update(Alert)
                .where(Alert.need_id == need.id)
                .values(need_id=None)
                .execution_options(synchronize_session="fetch")
            )
            db.session.flush()
            db.session.delete(need)
        else:
            need.count = count
    db.session.flush()
    db.session.expire(incident, ["needs"])
    return stood_down


def _tell_new_place(incident: Incident) -> int:
    """Accepted responders not yet gone from the scene get the new place and meeting point."""
    volunteer_ids = list(
        db.session.scalars(
            select(Alert.volunteer_id).where(
                Alert.incident_id == incident.id, Alert.status == "accepted", Alert.left_at.is_(None)
            )
        )
    )
    for volunteer_id in volunteer_ids:
        alerting.tell(
            volunteer_id,
            incident,
            "place_changed",
            title=incident.title,
            lat=incident.lat,
            lon=incident.lon,
            meeting_point=incident.meeting_point,
        )
    return len(volunteer_ids)


def change_history(incident_id: int, limit: int = 50) -> list[dict]:
    """The incident's `incident_changed` audit events, newest first: {"at", "actor", "changes"}."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident_id, AuditEvent.event == "incident_changed")
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [{"at": e.at, "actor": e.actor, "changes": (e.details or {}).get("changes", {})} for e in events]
