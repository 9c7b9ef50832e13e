"""The console's "edit an incident" form read into IncidentPatch (dispatch/schemas.py), the model
PATCH /api/v1/incidents/{id} reads too. The form shows every field with its current value; only
the fields whose value differs are sent, so an untouched field is never "changed"."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from ..models import Incident
from ..schemas import IncidentPatch
from .i18n import field_errors
from .incident_form import _geometry

NEW_NEED_ROWS = 2
COUNT = re.compile(r"[0-9]{1,6}")
NUMBERS = ("lat", "lon", "radius_km", "max_radius_km")
TEXTS = ("title", "description", "severity", "meeting_point")


@dataclass
class EditForm:
    values: dict  # what the fields show
    needs: list[dict]  # the incident's needs: {"skill", "count" (as typed), "filled"}
    data: IncidentPatch | None = None
    errors: dict[str, str] = field(default_factory=dict)


def form_of(incident: Incident) -> EditForm:
    values: dict = {name: getattr(incident, name) or "" for name in TEXTS}
    values.update({name: _number(getattr(incident, name)) for name in NUMBERS})
    values["area"] = json.dumps(incident.area_geojson) if incident.area_geojson else ""
    values["new_needs"] = [{"skill": "", "count": ""} for _ in range(NEW_NEED_ROWS)]
    needs = [{"skill": n.skill or "", "count": str(n.count), "filled": n.filled} for n in incident.needs]
    return EditForm(values=values, needs=needs)


def _number(value: float) -> str:
    # The shortest text that reads back as the same float: an untouched field never "changes".
    text = repr(float(value))
    return text.removesuffix(".0")


def read_edit_form(form: MultiDict, incident: Incident) -> EditForm:
    """The posted form against the incident: data holds the fields that changed (None when
    nothing changed or something is wrong; errors then say what, by field)."""
    result = form_of(incident)
    body: dict = {}
    for name in TEXTS:
        typed = form.get(name, "").strip()
        result.values[name] = typed
        current = getattr(incident, name) or ""
        if typed != current:
            body[name] = typed if typed or name in ("title", "severity") else None
    numbers: dict[str, float] = {}
    for name in NUMBERS:
        typed = form.get(name, "").strip()
        result.values[name] = typed
        try:
            numbers[name] = float(typed.replace(",", "."))
        except ValueError:
            result.errors[name] = str(_l("must be a number"))
    if "lat" in numbers and "lon" in numbers and (numbers["lat"], numbers["lon"]) != (incident.lat, incident.lon):
        body["lat"], body["lon"] = numbers["lat"], numbers["lon"]
    for name in ("radius_km", "max_radius_km"):
        if name in numbers and numbers[name] != getattr(incident, name):
            body[name] = numbers[name]
    area = form.get("area", "").strip()
    result.values["area"] = area
    try:
        geometry = _geometry(json.loads(area)) if area else None
        if geometry != incident.area_geojson:
            body["area"] = geometry
    except (ValueError, RecursionError):
        result.errors["area"] = str(_l("is not valid GeoJSON"))
    changes = _need_changes(form, result, incident)
    if changes:
        body["needs"] = changes
    if result.errors or not body:
        return result
    try:
        result.data = IncidentPatch.model_validate(body)
    except ValidationError as exc:
        for path, message in field_errors(exc).items():
            name = path.split(".")[0]
            result.errors.setdefault("title" if name == "body" else name, message)
    return result


def _need_changes(form: MultiDict, result: EditForm, incident: Incident) -> list[dict]:
    changes = []
    for i, need in enumerate(incident.needs):
        typed = form.get(f"count_{i}", "").strip()
        result.needs[i]["count"] = typed
        if not COUNT.fullmatch(typed):
            result.errors["needs"] = str(_l("each count must be a whole number"))
            continue
        if int(typed) != need.count:
            changes.append({"skill": need.skill, "count": int(typed)})
    for i in range(NEW_NEED_ROWS):
        skill, typed = form.get(f"new_skill_{i}", "").strip(), form.get(f"new_count_{i}", "").strip()
        result.values["new_needs"][i] = {"skill": skill, "count": typed}
        if not typed:
            continue
        if not COUNT.fullmatch(typed):
            result.errors["needs"] = str(_l("each count must be a whole number"))
            continue
        changes.append({"skill": skill or None, "count": int(typed)})
    return changes
