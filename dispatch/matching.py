"""Who is eligible for a need, and in what order.

`find_candidates` searches outward, one SQL query a step: the volunteers in a small box
around the need first (2 km, 5 km with a skill), nearest first by a cheap lower bound of
their distance and at most about 2 × limit of them; it reads more (a bigger cap or box)
only until the `limit` best are certain: the last of them a whole tie step (TIE_KM) nearer
than anyone unread can be. The partial covering index ix_volunteers_reachable answers each
step on its own (a (lat, lon) range over the volunteers who can be texted and are
available, with every column a decision reads: no table lookups). Rows are read plain
(never ORM entities: 5-25x slower at this volume); geo decides exact distances and who is
within the radius; alert history (fatigue, accepted elsewhere, already called for this
incident) is asked only for the few at the front, in one query. `explain` reads the whole
radius, for coordinators and as the reference the tests hold find_candidates to.

The rules, in the order `exclusion_reason` reports them:
  inactive / opted_out / phone_problem  the person cannot be texted
  minor                                 under 18 on the day in Kazakhstan (the law bars them)
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

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import DateTime, Integer, any_, bindparam, or_, select
from sqlalchemy.dialects import postgresql

from geo import Area, BoundingBox, Point, bounding_box, fast_error_km, nearest_within

from . import prefilter
from .clock import utcnow
from .extensions import db
from .models import OPEN_INCIDENT_STATUSES, Alert, Incident, Volunteer
from .prefilter import is_minor

MAX_ALERTS_PER_HOUR = 3
TIE_KM = 0.1
LOCAL_TZ = ZoneInfo("Asia/Almaty")
_NEVER = datetime(1970, 1, 1)
# The outward search: the first box (km around the point or the area; a skill thins the
# crowd, so its first box is bigger), and how much more than `limit` the next box aims to
# hold (history and the local rules drop some).
FIRST_RADIUS_KM = 2.0
FIRST_RADIUS_SKILL_KM = 5.0
_HEADROOM = 1.3
# Rows read per step at most, per candidate wanted (nearest first; more where dense).
_CAP_PER_CANDIDATE = 2


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


def find_candidates(search: Search, now: datetime | None = None) -> list[Candidate]:
    """The best `search.limit` eligible volunteers, nearest first.

    Outward, each step one query: the rows of a box (FIRST_RADIUS_KM around the point or the
    area, then wider), nearest first by a bound that never exceeds the true distance, at
    most `cap` of them; everyone nearer than the reach of that read (the box's radius, or the
    bound of its last row when capped) is then known. Exact distances, the rules, and the
    history of the front-runners follow. It stops once `limit` are chosen and the last of
    them is a whole TIE_KM nearer than the reach: no one unread can come before them, not
    even on a tie. Else it reads more (a bigger cap, or a bigger box) up to the full radius.
    """
    now = now or utcnow()
    minute = _local_minute(now)
    history: dict[int, str | None] = {}
    radius = FIRST_RADIUS_KM if search.skill_bit is None else FIRST_RADIUS_SKILL_KM
    radius = search.radius_km if radius >= 0.7 * search.radius_km else radius
    cap = _CAP_PER_CANDIDATE * search.limit + 20
    while True:
        rows, reach = _prefilter(search, radius, now, cap)
        ranked = _ranked(search, rows, minute)
        if reach >= search.radius_km:
            return _take(search, ranked, history, now)
        sure = reach - TIE_KM - _edge_margin_km(reach)
        # Fewer than `limit` certain before history is asked: no answer from it can do; read on.
        if sum(1 for item in ranked if item[3] <= sure) >= search.limit:
            chosen = _take(search, ranked, history, now)
            if len(chosen) >= search.limit and chosen[-1].distance_km <= sure:
                return chosen
        if len(rows) >= cap:
            cap *= 4  # a dense box: more of it
        else:
            inside = sum(1 for item in ranked if item[3] <= radius and history.get(item[2]) is None)
            radius = _next_radius(search, radius, inside)


def explain(search: Search, now: datetime | None = None) -> tuple[list[Candidate], list[Exclusion]]:
    """Candidates, and every volunteer within the radius who is not one, with the first rule why.

    Reads every row in the box (no SQL rules) and applies `exclusion_reason` in Python, so
    it is slower than `find_candidates`; it is for coordinators' eyes and for tests.
    """
    now = now or utcnow()
    query = select(
        *prefilter.COLUMNS,
        Volunteer.status,
        Volunteer.phone,
        Volunteer.phone_problem,
        Volunteer.available,
        Volunteer.busy_until,
        Volunteer.birth_date,
    ).where(prefilter.bbox_clause(_box(search)))
    rows = db.session.execute(query).all()
    history = _history([row.id for row in rows], search, now)
    candidates, exclusions = [], []
    for row, distance in _within(search, rows):
        reason = exclusion_reason(search, row, distance, now, history)
        if reason is None:
            candidates.append((row, distance))
        else:
            exclusions.append(Exclusion(row.id, distance, reason))
    candidates.sort(key=_order)
    return [_candidate(search, row, d) for row, d in candidates[: search.limit]], exclusions


def exclusion_reason(search: Search, row, distance_km: float, now: datetime, history: dict) -> str | None:
    """The first rule (module docstring order) that keeps this volunteer out, or None."""
    if row.status == "opted_out":
        return "opted_out"
    if row.status != "active" or row.phone is None:
        return "inactive"
    if row.phone_problem is not None:
        return "phone_problem"
    if is_minor(row.birth_date, now):
        return "minor"
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
    return _box_at(search, search.radius_km)


def _within(search: Search, rows):
    """(row, distance_km) for rows within the radius (of the point, or of the area).

    rows are (id, lat, lon, ...): prefilter.COLUMNS' order."""
    if not rows:
        return []
    if search.area is None:
        by_id = dict(zip((row[0] for row in rows), rows))
        return [(by_id[i], d) for i, d in nearest_within(search.point, rows, search.radius_km)]
    lats = np.fromiter((r[1] for r in rows), dtype=float, count=len(rows))
    lons = np.fromiter((r[2] for r in rows), dtype=float, count=len(rows))
    distances = search.area.distances_km(lats, lons)
    return [(row, float(d)) for row, d in zip(rows, distances) if d <= search.radius_km]


