"""POST /api/v1/candidates: the preview a coordinator sees before posting an incident."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from .. import preview, scopes
from ..auth import current_user, require_role
from ..presenters import coarse_km, coarse_reason
from ..schemas import CandidatesIn
from . import bp
from .parsing import json_body


@bp.post("/candidates")
@require_role("coordinator")
def preview_candidates():
    found = preview.preview_candidates(json_body(CandidatesIn), scope=scopes.of(current_user()))
    body: dict = {
        "count": len(found.candidates),
        "candidates": [
            # Outside the reader's scope: no id, the distance to the whole km (matching ignores borders).
            {
                "volunteer_id": None,
                "distance_km": coarse_km(c.distance_km),
                "skills": found.catalogue.codes_of(c.skill_mask),
                "available": True,
                "reason": coarse_reason(c.reason),
            }
            if c.volunteer_id in found.unnamed
            else {
                "volunteer_id": c.volunteer_id,
                "distance_km": round(c.distance_km, 3),
                "skills": found.catalogue.codes_of(c.skill_mask),
                "available": True,
                "reason": c.reason,
            }
            for c in found.candidates
        ],
    }
    if found.excluded is not None:
        body["excluded"] = dict(Counter(e.reason for e in found.excluded))
    if found.sms is not None:
        body["sms_preview"] = [asdict(s) for s in found.sms]
    return body
