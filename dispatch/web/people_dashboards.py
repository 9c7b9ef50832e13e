"""Console dashboards per region and per organisation (and their index): volunteers by skill,
available now, call-outs answered over a period, median time to fill an incident's needs.
Scoped: only regions and organisations the user's scope reaches, and every volunteer figure
counts only volunteers in their scope (dispatch/people_dashboard.py)."""

from __future__ import annotations

import re

from flask import render_template, request

from geo.regions import REGIONS

from .. import people_dashboard
from ..dashboard import organizations as all_organizations
from ..errors import NotFound
from ..models import Incident, Volunteer
from ..organizations import get_organization
from ..skills import SkillCatalogue
from .console import bp
from .i18n import skill_names
from .people import region_names, scope


def _days() -> tuple[int, int]:
    """The period (days) from ?days=, and the status: an unknown period is a 400 showing 30."""
    raw = request.args.get("days", "")
    if not raw:
        return 30, 200
    if re.fullmatch(r"[0-9]{1,3}", raw) and int(raw) in people_dashboard.PERIODS:
        return int(raw), 200
    return 30, 400


@bp.get("/dashboards")
def dashboards():
    here = scope()
    clause = here.volunteer_clause()
    names = region_names()
    regions = [code for code in REGIONS if here.national or code in here.incident_regions]
    return render_template(
        "console/dashboards.html",
        regions=sorted(regions, key=lambda code: names[code]),
        region_names=names,
        region_counts=people_dashboard.region_counts(clause),
        organizations=[o for o in all_organizations() if here.holds_organization(o)],
        organization_counts=people_dashboard.organization_counts(clause),
    )


def _page(title: str, what: str, volunteers_where, incidents_where, back: dict):
    days, status = _days()
    catalogue = SkillCatalogue.load()
    picture = people_dashboard.picture(volunteers_where, scope().volunteer_clause(), incidents_where, days, catalogue)
    names = skill_names()
    return render_template(
        "console/dashboard.html",
        title=title,
        what=what,
        picture=picture,
        by_skill=sorted(((names.get(code, code), n) for code, n in picture.by_skill.items()), key=lambda p: -p[1]),
        days=days,
        periods=people_dashboard.PERIODS,
        bad_period=status == 400,
        back=back,
    ), status


@bp.get("/dashboards/regions/<code>")
def region_dashboard(code: str):
    here = scope()
    if code not in REGIONS or not (here.national or code in here.incident_regions):
        raise NotFound(f"No region {code}.")
    return _page(
        region_names()[code],
        "region",
        Volunteer.region == code,
        Incident.region == code,
        {"volunteers": {"region": code}},
    )


@bp.get("/dashboards/organizations/<id:organization_id>")
def organization_dashboard(organization_id: int):
    organization = get_organization(organization_id)
    if not scope().holds_organization(organization):
        raise NotFound(f"No organisation {organization_id}.")
    members = Volunteer.organization_id == organization.id
    return _page(
        organization.name,
        "organization",
        members,
        people_dashboard.called_incidents(members),
        {"volunteers": {"organization_id": organization.id}},
    )
