"""The console's user administration (`/console/users`), for national admins only: every user
with their role, scope and whether they are disabled, and a form that sets a user's scope
(regions and organisations; none is the whole country), audited by dispatch/scopes.py.
Roles, passwords and new users stay with the `flask users` commands."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from geo.regions import REGIONS

from .. import dashboard, scopes, users
from ..errors import ValidationFailed
from .console import bp
from .i18n import current_language
from .scoping import reader_scope, scope_label

ROLE_NAMES = {"viewer": _l("Viewer"), "coordinator": _l("Coordinator"), "admin": _l("Administrator")}
_ID = re.compile(r"[0-9]{1,9}")


@bp.before_request
def national_admins_only():
    if request.endpoint not in ("console.users", "console.user_scope", "console.save_user_scope"):
        return None
    if not (current_user.has_role("admin") and reader_scope().national):
        message = _("User administration is for national administrators.")
        return render_template("error.html", status=403, message=message), 403
    return None


def _regions() -> list[tuple[str, str]]:
    language = current_language()
    return sorted(((code, names.get(language)) for code, names in REGIONS.items()), key=lambda pair: pair[1])


@bp.get("/users", endpoint="users")
def users_page():
    rows = [
        {"user": user, "role": ROLE_NAMES.get(user.role, user.role), "scope": scope_label(scopes.of(user))}
        for user in users.list_users()
    ]
    return render_template("console/users.html", rows=rows)


def _scope_page(user, chosen: dict, errors: dict | None = None, status: int = 200):
    return render_template(
        "console/user_scope.html",
        u=user,
        role=ROLE_NAMES.get(user.role, user.role),
        chosen=chosen,
        errors=errors or {},
        regions=_regions(),
        organizations=dashboard.organizations(),
    ), status


@bp.get("/users/<id:user_id>/scope", endpoint="user_scope")
def user_scope(user_id: int):
    user = users.get_user_by_id(user_id)
    described = scopes.describe(user)
    chosen = {"regions": described["regions"], "organization_ids": described["organization_ids"]}
    return _scope_page(user, chosen)


@bp.post("/users/<id:user_id>/scope", endpoint="save_user_scope")
def save_user_scope(user_id: int):
    user = users.get_user_by_id(user_id)
    regions = [code.strip() for code in request.form.getlist("regions") if code.strip()][: len(REGIONS) + 1]
    raw_ids = [value.strip() for value in request.form.getlist("organization_ids") if value.strip()][:1000]
    chosen = {"regions": regions, "organization_ids": [int(v) for v in raw_ids if _ID.fullmatch(v)]}
    if len(chosen["organization_ids"]) != len(raw_ids):
        errors = {"organization_ids": _("Choose organisations from the list.")}
        return _scope_page(user, chosen, errors, 400)
    try:
        users.change_scope(user.id, regions, chosen["organization_ids"], f"user:{current_user.user.id}")
    except ValidationFailed as exc:
        fields = exc.details.get("fields", {})
        errors = {"regions": _("Choose regions from the list.")}
        if "organization_ids" in fields:
            errors = {"organization_ids": _("Choose organisations from the list.")}
        return _scope_page(user, chosen, errors, 400)
    flash(_("Scope saved: %(email)s sees %(scope)s.", email=user.email, scope=scope_label(scopes.of(user))))
    return redirect(url_for("console.users"))
