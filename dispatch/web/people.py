"""Console pages on people: search by name or phone, and one volunteer's page (their data,
call-outs, replies and activity). Both apply the signed-in user's scope: a volunteer outside it
is never listed and their page is a 404. The add and edit forms are in people_form.py."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from geo.regions import REGIONS

from .. import scopes, volunteer_history, volunteer_search
from ..clock import utcnow
from ..models import Volunteer
from ..prefilter import is_minor
from ..skills import SkillCatalogue
from ..volunteers import available_now, get_volunteer, note_read
from .console import bp
from .i18n import current_language, skill_names
from .scoping import reader_scope, require_volunteer

SHOWN = 50


def actor() -> str:
    return f"user:{current_user.user.id}"


def scope() -> scopes.Scope:
    return reader_scope()


def region_names() -> dict[str, str]:
    language = current_language()
    return {code: names.get(language) for code, names in REGIONS.items()}


def volunteer_in_scope(volunteer_id: int) -> Volunteer:
    """The volunteer, or a 404 that says no more than a missing one would."""
    return require_volunteer(get_volunteer(volunteer_id))


@bp.get("/volunteers/search")
def search_volunteers():
    text = request.args.get("q", "").strip()[:200]
    found, problem = None, None
    if text:
        code = int(current_app.config.get("SEARCH_COUNTRY_CODE", 7))
        try:
            query = volunteer_search.parse(text, code)
        except volunteer_search.QueryTooShort:
            problem = _("Type at least one letter of a name, or at least 3 digits of a phone number.")
        else:
            found = volunteer_search.search(query, scope().volunteer_clause(), SHOWN)
    page = render_template(
        "console/search.html",
        q=text,
        found=found,
        problem=problem,
        regions=region_names(),
        available_now=available_now,
    )
    if found is not None:
        # The results show phone numbers: one audit event naming how many.
        note_read(actor(), "registry", count=len(found.items))
    return page, 400 if problem else 200


@bp.get("/volunteers/<id:volunteer_id>")
def volunteer_page(volunteer_id: int):
    volunteer = volunteer_in_scope(volunteer_id)
    catalogue = SkillCatalogue.load()
    names = skill_names()
    history = volunteer_history.of(volunteer.id, current_user.user)
    page = render_template(
        "console/volunteer.html",
        v=volunteer,
        skills=[names[code] for code in catalogue.codes_of(volunteer.skill_mask)],
        region_name=region_names().get(volunteer.region or "", ""),
        history=history,
        state_of=volunteer_history.responder_state,
        available=available_now(volunteer),
        minor=volunteer.birth_date is not None and is_minor(volunteer.birth_date, utcnow()),
    )
    if volunteer.erased_at is None:
        # A person read this volunteer's full record (phone, exact home): the audit trail says so.
        note_read(actor(), "registry", volunteer_id=volunteer.id)
    return page