def _local_reason(search: Search, row, distance_km: float, now: datetime) -> str | None:
    """Rules decided by the row and the distance alone (after the SQL ones)."""
    if distance_km > row.max_distance_km:
        return "beyond_own_max_distance"
    if search.exclude_inside_area and search.area is not None and distance_km == 0.0:
        return "inside_area"
    if search.severity != "extreme" and _in_quiet_hours(row.quiet_from_min, row.quiet_to_min, _local_minute(now)):
        return "quiet_hours"
    return None


def _local_minute(now: datetime) -> int:
    local = now.replace(tzinfo=UTC).astimezone(LOCAL_TZ)
    return local.hour * 60 + local.minute


def _in_quiet_hours(start: int | None, end: int | None, minute: int) -> bool:
    if start is None or end is None or start == end:
        return False
    return start <= minute < end if start < end else minute >= start or minute < end


def _box_at(search: Search, radius_km: float) -> BoundingBox:
    if search.area is not None:
        return search.area.bounding_box(radius_km)
    return bounding_box(search.point, radius_km)


def _prefilter(search: Search, radius_km: float, now: datetime, cap: int | None) -> tuple[list, float]:
    """The rows of the box of radius_km around the point or the area, and the reach of the
    read (see prefilter.read_box)."""
    if search.area is not None:
        inner = search.area.bounding_box(0.0)
    else:
        inner = BoundingBox(search.point.lat, search.point.lat, search.point.lon, search.point.lon)
    return prefilter.read_box(_box_at(search, radius_km), inner, search.skill_bit, now, cap, radius_km)


def _ranked(search: Search, rows, minute: int) -> list[tuple]:
    """(bucket, last alerted, id, distance, row) for the rows within the search radius that
    pass the local rules, in candidate order (the tuples sort as _order does).

    Membership is always against search.radius_km, whatever box the rows came from, so a row
    gets the same distance whichever step of the outward search reads it. The rules are
    _local_reason's, inlined: this runs for every row read, explain's path for few."""
    quiet = search.severity != "extreme"
    inside_out = search.exclude_inside_area and search.area is not None
    ranked = []
    for row, distance in _within(search, rows):
        if distance > row[3]:  # max_distance_km
            continue
        if inside_out and distance == 0.0:
            continue
        if quiet and row[6] is not None and _in_quiet_hours(row[6], row[7], minute):  # quiet_from/to_min
            continue
        ranked.append((round(distance / TIE_KM), row[5] or _NEVER, row[0], distance, row))
    ranked.sort()
    return ranked


def _order(item) -> tuple:
    row, distance = item
    return (round(distance / TIE_KM), row.last_alerted_at or _NEVER, row.id)


def _take(search: Search, ranked: list[tuple], history: dict[int, str | None], now: datetime) -> list[Candidate]:
    """The first `limit` of ranked whom alert history does not rule out.

    history caches volunteer id -> reason (None: clear) across the steps of one search. The
    first window asks for a few more than `limit` (most are clear); later ones for more."""
    chosen: list[Candidate] = []
    start, window = 0, search.limit + 10
    while start < len(ranked) and len(chosen) < search.limit:
        part = ranked[start : start + window]
        unknown = [item[2] for item in part if item[2] not in history]
        if unknown:
            found = _history(unknown, search, now)
            for vid in unknown:
                history[vid] = found.get(vid)
        for _, _, vid, distance, row in part:
            if history[vid] is None:
                chosen.append(_candidate(search, row, distance))
                if len(chosen) >= search.limit:
                    break
        start += len(part)
        window = max(search.limit * 2, 20)
    return chosen


