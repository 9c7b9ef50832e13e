"""The console's register page (`/console/activity`): totals per organisation for a period
(records, people, hours), with the CSV and XLSX downloads of the same filter. The downloads are
the API's exports (dispatch/activity_exports.py) behind the console's sign-in; and the CSV import
of activity outside dispatch (dispatch/activity_import.py)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, current_app, render_template, request, stream_with_context
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from geo.regions import REGIONS, is_region

from .. import activity_exports, dashboard
from ..activity import ActivityFilter, local_day_start
from ..activity_import import COLUMNS as ACTIVITY_COLUMNS
from ..activity_import import ActivityImportRejected, import_activity
from ..csv_text import ENCODINGS, decode_csv
from ..errors import DispatchError, ValidationFailed
from .console import bp
from .csv_upload import header_problems
from .i18n import current_language, error_message
from .scoping import reader_scope


def _day(name: str, problems: list[str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(_("A date must look like 2030-01-31."))
        return None


def _filter() -> tuple[ActivityFilter, dict, list[str]]:
    """The page's filter from its query: days in Kazakhstan, `to` included."""
    problems: list[str] = []
    first, last = _day("from", problems), _day("to", problems)
    if first and last and last < first:
        problems.append(_("The period is inverted: the first day must come before the last."))
        first = last = None
    region = request.args.get("region", "")
    if region and not is_region(region):
        region = ""
    organization = request.args.get("organization", "").strip()[:200]
    chosen = {
        "from": first.isoformat() if first else "",
        "to": last.isoformat() if last else "",
        "region": region,
        "organization": organization,
    }
    flt = ActivityFilter(
        organization=organization or None,
        region=region or None,
        since=local_day_start(first) if first else None,
        until=local_day_start(last + timedelta(days=1)) if last else None,
        reader=current_user.user,
    )
    return flt, chosen, problems


@bp.get("/activity")
def activity_totals():
    flt, chosen, problems = _filter()
    per_organization, overall = activity_exports.totals(flt)
    language = current_language()
    regions = sorted(((code, names.get(language)) for code, names in REGIONS.items()), key=lambda r: r[1])
    return render_template(
        "console/activity.html",
        per_organization=per_organization,
        overall=overall,
        chosen=chosen,
        problems=problems,
        regions=regions,
        organizations=dashboard.organizations(reader_scope().organization_clause()),
        query={k: v for k, v in chosen.items() if v},
        number=format_decimal,
        detect=current_app.config["IMPORT_DETECT_ENCODING"],
    ), 400 if problems else 200


@bp.get("/activity.csv", defaults={"fmt": "csv"})
@bp.get("/activity.xlsx", defaults={"fmt": "xlsx"})
def activity_download(fmt: str):
    flt, _chosen, problems = _filter()
    if problems:
        return render_template("error.html", status=400, message=" ".join(problems)), 400
    try:
        total = activity_exports.check_size(flt)
    except ValidationFailed:
        message = _(
            "This export would have more than %(max)s rows: choose a shorter period or another filter.",
            max=format_decimal(activity_exports.MAX_ROWS),
        )
        return render_template("error.html", status=400, message=message), 400
    chunks = activity_exports.csv_chunks(flt) if fmt == "csv" else activity_exports.xlsx_chunks(flt, total)
    response = Response(stream_with_context(chunks), mimetype=activity_exports.MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{activity_exports.filename(flt, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/activity/import")
def activity_import():
    """Activity outside dispatch from a CSV file (all or nothing), with every bad line listed."""
    upload = request.files.get("file")
    dry_run = request.form.get("dry_run") == "on"
    encoding = request.form.get("encoding", "")
    report, error, lines = None, None, []
    if upload is None or not upload.filename:
        error = _("Choose a CSV file to import.")
    elif encoding not in ("", *ENCODINGS):
        error, encoding = _("Choose the file's encoding from the list."), ""
    else:
        try:
            text = decode_csv(upload.stream, encoding or None, detect=current_app.config["IMPORT_DETECT_ENCODING"])
            report = import_activity(
                text, current_app.config["DEFAULT_PHONE_REGION"], current_user.user, dry_run=dry_run
            )
        except ActivityImportRejected as exc:
            error, lines = error_message(exc.code, exc.message), exc.details.get("errors", [])
        except DispatchError as exc:
            error = f"{error_message(exc.code, exc.message)} {header_problems(exc.details)}".strip()
    return render_template(
        "console/activity_import.html",
        report=report,
        error=error,
        lines=lines,
        columns=ACTIVITY_COLUMNS,
        dry_run=dry_run,
        encoding=encoding,
        detect=current_app.config["IMPORT_DETECT_ENCODING"],
    ), 400 if error else 200


@bp.get("/activity/import")
def activity_import_form():
    return render_template(
        "console/activity_import.html",
        report=None,
        error=None,
        lines=[],
        columns=ACTIVITY_COLUMNS,
        dry_run=False,
        encoding="",
        detect=current_app.config["IMPORT_DETECT_ENCODING"],
    )
