"""GET /api/v1/volunteers/{id}/certificate: a PDF certificate of a volunteer's hours for a period."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from flask import Response, current_app, request

from .. import certificates
from ..activity import LOCAL_TZ
from ..auth import current_user, require_role
from ..clock import utcnow
from ..errors import ValidationFailed
from ..models import LANGUAGES
from . import bp

# A certificate covers at most this long (a few years of service; a typo like 0224 is refused).
MAX_PERIOD = timedelta(days=366 * 5)
FIRST_YEAR, LAST_YEAR = 2000, 2999


@bp.get("/volunteers/<id:volunteer_id>/certificate")
@require_role("coordinator")
def volunteer_certificate(volunteer_id: int):
    language = request.args.get("lang") or None
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed("Query parameter lang must be kk, ru or en.", {"fields": {"lang": "kk|ru|en"}})
    today = utcnow().replace(tzinfo=UTC).astimezone(LOCAL_TZ).date()
    first_day = _day("from") or date(today.year, 1, 1)
    last_day = _day("to") or today
    if last_day < first_day:
        raise ValidationFailed(
            "The period is inverted: from must come before to.", {"fields": {"from": "after to", "to": "before from"}}
        )
    if last_day - first_day > MAX_PERIOD:
        raise ValidationFailed("A certificate covers at most five years.", {"fields": {"from": "too long a period"}})
    certificate, code = certificates.issue(volunteer_id, language, first_day, last_day, current_user())
    pdf = certificates.render_pdf(certificate, code, current_app.config["PUBLIC_BASE_URL"])
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="certificate_{volunteer_id}_{first_day.isoformat()}_{last_day.isoformat()}.pdf"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _day(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        _bad_day(name)
    return day


def _bad_day(name: str) -> None:
    raise ValidationFailed(
        f"Query parameter {name} must be a date (2030-01-31) from {FIRST_YEAR} to {LAST_YEAR}.",
        {"fields": {name: "not a date"}},
    )
