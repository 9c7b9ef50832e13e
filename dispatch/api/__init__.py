"""The JSON API under /api/v1: thin routes (parse, one use case, serialize)."""
from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def register_api(app: Flask) -> None:
    from . import candidates, incidents, openapi, volunteers  # noqa: F401  (routes attach themselves to bp)

    app.register_blueprint(bp)
