"""Volunteer registry routes: CRUD, list with filters, CSV import, the skill catalogue."""

from __future__ import annotations

from flask import current_app, request

from geo.regions import REGIONS

from .. import geocoding, scopes, telegram_links, volunteers
from ..auth import actor, current_user, require_role, sees_personal_data
from ..clock import isoformat
from ..models import LANGUAGES, VOLUNTEER_STATUSES
from ..presenters import volunteer_json
from ..schemas import VolunteerIn, VolunteerPatch
from ..skills import SkillCatalogue
from ..volunteer_import import import_volunteers
from . import bp
from .parsing import csv_body, json_body, query_bool, query_choice, query_float, query_int, query_point


def _scope() -> scopes.Scope:
    """The request's user's: volunteers outside it are 404 and never listed (dispatch/scopes.py)."""
    return scopes.of(current_user())


@bp.get("/skills")
@require_role("viewer")
def list_skills():
    catalogue = SkillCatalogue.load()
    language = query_choice("lang", LANGUAGES) or "en"
    return {
        "skills": [
            {"code": code, "name": catalogue.name(code, language), "names": catalogue.names[code]}
            for code in catalogue.bits
        ]
    }


@bp.post("/volunteers")
@require_role("coordinator")
def create_volunteer():
    data = json_body(VolunteerIn)
    home, _ = geocoding.resolve(data.lat, data.lon, data.address)
    catalogue = SkillCatalogue.load()
    volunteer = volunteers.register_volunteer(data, catalogue, home, actor(), scope=_scope())
    return volunteer_json(volunteer, catalogue), 201


@bp.get("/volunteers")
@require_role("viewer")
def list_volunteers():
    full = sees_personal_data()
    flt = volunteers.VolunteerFilter(
        skill=request.args.get("skill") or None,
        available=query_bool("available"),
        status=query_choice("status", VOLUNTEER_STATUSES),
        organization=request.args.get("organization") or None,
        organization_id=query_int("organization_id", 0, 1, 2**31 - 1) or None,
        region=query_choice("region", tuple(REGIONS)),
        page=query_int("page", 1, 1, 1_000_000),
        per_page=query_int("per_page", 50, 1, 200),
        near=query_point("near"),
        radius_km=query_float("radius_km", 10.0, 0.001, 1000.0),
        coarse=not full,
        scope=_scope(),
    )
    catalogue = SkillCatalogue.load()
    page = volunteers.list_volunteers(flt, catalogue)
    body = {
        "items": [volunteer_json(v, catalogue, page.distances_km.get(v.id), full) for v in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }
    if full:
        volunteers.note_read(actor(), "registry", count=len(body["items"]))
    return body


@bp.get("/volunteers/<id:volunteer_id>")
@require_role("viewer")
def get_volunteer(volunteer_id: int):
    full = sees_personal_data()
    # ?incident_id= says the record is read for that incident (the audit's why).
    why = volunteers.read_reason(query_int("incident_id", 0, 1, 2**31 - 1) or None) if full else None
    body = volunteer_json(volunteers.get_volunteer(volunteer_id, _scope()), SkillCatalogue.load(), full=full)
    if why is not None:
        volunteers.note_read(actor(), why, volunteer_id=volunteer_id)
    return body


@bp.patch("/volunteers/<id:volunteer_id>")
@require_role("coordinator")
def patch_volunteer(volunteer_id: int):
    patch = json_body(VolunteerPatch)
    home = geocoding.locate(patch.address) if patch.address else None
    catalogue = SkillCatalogue.load()
    volunteer = volunteers.update_volunteer(volunteer_id, patch, catalogue, actor(), home, scope=_scope())
    return volunteer_json(volunteer, catalogue)


@bp.delete("/volunteers/<id:volunteer_id>")
@require_role("coordinator")
def delete_volunteer(volunteer_id: int):
    volunteers.erase_volunteer(volunteer_id, actor(), scope=_scope())
    return "", 204


@bp.post("/volunteers/<id:volunteer_id>/telegram-link")
@require_role("coordinator")
def telegram_link(volunteer_id: int):
    link = telegram_links.create_link(volunteer_id, actor(), scope=_scope())
    return {"code": link.code, "url": link.url, "expires_at": isoformat(link.expires_at)}, 201


@bp.post("/volunteers/import")
@require_role("coordinator")
def import_csv():
    text = csv_body()
    dry_run = bool(query_bool("dry_run"))
    report = import_volunteers(
        text, current_app.config["DEFAULT_PHONE_REGION"], actor(), dry_run=dry_run, scope=_scope()
    )
    return report.as_json()
