"""The public status board: `/` (no login, no personal data) and `/status.json`, which the page
polls with If-None-Match to update itself within seconds of a change.

Both show exactly what GET /api/v1/status shows (presenters.public_incident_json); the leak
test in tests/web checks that no volunteer's name or number ever reaches them.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, send_from_directory
from flask_babel import format_timedelta
from xstatic.pkg import leaflet

from .. import dashboard
from ..clock import utcnow
from .i18n import LABELS, current_language, remember_language, skill_names
from .live import conditional_json
from .pages import map_settings

bp = Blueprint("public", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
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
    }
    return render_template("public/status.html", incidents=data["incidents"], page_data=page_data)


@bp.get("/status.json")
def status_json():
    return conditional_json(dashboard.public_status())


@bp.get("/vendor/leaflet/<path:filename>")
def leaflet_file(filename: str):
    # Leaflet comes from the XStatic-Leaflet package and is served from here: never a CDN.
    return send_from_directory(leaflet.BASE_DIR, filename, max_age=86400)


@bp.app_template_filter("ago")
def ago(iso: str | None) -> str:
    """`2030-01-01T10:00:00Z` -> "5 minutes ago", in the page's language."""
    if not iso:
        return ""
    posted = datetime.fromisoformat(iso.removesuffix("Z"))
    return format_timedelta(posted - utcnow(), add_direction=True, granularity="minute", threshold=1)


def leaflet_version() -> str:
    return leaflet.VERSION


def register_public(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["leaflet_version"] = leaflet_version()
