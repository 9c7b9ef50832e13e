"""The public status board: `/` (no login, no personal data) and `/status.json`, which the page
polls with If-None-Match to update itself within seconds of a change.

Both show exactly what GET /api/v1/status shows (presenters.public_incident_json); the leak
test in tests/web checks that no volunteer's name or number ever reaches them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache

from babel import Locale
from babel.dates import format_timedelta
from flask import Blueprint, render_template, send_from_directory
from flask_babel import gettext as _
from xstatic.pkg import leaflet

from .. import dashboard
from ..clock import utcnow
from .i18n import LABELS, current_language, remember_language, skill_names
from .live import conditional_json
from .pages import map_settings

bp = Blueprint("public", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")
bp.before_request(remember_language)
POLL_MS = 2000  # the page promises an update within 5 s of a change


@bp.get("/")
def status_page():
    data = dashboard.public_status()
    page_data = {
        "pollMs": POLL_MS,
        "language": current_language(),
        "skills": skill_names(),
        "labels": {code: str(text) for code, text in LABELS.items()},
        "map": map_settings(),
        "ago": ago_wording(current_language()),
    }
    return render_template("public/status.html", incidents=data["incidents"], page_data=page_data)


@bp.get("/status.json")
def status_json():
    return conditional_json(dashboard.public_status())


@bp.get("/vendor/leaflet/<path:filename>")
def leaflet_file(filename: str):
    # Leaflet comes from the XStatic-Leaflet package and is served from here: never a CDN.
    return send_from_directory(leaflet.BASE_DIR, filename, max_age=86400)


# "Posted 5 minutes ago": minutes under an hour, hours under two days, then days. The board's
# script (status.js) keeps these times current with the wording below, never the browser's
# Intl.RelativeTimeFormat: Chromium claims Kazakh (supportedLocalesOf(["kk"]) is ["kk"]) yet
# formats it from root data ("-1 min", "-3 h"), so the browser cannot be trusted to say it lacks
# a locale. One rule and one wording (Babel's CLDR data) on the server and in the script.
AGO_UNITS = (("day", 48 * 60, 1440), ("hour", 60, 60), ("minute", 1, 1))


def ago_unit(minutes: int) -> tuple[str, int]:
    """5 -> ("minute", 5); 150 -> ("hour", 3); 3000 -> ("day", 2). Rounds half up, as JavaScript."""
    for unit, from_minutes, per_unit in AGO_UNITS:
        if minutes >= from_minutes:
            return unit, math.floor(minutes / per_unit + 0.5)
    raise ValueError("a time in the past has at least one minute")


def _ago_text(count: int, unit: str, language: str) -> str:
    seconds = {"minute": 60, "hour": 3600, "day": 86400}[unit]
    return format_timedelta(
        timedelta(seconds=-count * seconds), granularity=unit, threshold=math.inf, add_direction=True, locale=language
    )


@cache
def _ago_patterns(language: str) -> dict[str, dict[str, str]]:
    """{"minute": {"one": "{0} minute ago", "other": "{0} minutes ago"}, "hour": ..., "day": ...}:
    what Babel writes for the first number of each plural category, the number taken out."""
    plural = Locale.parse(language).plural_form
    patterns: dict[str, dict[str, str]] = {}
    for unit, _from, _per in AGO_UNITS:
        patterns[unit] = {}
        for count in range(1, 101):
            patterns[unit].setdefault(plural(count), _ago_text(count, unit, language).replace(str(count), "{0}", 1))
    return patterns


def ago_wording(language: str) -> dict:
    """What status.js needs to say "5 minutes ago" as this page does, in the page's language."""
    return {"now": _("just now"), **_ago_patterns(language)}


@bp.app_template_filter("ago")
def ago(iso: str | None) -> str:
    """`2030-01-01T10:00:00Z` -> "5 minutes ago" (or "just now"), in the page's language."""
    if not iso:
        return ""
    posted = datetime.fromisoformat(iso.removesuffix("Z"))
    minutes = math.floor((utcnow() - posted).total_seconds() / 60 + 0.5)
    if minutes < 1:
        return _("just now")
    unit, count = ago_unit(minutes)
    return _ago_text(count, unit, current_language())


def leaflet_version() -> str:
    return leaflet.VERSION


def register_public(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["leaflet_version"] = leaflet_version()
