"""The JSON shapes of volunteers, incidents, alerts and the public status: one place builds each,
for the API and the pages alike."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, select

from . import responders, scopes, standby
from .activity import hours
from .clock import isoformat, quiet_hours_text
from .extensions import db
from .models import ALERT_STATUSES, Activity, Alert, Incident, Need, Organization, OutboxMessage, Volunteer
from .skills import SkillCatalogue
from .volunteers import available_now

# What a reader without the right to personal data (a viewer) sees of volunteers: no phone
# number, homes to 2 decimals (about 1 km, as the public board shows incidents), and distances
# from a known point (an incident) to the whole km, so they do not give the home back either.
COARSE_DIGITS = 2
_KM_AWAY = re.compile(r"(\d+(?:\.\d+)?) km away")


def coarse_coordinate(value: float | None) -> float | None:
    return None if value is None else round(value, COARSE_DIGITS)


def coarse_km(value: float | None) -> float | None:
    return None if value is None else float(round(value))


def coarse_reason(text: str | None) -> str | None:
    """why_chosen with its distance to the whole km."""
    if text is None:
        return None
    return _KM_AWAY.sub(lambda m: f"{round(float(m[1]))} km away", text)


def alert_counts(incident_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, Counter] = {i: Counter() for i in incident_ids}
    if incident_ids:
        rows = db.session.execute(
            select(Alert.incident_id, Alert.status, func.count())
            .where(Alert.incident_id.in_(incident_ids))
            .group_by(Alert.incident_id, Alert.status)
        )
        for incident_id, status, count in rows:
            counts[incident_id][status] = count
    return {i: {status: c[status] for status in ALERT_STATUSES} for i, c in counts.items()}


def needs_json(incident: Incident) -> list[dict]:
    return [{"skill": n.skill, "count": n.count, "filled": n.filled} for n in incident.needs]


def incident_json(
    incident: Incident,
    counts: dict[str, int] | None = None,
    detail: bool = True,
    full: bool = True,
    view: scopes.PersonView | None = None,
) -> dict:
    """`full`: the reader may see volunteers' personal data (coordinators and admins); `view`,
    when given, says whom among its responders the reader may identify (scopes.person_view)."""
    body = {
        "id": incident.id,
        "code": incident.code,
        "kind": incident.kind,
        "title": incident.title,
        "description": incident.description,
        "lat": incident.lat,
        "lon": incident.lon,
        "area": incident.area_geojson,
        "place": incident.place,
        "address": incident.address,
        "region": incident.region,
        "radius_km": incident.radius_km,
        "max_radius_km": incident.max_radius_km,
        "current_radius_km": incident.current_radius_km,
        "severity": incident.severity,
        "exclude_inside_area": incident.exclude_inside_area,
        "drill": incident.drill,
        "status": incident.status,
        "unfilled_reason": incident.unfilled_reason,
        "created_at": isoformat(incident.created_at),
        "ended_at": isoformat(incident.ended_at),
        "expires_at": isoformat(incident.expires_at),
        "meeting_point": incident.meeting_point,
        # From a warning: its sender as stated in the document, not verified.
        "source": incident.source,
        "needs": needs_json(incident),
        "alerts": counts if counts is not None else alert_counts([incident.id])[incident.id],
    }
    if detail:
        body["responders"] = responders_json(incident.id, full, view)
        body["welfare_overdue"] = responders.welfare_overdue_ids(incident.id)
        body["help_requested"] = responders.help_requested_ids(incident.id)
        body["standby_notified"] = standby.notified_count(incident.id)
    return body


def _view(full: bool, view: scopes.PersonView | None) -> scopes.PersonView:
    """No view given: a national reader, who identifies everyone (a viewer without phones)."""
    return view if view is not None else scopes.PersonView(personal=full)


def responders_json(incident_id: int, full: bool = True, view: scopes.PersonView | None = None) -> list[dict]:
    """Those who accepted. A responder the reader may not identify (outside their scope, on an
    incident they do not manage) is shown by id only: no name, distance to the whole km."""
    view = _view(full, view)
    rows = db.session.execute(
        select(Alert, Volunteer.name, Need.skill, Volunteer.region, Volunteer.organization_id)
        .join(Volunteer, Volunteer.id == Alert.volunteer_id)
        .outerjoin(Need, Need.id == Alert.filled_need_id)
        .where(Alert.incident_id == incident_id, Alert.status == "accepted")
        .order_by(Alert.responded_at)
    )
    shown = []
    for a, name, skill, region, organization_id in rows:
        known = view.identifies(region, organization_id, accepted=True)
        exact = known and view.personal
        shown.append(
            {
                "volunteer_id": a.volunteer_id,
                "name": name if known else None,
                "skill": skill,
                "distance_km": a.distance_km if exact else coarse_km(a.distance_km),
                "status": responders.responder_status(a),
                "eta_min": a.eta_min,
                "accepted_at": isoformat(a.responded_at),
                "arrived_at": isoformat(a.arrived_at),
                "left_at": isoformat(a.left_at),
                "safe_at": isoformat(a.safe_at),
                "help_requested": a.help_requested_at is not None,
                "welfare_overdue": a.welfare_overdue_at is not None,
            }
        )
    return shown


def alert_deliveries(incident_id: int) -> dict[int, list[dict]]:
    """Each alert's call-outs, oldest first: {"channel", "provider", "status"} per one handed to a
    provider (attempted at least once)."""
    deliveries: dict[int, list[dict]] = {}
    rows = db.session.execute(
        select(OutboxMessage.alert_id, OutboxMessage.channel, OutboxMessage.provider, OutboxMessage.status)
        .where(OutboxMessage.incident_id == incident_id, OutboxMessage.kind == "alert")
        .order_by(OutboxMessage.id)
    )
    for alert_id, channel, provider, status in rows:
        if provider is None:
            continue  # not attempted yet, or cancelled before its turn
        deliveries.setdefault(alert_id, []).append({"channel": channel, "provider": provider, "status": status})
    return deliveries


def alerts_json(incident_id: int, full: bool = True, view: scopes.PersonView | None = None) -> list[dict]:
    """Every call-out of the incident. A volunteer the reader may not identify (outside their
    scope, and not a responder of an incident they manage) is shown by id only: no name or
    phone, distance to the whole km."""
    view = _view(full, view)
    sms_status = dict(
        db.session.execute(
            select(OutboxMessage.alert_id, OutboxMessage.status)
            .where(
                OutboxMessage.incident_id == incident_id,
                OutboxMessage.kind == "alert",
                OutboxMessage.channel == "sms",
            )
            .order_by(OutboxMessage.id)
        ).all()
    )
    deliveries = alert_deliveries(incident_id)
    # Where each alert's latest call-out went (or waits to go).
    channels = dict(
        db.session.execute(
            select(OutboxMessage.alert_id, OutboxMessage.channel)
            .where(
                OutboxMessage.incident_id == incident_id,
                OutboxMessage.kind == "alert",
                OutboxMessage.status != "cancelled",
            )
            .order_by(OutboxMessage.id)
        ).all()
    )
    rows = db.session.execute(
        select(Alert, Volunteer.name, Volunteer.phone, Volunteer.region, Volunteer.organization_id)
        .join(Volunteer, Volunteer.id == Alert.volunteer_id)
        .where(Alert.incident_id == incident_id)
        .order_by(Alert.wave, Alert.distance_km)
    )
    shown = []
    for a, name, phone, region, organization_id in rows:
        known = view.identifies(region, organization_id, accepted=a.status == "accepted")
        exact = known and view.personal
        shown.append(
            _alert_json(a, name if known else None, phone if exact else None, exact, sms_status, channels, deliveries)
        )
    return shown


def _alert_json(a: Alert, name, phone, exact: bool, sms_status: dict, channels: dict, deliveries: dict) -> dict:
    return {
        "alert_id": a.id,
        "volunteer_id": a.volunteer_id,
        "name": name,
        "phone": phone,
        "status": a.status,
        "wave": a.wave,
        "distance_km": a.distance_km if exact else coarse_km(a.distance_km),
        "why_chosen": a.reason if exact else coarse_reason(a.reason),
        "eta_min": a.eta_min,
        "sms_status": sms_status.get(a.id),
        "channel": channels.get(a.id),
        "deliveries": deliveries.get(a.id, []),
        "created_at": isoformat(a.created_at),
        "sent_at": isoformat(a.sent_at),
        "expires_at": isoformat(a.expires_at),
        "responded_at": isoformat(a.responded_at),
    }


def public_incident_json(incident: Incident, counts: dict[str, int]) -> dict:
    """What anyone may see: nothing a volunteer could be found by, the place to about 1 km."""
    return {
        "id": incident.id,
        "kind": incident.kind,
        "title": incident.title,
        "place": incident.place,
        "approximate_location": {"lat": round(incident.lat, 2), "lon": round(incident.lon, 2)},
        "status": incident.status,
        "severity": incident.severity,
        "drill": incident.drill,
        "created_at": isoformat(incident.created_at),
        "needs": needs_json(incident),
        "alerts": counts,
    }


def volunteer_json(
    volunteer: Volunteer, catalogue: SkillCatalogue, distance_km: float | None = None, full: bool = True
) -> dict:
    """`full`: with the phone number and the exact home (coordinators and admins); otherwise the
    phone is null and the home rounded (see COARSE_DIGITS)."""
    body = {
        "id": volunteer.id,
        "name": volunteer.name,
        "phone": volunteer.phone if full else None,
        "lat": volunteer.lat if full else coarse_coordinate(volunteer.lat),
        "lon": volunteer.lon if full else coarse_coordinate(volunteer.lon),
        "skills": catalogue.codes_of(volunteer.skill_mask),
        "language": volunteer.language,
        "max_distance_km": volunteer.max_distance_km,
        "organization": volunteer.organization_name,
        "organization_id": volunteer.organization_id,
        "region": volunteer.region,
        "status": volunteer.status,
        "available": volunteer.available,
        "available_now": available_now(volunteer),
        "busy_until": isoformat(volunteer.busy_until),
        "phone_problem": volunteer.phone_problem,
        "quiet_hours": quiet_hours_text(volunteer.quiet_from_min, volunteer.quiet_to_min),
        "preferred_channel": volunteer.preferred_channel,
        "telegram_linked": volunteer.telegram_linked,
        "birth_date": volunteer.birth_date.isoformat() if volunteer.birth_date else None,
        "created_at": isoformat(volunteer.created_at),
        "updated_at": isoformat(volunteer.updated_at),
    }
    if distance_km is not None:
        body["distance_km"] = round(distance_km, 3)
    return body


def activity_json(
    record: Activity, name: str | None, kind: str | None, title: str | None, region: str | None = None
) -> dict:
    """One row of the register of volunteer activity (the exports' columns follow these fields:
    dispatch/activity_exports.py)."""
    return {
        "id": record.id,
        "volunteer_id": record.volunteer_id,
        "volunteer_name": name,
        "organization": record.organization,
        "organization_id": record.organization_id,
        "region": region,  # the volunteer's
        "incident_id": record.incident_id,
        "incident": {"kind": kind, "title": title} if record.incident_id is not None else None,
        "activity": record.activity if record.activity is not None else title,
        "skill": record.skill,
        "place": record.place,
        "started_at": isoformat(record.started_at),
        "ended_at": isoformat(record.ended_at),
        "hours": hours(record.duration_s),
        "source": record.source,
        "end_reason": record.end_reason,
        "verified": record.verified,
        "verified_at": isoformat(record.verified_at),
        "corrected_at": isoformat(record.corrected_at),
        "note": record.note,
    }


def organization_json(organization: Organization, volunteers: int | None = None) -> dict:
    body = {
        "id": organization.id,
        "name": organization.name,
        "region": organization.region,
        "phone": organization.phone,
        "email": organization.email,
        "address": organization.address,
        "active": organization.active,
        "created_at": isoformat(organization.created_at),
        "updated_at": isoformat(organization.updated_at),
    }
    if volunteers is not None:
        body["volunteers"] = volunteers
    return body
