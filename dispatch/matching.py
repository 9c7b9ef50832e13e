"""Who is eligible for a need, and in what order.

An indexed bounding box prefilters in SQL and reads plain rows (never ORM entities: 5-25x
slower at this volume); geo decides exact distances; alert history (fatigue, accepted
elsewhere, already called for this incident) is checked only for the few at the front.

The rules, in the order `exclusion_reason` reports them:
  inactive / opted_out / phone_problem  the person cannot be texted
  unavailable / busy                    their own switch, or busy_until in the future
  lacks_skill                           the need asks for a skill they do not have
  beyond_own_max_distance               farther than they said they would travel
  inside_area                           inside the affected area when it excludes its own
  quiet_hours                           their quiet hours (ignored for `extreme` severity)
  accepted_elsewhere                    already accepted on another open incident
  alert_limit                           MAX_ALERTS_PER_HOUR alerts in the last hour
  already_alerted                       one alert per volunteer per incident
Among equally near candidates (same 100 m), whoever was alerted least recently goes first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import and_, func, or_, select

from geo import Area, BoundingBox, Point, bounding_box, nearest_within

from .clock import utcnow
from .extensions import db
from .models import OPEN_INCIDENT_STATUSES, Alert, Incident, Volunteer

MAX_ALERTS_PER_HOUR = 3
TIE_KM = 0.1
LOCAL_TZ = ZoneInfo("Asia/Almaty")
_NEVER = datetime(1970, 1, 1)

# The columns a decision needs, read as plain rows.
_COLUMNS = (
    Volunteer.id,
    Volunteer.lat,
    Volunteer.lon,
    Volunteer.max_distance_km,
    Volunteer.skill_mask,
    Volunteer.last_alerted_at,
    Volunteer.quiet_from_min,
    Volunteer.quiet_to_min,
)


@dataclass(frozen=True)
class Search:
    """Where and whom: the same shape serves the preview and the dispatch."""

    point: Point
    radius_km: float
    skill_bit: int | None = None  # None: any volunteer
    area: Area | None = None
    exclude_inside_area: bool = False
    severity: str = "severe"
    incident_id: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class Candidate:
    volunteer_id: int
    distance_km: float
    skill_mask: int
    reason: str


@dataclass(frozen=True)
class Exclusion:
    volunteer_id: int
    distance_km: float
    reason: str


def bbox_clause(box: BoundingBox):
    """WHERE clause for the (lat, lon) index: one box, or two across the antimeridian."""
    return or_(
        *(
            and_(Volunteer.lat.between(part.min_lat, part.max_lat), Volunteer.lon.between(part.min_lon, part.max_lon))
            for part in box.split()
        )
    )


def eligible_now_clause(now: datetime):
    """The row-local rules, in SQL: can be texted, available, not busy."""
    return and_(
        Volunteer.status == "active",
        Volunteer.phone.is_not(None),
        Volunteer.phone_problem.is_(None),
        Volunteer.available.is_(True),
        or_(Volunteer.busy_until.is_(None), Volunteer.busy_until <= now),
    )


def find_candidates(search: Search, now: datetime | None = None) -> list[Candidate]:
    """The best `search.limit` eligible volunteers, nearest first."""
    now = now or utcnow()
    query = select(*_COLUMNS).where(bbox_clause(_box(search)), eligible_now_clause(now))
    if search.skill_bit is not None:
        query = query.where(Volunteer.skill_mask.op("&")(1 << search.skill_bit) != 0)
    rows = db.session.execute(query).all()
    ranked = [(row, d) for row, d in _within(search, rows) if _local_reason(search, row, d, now) is None]
    ranked.sort(key=lambda item: (round(item[1] / TIE_KM), item[0].last_alerted_at or _NEVER, item[0].id))
    return _drop_by_history(search, ranked, now)


def explain(search: Search, now: datetime | None = None) -> tuple[list[Candidate], list[Exclusion]]:
    """Candidates, and every volunteer within the radius who is not one, with the first rule why.

    Reads every row in the box (no SQL rules) and applies `exclusion_reason` in Python, so
    it is slower than `find_candidates`; it is for coordinators' eyes and for tests.
    """
    now = now or utcnow()
    query = select(*_COLUMNS, Volunteer.status, Volunteer.phone, Volunteer.phone_problem, Volunteer.available,
                   Volunteer.busy_until).where(bbox_clause(_box(search)))
    rows = db.session.execute(query).all()
    history = _history([row.id for row in rows], search, now)
    candidates, exclusions = [], []
    for row, distance in _within(search, rows):
        reason = exclusion_reason(search, row, distance, now, history)
        if reason is None:
            candidates.append((row, distance))
        else:
            exclusions.append(Exclusion(row.id, distance, reason))
    candidates.sort(key=lambda item: (round(item[1] / TIE_KM), item[0].last_alerted_at or _NEVER, item[0].id))
    return [_candidate(search, row, d) for row, d in candidates[: search.limit]], exclusions


def exclusion_reason(search: Search, row, distance_km: float, now: datetime, history: dict) -> str | None:
    """The first rule (module docstring order) that keeps this volunteer out, or None."""
    if row.status == "opted_out":
        return "opted_out"
    if row.status != "active" or row.phone is None:
        return "inactive"
    if row.phone_problem is not None:
        return "phone_problem"
    if not row.available:
        return "unavailable"
    if row.busy_until is not None and row.busy_until > now:
        return "busy"
    if search.skill_bit is not None and not row.skill_mask >> search.skill_bit & 1:
        return "lacks_skill"
    reason = _local_reason(search, row, distance_km, now)
    if reason is not None:
        return reason
    return history.get(row.id)


def _box(search: Search) -> BoundingBox:
    if search.area is not None:
        return search.area.bounding_box(search.radius_km)
    return bounding_box(search.point, search.radius_km)


def _within(search: Search, rows):
    """(row, distance_km) for rows within the radius (of the point, or of the area)."""
    if not rows:
        return []
    if search.area is None:
        by_id = {row.id: row for row in rows}
        hits = nearest_within(search.point, [(r.id, r.lat, r.lon) for r in rows], search.radius_km)
        return [(by_id[i], d) for i, d in hits]
    lats = np.fromiter((r.lat for r in rows), dtype=float, count=len(rows))
    lons = np.fromiter((r.lon for r in rows), dtype=float, count=len(rows))
    distances = search.area.distances_km(lats, lons)
    return [(row, float(d)) for row, d in zip(rows, distances) if d <= search.radius_km]


def _local_reason(search: Search, row, distance_km: float, now: datetime) -> str | None:
    """Rules decided by the row and the distance alone (after the SQL ones)."""
    if distance_km > row.max_distance_km:
        return "beyond_own_max_distance"
    if search.exclude_inside_area and search.area is not None and distance_km == 0.0:
        return "inside_area"
    if search.severity != "extreme" and _in_quiet_hours(row, now):
        return "quiet_hours"
    return None


def _in_quiet_hours(row, now: datetime) -> bool:
    start, end = row.quiet_from_min, row.quiet_to_min
    if start is None or end is None or start == end:
        return False
    local = now.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ)
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end


def _drop_by_history(search: Search, ranked: list, now: datetime) -> list[Candidate]:
    """Take from the front, checking alert history a window at a time."""
    chosen: list[Candidate] = []
    window = max(search.limit * 2, 20)
    for start in range(0, len(ranked), window):
        part = ranked[start : start + window]
        history = _history([row.id for row, _ in part], search, now)
        for row, distance in part:
            if row.id not in history:
                chosen.append(_candidate(search, row, distance))
                if len(chosen) >= search.limit:
                    return chosen
    return chosen


def _history(volunteer_ids: list[int], search: Search, now: datetime) -> dict[int, str]:
    """volunteer_id -> the alert-history rule that excludes them, for those it does."""
    if not volunteer_ids:
        return {}
    reasons: dict[int, str] = {}
    for chunk in (volunteer_ids[i : i + 500] for i in range(0, len(volunteer_ids), 500)):
        if search.incident_id is not None:
            for (vid,) in db.session.execute(
                select(Alert.volunteer_id).where(Alert.incident_id == search.incident_id, Alert.volunteer_id.in_(chunk))
            ):
                reasons.setdefault(vid, "already_alerted")
        for vid, count in db.session.execute(
            select(Alert.volunteer_id, func.count())
            .where(Alert.volunteer_id.in_(chunk), Alert.created_at > now - timedelta(hours=1))
            .group_by(Alert.volunteer_id)
        ):
            if count >= MAX_ALERTS_PER_HOUR:
                reasons[vid] = "alert_limit"
        accepted = select(Alert.volunteer_id).join(Incident, Incident.id == Alert.incident_id).where(
            Alert.volunteer_id.in_(chunk),
            Alert.status == "accepted",
            Incident.status.in_(OPEN_INCIDENT_STATUSES),
        )
        if search.incident_id is not None:
            accepted = accepted.where(Alert.incident_id != search.incident_id)
        for (vid,) in db.session.execute(accepted):
            reasons[vid] = "accepted_elsewhere"
    return reasons


def _candidate(search: Search, row, distance_km: float) -> Candidate:
    where = "inside the area" if search.area is not None and distance_km == 0 else f"{distance_km:.1f} km away"
    skill = "has the skill" if search.skill_bit is not None else "any volunteer"
    return Candidate(row.id, distance_km, row.skill_mask, f"{where}, {skill}, available")
