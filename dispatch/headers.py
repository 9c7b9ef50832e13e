"""Headers every answer gets, pages, API and webhooks alike: personal data is never stored by a
cache, production is HTTPS only (HSTS), and a Location never names a host the client made up.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, current_app, request

# Answers that carry personal data (volunteers, incidents, replies): never kept by a browser or
# a proxy. The API's description and its public status are the exceptions.
NO_STORE_PREFIXES = ("/api/v1/", "/console")
STORABLE = ("/api/v1/openapi.json", "/api/v1/status")
HSTS = "max-age=31536000; includeSubDomains"


def register_headers(app: Flask) -> None:
    production = app.config["DISPATCH_ENV"] == "production"

    @app.after_request
    def response_headers(response: Response) -> Response:
        if request.path.startswith(NO_STORE_PREFIXES) and request.path not in STORABLE:
            response.headers["Cache-Control"] = "no-store"
        if production:  # production runs behind TLS
            response.headers["Strict-Transport-Security"] = HSTS
        location = response.headers.get("Location")
        if location:
            response.headers["Location"] = own_location(location, current_app.config["PUBLIC_BASE_URL"])
        return response


def own_location(location: str, public_base_url: str) -> str:
    """An absolute Location on another origin than PUBLIC_BASE_URL becomes a path on this site.

    Werkzeug builds absolute redirects (a missing trailing slash) from the request's Host header,
    which the client chooses; this service never redirects off-site, so any other origin in a
    Location came from that header.
    """
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return location
    public = urlsplit(public_base_url)
    if (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower()):
        return location
    # One leading slash: "//host/x" (or "/\\host") would be read as another site again.
    path = "/" + parts.path.lstrip("/\\")
    return urlunsplit(("", "", path, parts.query, parts.fragment))
