"""On scene and the register of volunteer activity: responder states set by a coordinator, the
roll call, and the activity records (list, enter, verify or correct)."""

from __future__ import annotations

from datetime import date, datetime

from flask import Response, current_app, request, stream_with_context

from geo.regions import is_region

from .. import activity, activity_exports, incidents, responders, scopes
from ..activity_import import import_activity as import_activity_csv
from ..auth import current_user, require_role
from ..clock import to_utc_naive
from ..errors import ValidationFailed
from ..presenters import activity_json, responders_json
from ..schemas import ActivityIn, ActivityPatch, ResponderStatusIn
from . import bp
from .parsing import csv_body, json_body, query_bool, query_int

FORMATS = ("json", "csv", "xlsx")


@bp.post("/incidents/<id:incident_id>/responders/<id:volunteer_id>")
@require_role("coordinator")
def set_responder_status(incident_id: int, volunteer_id: int):
    data = json_body(ResponderStatusIn)
    responders.set_status(incident_id, volunteer_id, data.status, current_user())
    view = scopes.person_view(current_user(), incidents.get_incident(incident_id))
    found = [r for r in responders_json(incident_id, view=view) if r["volunteer_id"] == volunteer_id]
    return found[0]


@bp.post("/incidents/<id:incident_id>/roll-call")
@require_role("coordinator")
def start_roll_call(incident_id: int):
    return responders.start_roll_call(incident_id, current_user()).as_json(), 201


@bp.get("/incidents/<id:incident_id>/roll-call")
@require_role("viewer")
def get_roll_call(incident_id: int):
    return responders.roll_call(incident_id).as_json()


@bp.get("/activity")
@require_role("viewer")
def list_activity():
    fmt = request.args.get("format") or "json"
    if fmt not in FORMATS:
        raise ValidationFailed(
            "Query parameter format must be json, csv or xlsx.", {"fields": {"format": "json|csv|xlsx"}}
        )
    flt = activity_filter()
    if fmt != "json":
        return _export(flt, fmt)
    rows, total, total_hours = activity.list_activity(flt)
    return {
        "items": [activity_json(*row) for row in rows],
        "total": total,
        "total_hours": total_hours,
        "page": flt.page,
        "per_page": flt.per_page,
    }


def activity_filter() -> activity.ActivityFilter:
    """The register's filters from the query string (the list and its exports alike)."""
    region = request.args.get("region") or None
    if region is not None and not is_region(region):
        raise ValidationFailed(
            "Query parameter region must be an ISO 3166-2 code listed by GET /api/v1/regions.",
            {"fields": {"region": "unknown region"}},
        )
    since, until = _moment("from", end=False), _moment("to", end=True)
    if since is not None and until is not None and until <= since:
        raise ValidationFailed(
            "The period is inverted: from must come before to.", {"fields": {"from": "after to", "to": "before from"}}
        )
    return activity.ActivityFilter(
        volunteer_id=query_int("volunteer_id", 0, 1, 2**31 - 1) or None,
        organization=request.args.get("organization") or None,
        organization_id=query_int("organization_id", 0, 1, 2**31 - 1) or None,
        region=region,
        incident_id=query_int("incident_id", 0, 1, 2**31 - 1) or None,
        since=since,
        until=until,
        page=query_int("page", 1, 1, 1_000_000),
        per_page=query_int("per_page", 100, 1, 1000),
        reader=current_user(),
    )


def _export(flt: activity.ActivityFilter, fmt: str) -> Response:
    """The whole filter (no pages) as a streamed file; refused past the row cap before a byte."""
    total = activity_exports.check_size(flt)
    chunks = activity_exports.csv_chunks(flt) if fmt == "csv" else activity_exports.xlsx_chunks(flt, total)
    response = Response(stream_with_context(chunks), mimetype=activity_exports.MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{activity_exports.filename(flt, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Export-Rows"] = str(total)
    return response


def _moment(name: str, end: bool) -> datetime | None:
    """`from`/`to`: an ISO 8601 date (a whole day in Kazakhstan; `to` includes it) or date-time
    (a zone-less one is UTC)."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return activity.local_day_start(date.fromordinal(day.toordinal() + 1) if end else day)
        return to_utc_naive(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise ValidationFailed(
            f"Query parameter {name} must be a date (2030-01-31) or a date and time (2030-01-31T18:00:00+05:00).",
            {"fields": {name: "not a date"}},
        ) from None


@bp.post("/activity")
@require_role("coordinator")
def record_activity():
    record = activity.record_activity(json_body(ActivityIn), current_user())
    return _one(record.id), 201


@bp.post("/activity/import")
@require_role("coordinator")
def import_activity():
    """Activity outside dispatch from a CSV file: all or nothing (dispatch/activity_import.py)."""
    text = csv_body()
    dry_run = bool(query_bool("dry_run"))
    report = import_activity_csv(text, current_app.config["DEFAULT_PHONE_REGION"], current_user(), dry_run=dry_run)
    return report.as_json(), 200 if dry_run else 201


@bp.get("/activity/<id:activity_id>")
@require_role("viewer")
def get_activity(activity_id: int):
    return _one(activity_id)  # 404 outside the reader's scope


@bp.patch("/activity/<id:activity_id>")
@require_role("coordinator")
def correct_activity(activity_id: int):
    activity.correct_activity(activity_id, json_body(ActivityPatch), current_user())
    return _one(activity_id)


@bp.get("/activity/<id:activity_id>/audit")
@require_role("coordinator")
def activity_audit(activity_id: int):
    return {"items": activity.corrections(activity_id, current_user())}


def _one(activity_id: int) -> dict:
    return activity_json(*activity.activity_row(activity_id, current_user()))
