"""The signed-in user's scope as the console pages apply it (dispatch/scopes.py): read once per
request, asked by every page. Out-of-scope volunteers are 404 (as if they did not exist);
incidents are readable by all, managed only in scope (403 OUT_OF_SCOPE, a page in the user's
language); on an incident page, volunteers outside the scope show no name or phone unless they
accepted an incident this user manages."""

from __future__ import annotations

from dataclasses import replace

from flask import g
from flask_babel import gettext as _
from flask_login import current_user

from geo.regions import REGIONS

from .. import dashboard, scopes
from ..errors import NotFound, OutOfScope
from ..models import Incident, Volunteer
from ..presenters import coarse_km, coarse_reason
from .i18n import current_language


def reader_scope() -> scopes.Scope:
    """The scope of the signed-in user (national for nobody: the console signs in first)."""
    if "reader_scope" not in g:
        user = current_user.user if current_user.is_authenticated else None
        g.reader_scope = scopes.of(user)
    return g.reader_scope


def require_volunteer(volunteer: Volunteer) -> Volunteer:
    """The volunteer, or 404 as for one that does not exist when they are outside the scope."""
    if not reader_scope().holds_volunteer(volunteer):
        raise NotFound(f"No volunteer {volunteer.id}.")
    return volunteer


def manages(incident: Incident) -> bool:
    return reader_scope().holds_region(incident.region)


def require_manage(incident: Incident) -> Incident:
    """403 OUT_OF_SCOPE unless the scope holds the incident's region."""
    if not manages(incident):
        raise OutOfScope()
    return incident


def scope_label(scope: scopes.Scope) -> str:
    """The scope as the console's header says it: "Whole country", or the regions and organisations."""
    if scope.national:
        return _("Whole country")
    language = current_language()
    names = sorted(REGIONS[code].get(language) for code in scope.regions if code in REGIONS)
    names += dashboard.organization_names(sorted(scope.organization_ids))
    return ", ".join(names)


def shown_picture(picture: dashboard.IncidentPicture) -> dashboard.IncidentPicture:
    """The incident's picture with the identity (name, phone, id) of volunteers the reader may
    not see taken out: a volunteer outside the scope is shown only once they accepted an incident
    this reader manages. Their rows stay (status, wave, coarse distance), marked hidden."""
    scope = reader_scope()
    if scope.national:
        return picture
    ids = {a["volunteer_id"] for a in picture.alerts} | {r["volunteer_id"] for r in picture.responders}
    ids |= {m["volunteer_id"] for m in picture.messages if m["volunteer_id"] is not None}
    visible = dashboard.volunteers_in_scope(ids, scope.volunteer_clause())
    if manages(picture.incident):
        visible |= {r["volunteer_id"] for r in picture.responders}
        visible |= {a["volunteer_id"] for a in picture.alerts if a["status"] == "accepted"}

    def hide(row: dict, *names: str) -> dict:
        if row.get("volunteer_id") in visible:
            return row
        return {**row, **{name: None for name in names}, "volunteer_id": None, "hidden": True}

    alerts = []
    for alert in picture.alerts:
        shown = hide(alert, "name", "phone")
        if shown.get("hidden"):
            shown["distance_km"] = coarse_km(alert["distance_km"])
            shown["why_chosen"] = coarse_reason(alert["why_chosen"])
        alerts.append(shown)
    roll_call = picture.roll_call
    roll_call = replace(
        roll_call,
        asked=[(vid, name) if vid in visible else (None, None) for vid, name in roll_call.asked],
        unaccounted=[(vid, name) if vid in visible else (None, None) for vid, name in roll_call.unaccounted],
    )
    return replace(
        picture,
        alerts=alerts,
        responders=[hide(r, "name") for r in picture.responders],
        messages=[hide(m, "name", "from_phone") for m in picture.messages],
        roll_call=roll_call,
    )
