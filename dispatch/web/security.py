"""Browser-facing protections: CSRF on every form, session cookie flags, security headers.

The Content-Security-Policy allows scripts and styles from this origin only (no inline
script, no inline event handlers) and images from here plus the configured map tile server.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from .. import users
from ..extensions import csrf

# A form stays good for a long shift (a console left open all day still posts); an older one
# gets the "form has expired" page and a reload gives it a fresh token.
CSRF_TOKEN_LIFETIME = timedelta(hours=12)


def tile_origin(tile_url: str) -> str | None:
    """`https://{s}.tile.example/{z}/{x}/{y}.png` -> `https://*.tile.example` (for img-src)."""
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "a"))
    host = parts.netloc
    if "{s}" in tile_url.split("/")[2]:
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str) -> str:
    images = " ".join(filter(None, ("'self'", "data:", tile_origin(tile_url))))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def register_security(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["DISPATCH_ENV"] == "production",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=app.config["DISPATCH_ENV"] == "production",
        WTF_CSRF_TIME_LIMIT=int(CSRF_TOKEN_LIFETIME.total_seconds()),
        # The browser forgets the session cookie when the server-side session would end unused.
        PERMANENT_SESSION_LIFETIME=users.SESSION_IDLE_LIMIT,
    )
    csrf.init_app(app)
    policy = content_security_policy(app.config["MAP_TILE_URL"])

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Cross-origin requests (map tiles) carry our origin only: tile servers ask for it.
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        message = _("This form has expired or did not come from this site. Go back, reload the page and try again.")
        return render_template("error.html", status=400, message=message), 400
