"""POST /api/v1/candidates: the preview a coordinator sees before posting an incident."""
from __future__ import annotations

from collections import Counter

from geo import Point

from .. import matching
from ..auth import require_role
from ..errors import ValidationFailed
from ..skills import SkillCatalogue
from . import bp
from .parsing import json_body
from .schemas import CandidatesIn


@bp.post("/candidates")
@require_role("coordinator")
def preview_candidates():
    data = json_body(CandidatesIn)
    catalogue = SkillCatalogue.load()
    if data.skill is not None and data.skill not in catalogue.bits:
        raise ValidationFailed(f"Unknown skill {data.skill!r}.", {"fields": {"skill": "unknown skill"}})
    search = matching.Search(
        point=Point(data.lat, data.lon),
        radius_km=data.radius_km,
        skill_bit=catalogue.bits[data.skill] if data.skill else None,
        area=data.area_shape(),
        exclude_inside_area=data.exclude_inside_area,
        severity=data.severity,
        limit=data.limit,
    )
    if data.explain:
        candidates, excluded = matching.explain(search)
    else:
        candidates, excluded = matching.find_candidates(search), None
    body = {
        "count": len(candidates),
        "candidates": [
            {
                "volunteer_id": c.volunteer_id,
                "distance_km": round(c.distance_km, 3),
                "skills": catalogue.codes_of(c.skill_mask),
                "available": True,
                "reason": c.reason,
            }
            for c in candidates
        ],
    }
    if excluded is not None:
        body["excluded"] = dict(Counter(e.reason for e in excluded))
    return body
