"""Incident routes: report, list, detail, alerts, close, cancel, broadcast, manual alert, audit."""

from __future__ import annotations

from geo.regions import REGIONS

from .. import audit, geocoding, incident_changes, incidents, scopes, standby, volunteers
from ..auth import actor, current_user, require_role
from ..models import INCIDENT_STATUSES
from ..presenters import alert_counts, alerts_json, incident_json, public_incident_json
from ..schemas import BroadcastIn, IncidentIn, IncidentPatch, ManualAlertIn
from . import bp
from .parsing import json_body, query_choice


@bp.post("/incidents")
@require_role("coordinator")
def create_incident():
    data = json_body(IncidentIn)
    point, place = geocoding.resolve(data.lat, data.lon, data.address)
    placement = incidents.Placement(point.lat, point.lon, place, data.address)
    incident = incidents.report_incident(data, placement, reported_by=current_user())
    return incident_json(incident), 201


@bp.get("/incidents")
@require_role("viewer")
def list_incidents():
    status = query_choice("status", ("open", *INCIDENT_STATUSES))
    found = incidents.list_incidents(status, region=query_choice("region", tuple(REGIONS)))
    counts = alert_counts([i.id for i in found])
    return {"items": [incident_json(i, counts[i.id], detail=False) for i in found]}


@bp.get("/incidents/<id:incident_id>")
@require_role("viewer")
def get_incident(incident_id: int):
    incident = incidents.get_incident(incident_id)
    return incident_json(incident, view=scopes.person_view(current_user(), incident))


@bp.patch("/incidents/<id:incident_id>")
@require_role("coordinator")
def change_incident(incident_id: int):
    data = json_body(IncidentPatch)
    place = geocoding.resolve(data.lat, data.lon, None)[1] if data.lat is not None else None
    return incident_json(incident_changes.change_incident(incident_id, data, current_user(), place).incident)


@bp.post("/incidents/<id:incident_id>/standby")
@require_role("coordinator")
def standby_notices(incident_id: int):
    outcome = standby.notify_standby(incident_id, current_user())
    return {
        "notified": outcome.notified,
        "already": outcome.already,
        "skipped_quiet_hours": outcome.skipped_quiet_hours,
        "remaining": outcome.remaining,
    }


@bp.get("/incidents/<id:incident_id>/alerts")
@require_role("viewer")
def incident_alerts(incident_id: int):
    incident = incidents.get_incident(incident_id)
    items = alerts_json(incident_id, view=scopes.person_view(current_user(), incident))
    # Names with phone numbers: read for this incident (a viewer's have none).
    volunteers.note_read(actor(), f"incident:{incident_id}", count=sum(1 for i in items if i["phone"]))
    return {"items": items}


@bp.get("/incidents/<id:incident_id>/audit")
@require_role("coordinator")
def incident_audit(incident_id: int):
    incidents.get_incident(incident_id)
    return {"items": audit.incident_trail(incident_id)}


@bp.post("/incidents/<id:incident_id>/close")
@require_role("coordinator")
def close_incident(incident_id: int):
    return incident_json(incidents.end_incident(incident_id, "closed", current_user()))


@bp.post("/incidents/<id:incident_id>/cancel")
@require_role("coordinator")
def cancel_incident(incident_id: int):
    return incident_json(incidents.end_incident(incident_id, "cancelled", current_user()))


@bp.post("/incidents/<id:incident_id>/messages")
@require_role("coordinator")
def broadcast(incident_id: int):
    data = json_body(BroadcastIn)
    return {"queued": incidents.broadcast(incident_id, data.body, data.to, current_user())}


@bp.post("/incidents/<id:incident_id>/alerts")
@require_role("coordinator")
def manual_alert(incident_id: int):
    data = json_body(ManualAlertIn)
    created = incidents.alert_chosen(incident_id, data.volunteer_ids, current_user())
    return {"alerted": [a.volunteer_id for a in created]}, 201


@bp.get("/status")
def public_status():
    open_incidents = incidents.list_incidents("open")
    counts = alert_counts([i.id for i in open_incidents])
    return {"incidents": [public_incident_json(i, counts[i.id]) for i in open_incidents]}
