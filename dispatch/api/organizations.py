"""Member organisations: list (filters), one, add, change (deactivate with active: false)."""

from __future__ import annotations

from flask import request

from geo.regions import REGIONS

from .. import organizations, scopes
from ..auth import actor, current_user, require_role
from ..presenters import organization_json
from ..schemas import OrganizationIn, OrganizationPatch
from . import bp
from .parsing import json_body, query_bool, query_choice

MAX_QUERY = 200


@bp.get("/organizations")
@require_role("viewer")
def list_organizations():
    q = (request.args.get("q") or "").strip()[:MAX_QUERY] or None
    flt = organizations.OrganizationFilter(
        region=query_choice("region", tuple(REGIONS)), active=query_bool("active"), q=q
    )
    found = organizations.list_organizations(flt)
    counts = organizations.volunteer_counts([o.id for o in found])
    return {"items": [organization_json(o, counts[o.id]) for o in found], "total": len(found)}


@bp.post("/organizations")
@require_role("coordinator")
def create_organization():
    organization = organizations.create_organization(
        json_body(OrganizationIn), actor(), scope=scopes.of(current_user())
    )
    return organization_json(organization, 0), 201


@bp.get("/organizations/<id:organization_id>")
@require_role("viewer")
def get_organization(organization_id: int):
    organization = organizations.get_organization(organization_id)
    return organization_json(organization, organizations.volunteer_counts([organization.id])[organization.id])


@bp.patch("/organizations/<id:organization_id>")
@require_role("coordinator")
def change_organization(organization_id: int):
    organization = organizations.update_organization(
        organization_id, json_body(OrganizationPatch), actor(), scope=scopes.of(current_user())
    )
    return organization_json(organization, organizations.volunteer_counts([organization.id])[organization.id])
