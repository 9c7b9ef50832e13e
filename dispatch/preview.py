"""The preview before an incident is posted: who the dispatch would text, by its own rules,
and the alert SMS in every language with its segment count. Nothing is written.

One use case behind both POST /api/v1/candidates and the console's incident form, so the two
cannot drift: the same skill check, needs merging, search, wave sizing and SMS draft.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from geo import Area, Point, parse_geojson_area
from notifications.texts import count_segments

from . import alerting, geocoding, incidents, matching, scopes
from .extensions import db
from .gazetteer import region_for
from .matching import Candidate, Exclusion
from .models import LANGUAGES, Incident, Volunteer
from .schemas import CandidatesIn, IncidentIn
from .skills import SkillCatalogue

# The console lists the nearest few of each need, out of at most this many searched.
LISTED = 10
SEARCHED = 500


@dataclass
class SmsPreview:
    language: str
    text: str
    segments: int
    encoding: str


@dataclass
class CandidateList:
    """POST /api/v1/candidates: the eligible volunteers, nearest first."""

    candidates: list[Candidate]
    excluded: list[Exclusion] | None  # only when asked to explain
    sms: list[SmsPreview] | None  # only when given a kind and a title
    catalogue: SkillCatalogue
    # Candidates outside the reader's scope: counted and placed (matching ignores borders), but
    # shown without their id and with whole-km distances.
    unnamed: frozenset[int] = frozenset()


@dataclass
class NeedPreview:
    skill: str | None
    count: int
    eligible: int  # within the radius now (up to SEARCHED)
    first_wave: int
    nearest: list[dict]
    excluded: dict[str, int] = field(default_factory=dict)


@dataclass
class IncidentPreview:
    """The console's form: each need's first wave and the SMS."""

    needs: list[NeedPreview]
    sms: list[SmsPreview]


@dataclass(frozen=True)
class Draft:
    """What an alert SMS is written from, before the incident exists."""

    kind: str
    title: str
    lat: float
    lon: float
    drill: bool


def preview_candidates(
    data: CandidatesIn, now: datetime | None = None, scope: scopes.Scope = scopes.NATIONAL
) -> CandidateList:
    """A scoped coordinator previews only where they may post (403 OUT_OF_SCOPE elsewhere)."""
    scope.check_region(region_for(data.lat, data.lon))
    catalogue = SkillCatalogue.load()
    search = _search(
        data.lat,
        data.lon,
        data.radius_km,
        catalogue.bit(data.skill, "skill"),
        data.area_shape(),
        data.exclude_inside_area,
        data.severity,
        data.limit,
    )
    excluded: list[Exclusion] | None = None
    if data.explain:
        found, excluded = matching.explain(search, now)
    else:
        found = matching.find_candidates(search, now)
    sms = None
    if data.kind and data.title:
        draft = Draft(data.kind, data.title, data.lat, data.lon, data.drill)
        sms = sms_preview(draft, data.skill, found, data.radius_km, catalogue)
    unnamed = _outside(scope, [c.volunteer_id for c in found])
    _end_read_only()
    return CandidateList(candidates=found, excluded=excluded, sms=sms, catalogue=catalogue, unnamed=unnamed)


def _outside(scope: scopes.Scope, volunteer_ids: list[int]) -> frozenset[int]:
    if scope.national or not volunteer_ids:
        return frozenset()
    rows = db.session.execute(
        select(Volunteer.id, Volunteer.region, Volunteer.organization_id).where(Volunteer.id.in_(volunteer_ids))
    ).all()
    return frozenset(vid for vid, region, org_id in rows if not scope.holds(region, org_id))


def preview_incident(
    data: IncidentIn, now: datetime | None = None, scope: scopes.Scope = scopes.NATIONAL
) -> IncidentPreview:
    """Who the first wave would text for each need and the SMS they would read. `data` has
    lat and lon (the console's form always does). Outside `scope` the nearest are unnamed."""
    if data.lat is None or data.lon is None:
        raise ValueError("preview_incident needs coordinates")
    scope.check_region(region_for(data.lat, data.lon, data.region))
    catalogue = SkillCatalogue.load()
    merged = incidents.merge_needs(data.needs, catalogue)
    radius = data.radius_km or incidents.DEFAULT_RADIUS_KM
    area = parse_geojson_area(data.area) if data.area else None
    needs, first_waves = [], []
    # Specific skills first, as the waves fill them.
    for skill, count in sorted(merged.items(), key=lambda item: item[0] is None):
        search = _search(
            data.lat,
            data.lon,
            radius,
            catalogue.bit(skill, "needs"),
            area,
            data.exclude_inside_area,
            data.severity,
            SEARCHED,
        )
        found, excluded = matching.explain(search, now)
        first_wave = min(len(found), alerting.wave_size(count))
        first_waves += found[:first_wave]
        needs.append(
            NeedPreview(
                skill=skill,
                count=count,
                eligible=len(found),
                first_wave=first_wave,
                nearest=_named(found[:LISTED], scope),
                excluded=dict(Counter(e.reason for e in excluded).most_common()),
            )
        )
    skill = next((skill for skill in merged if skill), None)
    draft = Draft(data.kind, data.title, data.lat, data.lon, data.drill)
    sms = sms_preview(draft, skill, first_waves, radius, catalogue)
    _end_read_only()
    return IncidentPreview(needs=needs, sms=sms)


def sms_preview(
    draft: Draft, skill: str | None, candidates: list[Candidate], radius_km: float, catalogue: SkillCatalogue
) -> list[SmsPreview]:
    """The alert as each language would read it, at the farthest of these candidates (the
    radius when there are none), with its segment count. The reply code is a placeholder of
    the same length until the incident is posted; the place name is the one the report gets."""
    incident = Incident(
        code="000",
        kind=draft.kind,
        title=draft.title,
        lat=draft.lat,
        lon=draft.lon,
        place=geocoding.place_name(Point(draft.lat, draft.lon)),
        drill=draft.drill,
    )
    distance = max((c.distance_km for c in candidates), default=radius_km)
    out = []
    for language in LANGUAGES:
        text = alerting.alert_text(incident, language, distance, catalogue.name(skill, language) if skill else None)
        count = count_segments(text)
        out.append(SmsPreview(language, text, count.segments, count.encoding))
    return out


def _search(
    lat: float,
    lon: float,
    radius_km: float,
    skill_bit: int | None,
    area: Area | None,
    exclude_inside_area: bool,
    severity: str,
    limit: int,
) -> matching.Search:
    return matching.Search(
        point=Point(lat, lon),
        radius_km=radius_km,
        skill_bit=skill_bit,
        area=area,
        exclude_inside_area=exclude_inside_area,
        severity=severity,
        limit=limit,
    )


def _named(candidates: list[Candidate], scope: scopes.Scope = scopes.NATIONAL) -> list[dict]:
    names = dict(
        db.session.execute(
            select(Volunteer.id, Volunteer.name).where(Volunteer.id.in_([c.volunteer_id for c in candidates]))
        ).all()
    )
    outside = _outside(scope, [c.volunteer_id for c in candidates])
    return [
        {
            "volunteer_id": None if c.volunteer_id in outside else c.volunteer_id,
            "name": None if c.volunteer_id in outside else names.get(c.volunteer_id),
            "distance_km": float(round(c.distance_km)) if c.volunteer_id in outside else c.distance_km,
            "reason": None if c.volunteer_id in outside else c.reason,
        }
        for c in candidates
    ]


def _end_read_only() -> None:
    # Nothing was written, but end with COMMIT: a ROLLBACK (what closing the session would do)
    # makes psycopg forget the statements it has prepared, and the next preview plans afresh.
    db.session.commit()
