"""The "post an incident" form read into IncidentIn (dispatch/schemas.py), the model the JSON API
reads too, so a page and a JSON client are held to exactly the same rules; errors come back by
form field."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

from ..schemas import DispatchIn, IncidentIn
from .i18n import field_errors

NEED_ROWS = 4
NUMBERS = ("lat", "lon", "radius_km", "max_radius_km")
COUNT = re.compile(r"[0-9]{1,6}")


@dataclass
class IncidentForm:
    values: dict  # what to show in the fields again
    data: IncidentIn | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """Names the exact incident previewed: sending anything else asks for a new preview."""
        if self.data is None:
            return ""
        canonical = json.dumps(self.data.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def empty_form(lat: float | None = None, lon: float | None = None) -> IncidentForm:
    needs = [{"skill": "", "count": ""} for _ in range(NEED_ROWS)]
    needs[0]["count"] = "1"
    return IncidentForm(
        values={
            "kind": "flood",
            "severity": "severe",
            "radius_km": "10",
            "max_radius_km": "50",
            "needs": needs,
            "lat": lat or "",
            "lon": lon or "",
        }
    )


def read_incident_form(form: MultiDict) -> IncidentForm:
    values = {
        name: form.get(name, "").strip() for name in ("kind", "title", "description", "severity", "area", *NUMBERS)
    }
    values["drill"] = form.get("drill") == "on"
    values["exclude_inside_area"] = form.get("exclude_inside_area") == "on"
    values["needs"] = [
        {"skill": form.get(f"need_skill_{i}", "").strip(), "count": form.get(f"need_count_{i}", "").strip()}
        for i in range(NEED_ROWS)
    ]
    result = IncidentForm(values=values)
    body: dict = {
        "kind": values["kind"],
        "title": values["title"],
        "severity": values["severity"],
        "drill": values["drill"],
        "exclude_inside_area": values["exclude_inside_area"],
    }
    if values["description"]:
        body["description"] = values["description"]
    for name in NUMBERS:
        if values[name]:
            try:
                body[name] = float(values[name].replace(",", "."))
            except ValueError:
                result.errors[name] = _l("must be a number")
    if "lat" not in body and "lon" not in body and "lat" not in result.errors:
        result.errors["lat"] = _l("click the map or type the coordinates")
    body["needs"] = _needs(values["needs"], result.errors)
    if values["area"]:
        try:
            body["area"] = _geometry(json.loads(values["area"]))
        except (ValueError, RecursionError):
            result.errors["area"] = _l("is not valid GeoJSON")
    if result.errors:
        return result
    try:
        result.data = IncidentIn.model_validate(body)
    except ValidationError as exc:
        for path, message in field_errors(exc).items():
            name = path.split(".")[0]
            result.errors.setdefault("lat" if name == "body" else name, message)
    return result


def _needs(rows: list[dict], errors: dict[str, str]) -> list[dict]:
    needs = []
    for row in rows:
        if not row["count"]:
            continue
        # ASCII digits only ("²".isdigit() is true), and few of them: the schema caps the count.
        if not COUNT.fullmatch(row["count"]):
            errors["needs"] = _l("each count must be a whole number")
            continue
        needs.append({"skill": row["skill"] or None, "count": int(row["count"])})
    return needs


def _geometry(value) -> dict:
    """A pasted Polygon or MultiPolygon, or a Feature (or one-feature collection) holding one."""
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        features = value.get("features") or []
        if len(features) != 1:
            raise ValueError("one feature expected")
        value = features[0]
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict):
        raise ValueError("not a geometry")
    return value


def read_dispatch_form(form: MultiDict) -> DispatchIn | None:
    """A draft's dispatch form (need rows and a radius) as DispatchIn, or None when it is not valid."""
    errors: dict[str, str] = {}
    rows = [
        {"skill": form.get(f"need_skill_{i}", "").strip(), "count": form.get(f"need_count_{i}", "").strip()}
        for i in range(NEED_ROWS)
    ]
    body: dict = {"needs": _needs(rows, errors)}
    radius = form.get("radius_km", "").strip().replace(",", ".")
    if radius:
        try:
            body["radius_km"] = float(radius)
        except ValueError:
            return None
    if errors:
        return None
    try:
        return DispatchIn.model_validate(body)
    except ValidationError:
        return None
