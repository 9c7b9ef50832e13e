"""Console pages on the volunteer registry (search, filters, CSV import with its error report)
and the inbox of replies the service did not understand."""

from __future__ import annotations

import re

import segno
from flask import current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from geo.regions import REGIONS

from .. import dashboard, telegram_links
from ..clock import utcnow
from ..errors import DispatchError
from ..models import VOLUNTEER_STATUSES
from ..prefilter import is_minor
from ..schemas import VolunteerIn, max_length
from ..skills import SkillCatalogue
from ..volunteer_import import COLUMNS, ENCODINGS, decode_csv, import_volunteers
from ..volunteers import VolunteerFilter, available_now, get_volunteer, list_volunteers, note_read
from .console import bp
from .csv_upload import header_problems
from .i18n import error_message, skill_names
from .list_filters import choices as filter_choices
from .scoping import reader_scope, require_volunteer

PER_PAGE = 50


def _filter_from_query() -> tuple[VolunteerFilter, dict]:
    catalogue = SkillCatalogue.load()
    args = request.args
    chosen = {
        "skill": args.get("skill") if args.get("skill") in catalogue.bits else "",
        "available": args.get("available") if args.get("available") in ("yes", "no") else "",
        "status": args.get("status") if args.get("status") in VOLUNTEER_STATUSES else "",
        # An old link names the organisation (by name, case and spacing ignored); the filter's
        # select gives its id.
        "organization": args.get("organization", "").strip(),
        "organization_id": args.get("organization_id", "")
        if re.fullmatch(r"[0-9]{1,9}", args.get("organization_id", ""))
        else "",
        "region": args.get("region") if args.get("region") in REGIONS else "",
    }
    # ASCII digits only ("²".isdigit() is true) and a bounded number: anything else is page 1.
    raw_page = args.get("page", "")
    page = int(raw_page) if re.fullmatch(r"[0-9]{1,6}", raw_page) and int(raw_page) > 0 else 1
    flt = VolunteerFilter(
        skill=chosen["skill"] or None,
        available={"yes": True, "no": False}.get(chosen["available"]),
        status=chosen["status"] or None,
        organization=chosen["organization"] or None,
        organization_id=int(chosen["organization_id"]) if chosen["organization_id"] else None,
        region=chosen["region"] or None,
        page=page,
        per_page=PER_PAGE,
        scope=reader_scope(),
    )
    return flt, chosen


@bp.get("/volunteers")
def volunteers():
    flt, chosen = _filter_from_query()
    status, longest = 200, max_length(VolunteerIn, "organization")
    if len(chosen["organization"]) > longest:
        # No organisation has a name this long: say so, and search without it.
        flash(_("An organisation's name has at most %(max)d characters.", max=longest), "error")
        status, chosen["organization"], flt.organization = 400, "", None
    catalogue = SkillCatalogue.load()
    found = list_volunteers(flt, catalogue)
    pages = max(1, -(-found.total // PER_PAGE))
    names = skill_names()
    skills_of = {v.id: [names[code] for code in catalogue.codes_of(v.skill_mask)] for v in found.items}
    page = render_template(
        "console/volunteers.html",
        page=found,
        pages=pages,
        chosen=chosen,
        skills_of=skills_of,
        available_now=available_now,
        is_minor=lambda born: is_minor(born, utcnow()),
        skills=skill_names(),
        organizations=dashboard.organizations(reader_scope().organization_clause()),
        regions=filter_choices()["filter_regions"],
        statuses=VOLUNTEER_STATUSES,
        columns=COLUMNS,
        telegram_enabled=current_app.config["TELEGRAM_ENABLED"],
    )
    # The list shows phone numbers: one audit event per page shown, naming how many.
    note_read(f"user:{current_user.user.id}", "registry", count=len(found.items))
    return page, status


@bp.post("/volunteers/<id:volunteer_id>/telegram-link")
def telegram_link(volunteer_id: int):
    """A new single-use Telegram link for the volunteer, with a QR code of it to print."""
    volunteer = require_volunteer(get_volunteer(volunteer_id))  # 404 outside the scope, before anything
    link = telegram_links.create_link(volunteer_id, f"user:{current_user.user.id}")
    # Drawn here as inline SVG from our own URL (letters, digits, - and _): no script, no image
    # fetched from anywhere, so the page's CSP holds and it prints as it shows.
    qr_svg = segno.make(link.url, error="m").svg_inline(scale=6, title=link.url)
    return render_template("console/telegram_link.html", link=link, qr_svg=qr_svg, volunteer=volunteer), 201


@bp.post("/volunteers/import")
def import_csv():
    upload = request.files.get("file")
    dry_run = request.form.get("dry_run") == "on"
    # "" is the automatic choice (UTF-8, or Windows-1251 when detected, if the service detects).
    encoding = request.form.get("encoding", "")
    report, error = None, None
    if upload is None or not upload.filename:
        error = _("Choose a CSV file to import.")
    elif encoding not in ("", *ENCODINGS):
        error, encoding = _("Choose the file's encoding from the list."), ""
    else:
        try:
            text = decode_csv(upload.stream, encoding or None, detect=current_app.config["IMPORT_DETECT_ENCODING"])
            report = import_volunteers(
                text,
                current_app.config["DEFAULT_PHONE_REGION"],
                f"user:{current_user.user.id}",
                dry_run=dry_run,
                scope=reader_scope(),
            )
        except DispatchError as exc:
            error = f"{error_message(exc.code, exc.message)} {header_problems(exc.details)}".strip()
    return _import_page(report, error, dry_run, encoding), 400 if error else 200


def _import_page(report, error: str | None, dry_run: bool, encoding: str) -> str:
    return render_template(
        "console/import.html",
        report=report,
        error=error,
        columns=COLUMNS,
        dry_run=dry_run,
        encoding=encoding,
        encodings=ENCODINGS,
        detect=current_app.config["IMPORT_DETECT_ENCODING"],
    )


@bp.get("/volunteers/import")
def import_form():
    return _import_page(None, None, False, "")


@bp.get("/inbox")
def inbox():
    # A scoped user reads their volunteers' texts only; texts from unknown numbers are national users'.
    messages = dashboard.needs_attention(volunteers=reader_scope().volunteer_clause())
    return render_template("console/inbox.html", messages=messages)
