"""Console forms to add one volunteer and to edit one: the same use cases and input models as
POST/PATCH /api/v1/volunteers (dispatch/volunteers.py, VolunteerIn / VolunteerPatch). Bad input
redisplays the form with each field's problem in the page's language and changes nothing.

A scoped coordinator only adds volunteers inside their scope and cannot move one out of it (the
use cases check the region the point gives, or the one chosen, and the organisation)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError

from .. import geocoding, volunteers
from ..dashboard import organizations as all_organizations
from ..errors import DispatchError, OutOfScope
from ..extensions import db
from ..models import LANGUAGES, SETTABLE_VOLUNTEER_STATUSES, Volunteer
from ..schemas import VolunteerIn, VolunteerPatch, max_length
from ..skills import SkillCatalogue
from .console import bp
from .i18n import error_message, field_errors, field_problem, skill_names
from .people import actor, region_names, scope, volunteer_in_scope

TEXT_FIELDS = ("name", "phone", "address", "lat", "lon", "max_distance_km", "birth_date", "region", "organization_id")
# Where a problem without a field of its own (the home: address or coordinates) is shown.
FIELD_OF = {"body": "home", "organization": "organization_id", "skills": "skills"}


def _values(form) -> dict:
    """What the form sent, as text to show again."""
    values = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    values["language"] = form.get("language", "")
    values["skills"] = form.getlist("skills")
    values["available"] = form.get("available", "")
    values["status"] = form.get("status", "")
    return values


def _body(values: dict, editing: bool) -> dict:
    """The values as the input models take them: an empty field is none."""
    body = {name: values[name] or None for name in TEXT_FIELDS}
    body["language"] = values["language"] or None
    body["skills"] = values["skills"]
    if editing:
        if body["max_distance_km"] is None:
            del body["max_distance_km"]
        if body["address"] is None:
            del body["address"]
        if body["lat"] is None and body["lon"] is None:
            del body["lat"], body["lon"]
        if values["available"] in ("yes", "no"):
            body["available"] = values["available"] == "yes"
        elif values["available"]:
            body["available"] = values["available"]  # refused by the model, shown as the field's problem
        if values["status"]:
            body["status"] = values["status"]
    return body


def _problems(exc: Exception) -> dict[str, str]:
    if isinstance(exc, OutOfScope):
        return {"region": _("This volunteer would be outside your scope: choose one of your regions or organisations.")}
    if isinstance(exc, ValidationError):
        problems: dict[str, str] = {}
        for path, text in field_errors(exc).items():
            name = path.split(".")[0]
            problems.setdefault(FIELD_OF.get(name, name), text)
        return problems
    assert isinstance(exc, DispatchError)
    fields = (exc.details or {}).get("fields") or {}
    if fields:
        return {FIELD_OF.get(name, name): field_problem(text) for name, text in fields.items()}
    where = "phone" if exc.code == "DUPLICATE_PHONE" else "address" if "ADDRESS" in exc.code else "form"
    if exc.code == "GEOCODER_UNAVAILABLE":
        where = "address"
    return {where: error_message(exc.code, exc.message)}


def _form_page(values: dict, errors: dict, volunteer: Volunteer | None = None, status: int = 200):
    current = volunteer.organization_id if volunteer is not None else None
    choices = [o for o in all_organizations() if (o.active or o.id == current) and scope().holds_organization(o)]
    regions = sorted(region_names().items(), key=lambda pair: pair[1])
    limits = {name: max_length(VolunteerIn, name) for name in ("name", "phone", "address")}
    return render_template(
        "console/volunteer_form.html",
        v=volunteer,
        values=values,
        errors=errors,
        skills=skill_names(),
        languages=LANGUAGES,
        organizations=choices,
        regions=regions,
        statuses=SETTABLE_VOLUNTEER_STATUSES,
        limits=limits,
    ), status


@bp.get("/volunteers/new")
def new_volunteer():
    values = {name: "" for name in TEXT_FIELDS} | {"language": "ru", "skills": [], "available": "", "status": ""}
    return _form_page(values, {})


@bp.post("/volunteers/new")
def add_volunteer():
    values = _values(request.form)
    try:
        data = VolunteerIn.model_validate(_body(values, editing=False))
        home, _place = geocoding.resolve(data.lat, data.lon, data.address)
        # The use case checks the scope before it writes anything (403 OUT_OF_SCOPE).
        created = volunteers.register_volunteer(data, SkillCatalogue.load(), home, actor(), scope=scope())
    except (ValidationError, DispatchError) as exc:
        db.session.rollback()
        return _form_page(values, _problems(exc), status=400)
    flash(_("Volunteer added: %(name)s.", name=created.name))
    return redirect(url_for("console.volunteer_page", volunteer_id=created.id))


def _current_values(v: Volunteer) -> dict:
    catalogue = SkillCatalogue.load()
    return {
        "name": v.name or "",
        "phone": v.phone or "",
        "address": "",
        "lat": "" if v.lat is None else repr(v.lat),
        "lon": "" if v.lon is None else repr(v.lon),
        "max_distance_km": repr(v.max_distance_km),
        "birth_date": v.birth_date.isoformat() if v.birth_date else "",
        "region": v.region or "",
        "organization_id": str(v.organization_id or ""),
        "language": v.language,
        "skills": catalogue.codes_of(v.skill_mask),
        "available": "yes" if v.available else "no",
        "status": v.status,
    }


@bp.get("/volunteers/<id:volunteer_id>/edit")
def edit_volunteer(volunteer_id: int):
    volunteer = volunteer_in_scope(volunteer_id)
    return _form_page(_current_values(volunteer), {}, volunteer)


@bp.post("/volunteers/<id:volunteer_id>/edit")
def save_volunteer(volunteer_id: int):
    volunteer = volunteer_in_scope(volunteer_id)
    values = _values(request.form)
    try:
        patch = VolunteerPatch.model_validate(_body(values, editing=True))
        home = geocoding.locate(patch.address) if patch.address else None
        volunteers.update_volunteer(volunteer_id, patch, SkillCatalogue.load(), actor(), home, scope=scope())
    except (ValidationError, DispatchError) as exc:
        # A use case may have set some fields before it refused: none of it stays.
        db.session.rollback()
        return _form_page(values, _problems(exc), volunteer, status=400)
    flash(_("Volunteer saved: %(name)s.", name=volunteer.name))
    return redirect(url_for("console.volunteer_page", volunteer_id=volunteer_id))
