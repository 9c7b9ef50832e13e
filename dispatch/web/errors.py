"""Errors on pages: a person's browser gets the error page in its language, not the API's JSON.

The app-wide handlers (dispatch/errors.py) ask `page_error` first; it answers None for the
JSON API, the webhooks and the machine endpoints, which keep the one JSON error shape.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, make_response, render_template, request
from flask_babel import refresh

from .i18n import error_message, remember_language

log = logging.getLogger(__name__)
# Paths that programs call: always the JSON error shape.
MACHINE_PREFIXES = ("/api/", "/sms/", "/telegram/", "/healthz", "/status.json", "/static/", "/vendor/")


def page_error(status: int, code: str) -> Response | None:
    if request.path.startswith(MACHINE_PREFIXES) or not request.accept_mimetypes.accept_html:
        return None
    try:
        # The error may come before any page hook has read ?lang= (a body refused before routing).
        remember_language()
        refresh()
        return make_response(render_template("error.html", status=status, message=error_message(code)))
    except Exception:  # the page itself failed (a database outage): the JSON answer still goes out
        log.exception("error page could not be rendered")
        return None


def register_page_errors(app: Flask) -> None:
    app.extensions["page_error"] = page_error
