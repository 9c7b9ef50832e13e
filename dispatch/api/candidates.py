"""POST /api/v1/candidates: the preview a coordinator sees before posting an incident."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from .. import preview
from ..auth import require_role
from ..schemas import CandidatesIn
from . import bp
from .parsing import json_body


@bp.post("/candidates")
@require_role("coordinator")
def preview_candidates():
    found = preview.preview_candidates(json_body(CandidatesIn))
    body: dict = {
        "count": len(found.candidates),
        "candidates": [
            {
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
