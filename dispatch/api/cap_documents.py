"""CAP 1.2 warnings in: POST /cap (a document), and POST /incidents/{id}/dispatch (a draft goes out)."""

from __future__ import annotations

from flask import request

from .. import warnings_in
from ..auth import current_user, require_role
from ..errors import UnsupportedMediaType
from ..presenters import incident_json
from ..schemas import DispatchIn
from . import bp
from .parsing import json_body

CAP_MEDIA_TYPES = ("application/cap+xml", "application/xml", "text/xml")


@bp.post("/cap")
@require_role("coordinator")
def post_cap():
    if request.mimetype not in CAP_MEDIA_TYPES:
        raise UnsupportedMediaType("Send the CAP 1.2 document as application/cap+xml or application/xml.")
    outcome = warnings_in.ingest(request.get_data(cache=False), current_user())
    return {"incidents": [incident_json(i) for i in outcome.incidents]}, 201 if outcome.changed else 200


@bp.post("/incidents/<id:incident_id>/dispatch")
@require_role("coordinator")
def dispatch_draft(incident_id: int):
    data = json_body(DispatchIn)
    return incident_json(warnings_in.dispatch_draft(incident_id, data, current_user())), 200
