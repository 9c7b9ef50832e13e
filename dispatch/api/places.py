"""Finding places offline (the gazetteer) and the list of regions."""

from __future__ import annotations

from flask import request

from ..auth import require_role
from ..gazetteer import LANGUAGES, MAX_PLACES, find_places, regions_json
from . import bp
from .parsing import query_choice, query_int


@bp.get("/places")
@require_role("viewer")
def list_places():
    query = request.args.get("q", "")
    limit = query_int("limit", 10, 1, MAX_PLACES)
    lang = query_choice("lang", LANGUAGES) or "en"
    return {"items": find_places(query, limit, lang)}


@bp.get("/regions")
@require_role("viewer")
def list_regions():
    return regions_json()
