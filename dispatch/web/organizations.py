"""Console pages on member organisations: the list (filters), add, edit, deactivate and reactivate.
The same use cases as /api/v1/organizations (dispatch/organizations.py)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import ValidationError

from geo.regions import REGIONS

from .. import organizations
from ..errors import DispatchError, NotFound
from ..schemas import OrganizationIn, OrganizationPatch, max_length
from .console import bp
from .i18n import current_language, error_message, field_errors, field_problem
from .scoping import reader_scope

FIELDS = ("name", "region", "phone", "email", "address")


def _actor() -> str:
    return f"user:{current_user.user.id}"


def _typed(form) -> dict:
    """The form's fields as the models take them: an empty field is none (cleared)."""
    return {name: form.get(name, "").strip() or None for name in FIELDS}


def _regions() -> list[tuple[str, str]]:
    language = current_language()
    return sorted(((code, names.get(language)) for code, names in REGIONS.items()), key=lambda pair: pair[1])


def _limits() -> dict[str, int]:
    return {name: max_length(OrganizationIn, name) for name in ("name", "phone", "email", "address")}


def _list_page(values: dict | None = None, errors: dict | None = None, status: int = 200):
    args = request.args
    chosen = {
        "q": args.get("q", "").strip()[:200],
        "region": args.get("region") if args.get("region") in REGIONS else "",
        "active": args.get("active") if args.get("active") in ("yes", "no") else "",
    }
    scope = reader_scope()
    found = organizations.list_organizations(
        organizations.OrganizationFilter(
            region=chosen["region"] or None,
            active={"yes": True, "no": False}.get(chosen["active"]),
            q=chosen["q"] or None,
            # A scoped user: the organisations of their regions and their own, no others.
            regions=None if scope.national else set(scope.regions),
            ids=None if scope.national else set(scope.organization_ids),
        )
    )
    return render_template(
        "console/organizations.html",
        items=found,
        counts=organizations.volunteer_counts([o.id for o in found]),
        chosen=chosen,
        regions=_regions(),
        region_names={code: names.get(current_language()) for code, names in REGIONS.items()},
        values=values or {},
        errors=errors or {},
        limits=_limits(),
    ), status


@bp.get("/organizations", endpoint="organizations")
def organizations_page():
    return _list_page()


def _problems(exc: Exception) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return field_errors(exc)
    assert isinstance(exc, DispatchError)
    fields = (exc.details or {}).get("fields") or {}
    if fields:
        return {name: field_problem(text) for name, text in fields.items()}
    return {"name": error_message(exc.code, exc.message)}


def _organization(organization_id: int):
    """The organisation, 404 outside the signed-in user's scope (as one that does not exist)."""
    organization = organizations.get_organization(organization_id)
    if not reader_scope().holds_organization(organization):
        raise NotFound(f"No organisation {organization_id}.")
    return organization


def _region_allowed(region: str | None, current: str | None, new: bool = False) -> bool:
    """A scoped user places an organisation only in one of their regions (or leaves it where it is)."""
    scope = reader_scope()
    return scope.national or region in scope.regions or (not new and region == current)


@bp.post("/organizations")
def add_organization():
    values = _typed(request.form)
    if not _region_allowed(values["region"], None, new=True):
        errors = {"region": error_message("OUT_OF_SCOPE")}
        return _list_page({k: v or "" for k, v in values.items()}, errors, 403)
    try:
        created = organizations.create_organization(OrganizationIn.model_validate(values), _actor())
    except (ValidationError, DispatchError) as exc:
        return _list_page({k: v or "" for k, v in values.items()}, _problems(exc), 400)
    flash(_("Organisation added: %(name)s.", name=created.name))
    return redirect(url_for("console.organizations"))


def _edit_page(organization, values: dict, errors: dict | None = None, status: int = 200):
    return render_template(
        "console/organization_edit.html",
        o=organization,
        values=values,
        errors=errors or {},
        regions=_regions(),
        limits=_limits(),
        members=organizations.volunteer_counts([organization.id])[organization.id],
    ), status


@bp.get("/organizations/<id:organization_id>/edit")
def edit_organization(organization_id: int):
    organization = _organization(organization_id)
    return _edit_page(organization, {name: getattr(organization, name) or "" for name in FIELDS})


@bp.post("/organizations/<id:organization_id>")
def save_organization(organization_id: int):
    organization = _organization(organization_id)
    values = _typed(request.form)
    if not _region_allowed(values["region"], organization.region):
        errors = {"region": error_message("OUT_OF_SCOPE")}
        return _edit_page(organization, {k: v or "" for k, v in values.items()}, errors, 403)
    try:
        organizations.update_organization(organization_id, OrganizationPatch.model_validate(values), _actor())
    except (ValidationError, DispatchError) as exc:
        return _edit_page(organization, {k: v or "" for k, v in values.items()}, _problems(exc), 400)
    flash(_("Organisation saved: %(name)s.", name=organization.name))
    return redirect(url_for("console.organizations"))


@bp.post("/organizations/<id:organization_id>/active")
def set_organization_active(organization_id: int):
    _organization(organization_id)
    wanted = request.form.get("active")
    if wanted not in ("yes", "no"):
        flash(_("Choose whether the organisation is active."), "error")
        return redirect(url_for("console.organizations"))
    organization = organizations.update_organization(
        organization_id, OrganizationPatch(active=wanted == "yes"), _actor()
    )
    if organization.active:
        flash(_("Organisation reactivated: %(name)s.", name=organization.name))
    else:
        flash(
            _("Organisation deactivated: %(name)s. Its volunteers stay; it takes no new ones.", name=organization.name)
        )
    return redirect(url_for("console.organizations"))
