"""The JSON API under /api/v1: thin routes (parse, one use case, serialize)."""

from flask import Blueprint, Flask, request

from ..errors import ValidationFailed
from ..extensions import csrf
from ..schemas import CONTROL_CHARACTERS, has_control_characters

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def refuse_control_characters_in_the_query() -> None:
    """No query value reaches a route, nor the database, with a NUL or another control
    character in it (PostgreSQL refuses a NUL in any text parameter): 400 naming the parameter."""
    for name, value in request.args.items(multi=True):
        if has_control_characters(name) or has_control_characters(value):
            raise ValidationFailed(
                f"Query parameter {name!r} {CONTROL_CHARACTERS}.", {"fields": {name: CONTROL_CHARACTERS}}
            )


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