def _edge_margin_km(radius_km: float) -> float:
    """How far inside the searched radius a computed distance may read for someone outside
    it: the fast formula's error, and the area distance's chord error (< 1 m)."""
    return float(fast_error_km(radius_km)) + 0.002


def _next_radius(search: Search, radius_km: float, inside: int) -> float:
    """The next box: big enough, by the density seen so far, to hold limit × headroom."""
    if inside == 0:
        grown = radius_km * 4
    else:
        grown = radius_km * math.sqrt(search.limit * _HEADROOM / inside) * 1.1
    grown = max(grown, radius_km * 1.5) + TIE_KM
    # Nearly all of it anyway: read it all, and spare one more round.
    return search.radius_km if grown >= 0.7 * search.radius_km else grown


def _history(volunteer_ids: list[int], search: Search, now: datetime) -> dict[int, str]:
    """volunteer_id -> the alert-history rule that excludes them, for those it does.

    One query per 500 volunteers reads the alerts that can matter (of the last hour, accepted,
    or for this incident); the rules are decided here. Where several apply, the first in the
    module docstring's order wins (accepted_elsewhere, then alert_limit, then already_alerted).
    """
    if not volunteer_ids:
        return {}
    connection = db.session.connection()
    statement = _history_statement(connection.dialect.name)
    since = now - timedelta(hours=1)
    params = {"since": since, "incident_id": search.incident_id if search.incident_id is not None else -1}
    reasons: dict[int, str] = {}
    recent: dict[int, int] = {}
    for chunk in (volunteer_ids[i : i + 500] for i in range(0, len(volunteer_ids), 500)):
        for vid, incident_id, status, created_at, incident_status in connection.execute(
            statement, {**params, "ids": chunk}
        ):
            if status == "accepted" and incident_status in OPEN_INCIDENT_STATUSES and incident_id != search.incident_id:
                reasons[vid] = "accepted_elsewhere"
            if created_at > since:
                recent[vid] = recent.get(vid, 0) + 1
                if recent[vid] >= MAX_ALERTS_PER_HOUR and reasons.get(vid) != "accepted_elsewhere":
                    reasons[vid] = "alert_limit"
            if incident_id == search.incident_id:
                reasons.setdefault(vid, "already_alerted")
    return reasons


@cache
def _history_statement(dialect: str):
    """The alerts the history rules read, built once (building costs more than running it).

    On PostgreSQL the ids go as one array (`= ANY(:ids)`): one text for any number of them."""
    if dialect == "postgresql":
        among = Alert.volunteer_id == any_(bindparam("ids", type_=postgresql.ARRAY(Integer)))
    else:
        among = Alert.volunteer_id.in_(bindparam("ids", expanding=True))
    return (
        select(Alert.volunteer_id, Alert.incident_id, Alert.status, Alert.created_at, Incident.status)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(
            among,
            or_(
                Alert.created_at > bindparam("since", type_=DateTime()),
                Alert.status == "accepted",
                Alert.incident_id == bindparam("incident_id", type_=Integer()),
            ),
        )
    )


def _candidate(search: Search, row, distance_km: float) -> Candidate:
    where = "inside the area" if search.area is not None and distance_km == 0 else f"{distance_km:.1f} km away"
    skill = "has the skill" if search.skill_bit is not None else "any volunteer"
    return Candidate(row.id, distance_km, row.skill_mask, f"{where}, {skill}, available")


def reachable(search: Search, now: datetime | None = None) -> list[tuple[int, float, bool]]:
    """(volunteer_id, distance_km, in quiet hours now) of everyone who can be texted and is
    available (the SQL rules: not busy, not a minor), within the radius of the point or the
    area and within their own max distance, nearest first. No skill, alert-history or
    quiet-hours rule: for notices that ask no answer (dispatch/standby.py), whose caller
    decides on quiet hours. Reads the whole box: the caller bounds what it does with it."""
    now = now or utcnow()
    minute = _local_minute(now)
    rows, _reach = _prefilter(search, search.radius_km, now, None)
    found = [
        (row[0], distance, row[6] is not None and _in_quiet_hours(row[6], row[7], minute))
        for row, distance in _within(search, rows)
        if distance <= row[3]  # max_distance_km
    ]
    found.sort(key=lambda item: (item[1], item[0]))
    return found
