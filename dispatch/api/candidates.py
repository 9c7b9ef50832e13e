"""POST /api/v1/candidates: the preview a coordinator sees before posting an incident."""
from __future__ import annotations

from collections import Counter

from geo import Point
from notifications.texts import count_segments

from .. import alerting, geocoding, matching
from ..auth import require_role
from ..errors import ValidationFailed
from ..extensions import db
from ..models import LANGUAGES, Incident
from ..skills import SkillCatalogue
from . import bp
from .parsing import json_body
from ..schemas import CandidatesIn


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
    if data.kind and data.title:
        body["sms_preview"] = sms_preview(data, catalogue, candidates)
    # Nothing was written, but end with COMMIT: a ROLLBACK (what closing the session would do)
    # makes psycopg forget the statements it has prepared, and the next preview plans afresh.
    db.session.commit()
    return body


def sms_preview(data: CandidatesIn, catalogue: SkillCatalogue, candidates) -> list[dict]:
    """The alert as each language would read it, at the farthest candidate's distance, with
    its segment count (the code is a placeholder until the incident is posted)."""
    draft = Incident(code="000", kind=data.kind, title=data.title, lat=data.lat, lon=data.lon,
                     place=geocoding.place_name(Point(data.lat, data.lon)), drill=data.drill)
    distance = max((c.distance_km for c in candidates), default=data.radius_km)
    preview = []
    for language in LANGUAGES:
        text = alerting.alert_text(draft, language, distance,
                                   catalogue.name(data.skill, language) if data.skill else None)
        count = count_segments(text)
        preview.append({"language": language, "text": text, "segments": count.segments, "encoding": count.encoding})
    return preview
