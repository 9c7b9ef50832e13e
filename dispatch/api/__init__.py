"""The JSON API under /api/v1: thin routes (parse, one use case, serialize)."""

from flask import Blueprint, Flask

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def register_api(app: Flask) -> None:
    from . import (  # noqa: F401  (routes attach themselves to bp)
        activity,
        candidates,
        cap_documents,
        certificates,
        incidents,
        openapi,
        organizations,
        places,
        volunteers,
    )

    # Bearer tokens, not cookies: no browser form posts here, so no CSRF token either.
    csrf.exempt(bp)
    app.register_blueprint(bp)
