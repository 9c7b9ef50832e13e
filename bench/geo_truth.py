"""Ground truth for bench/geo_bench.py: the seeded query centres, an in-memory brute force
over every row (exact membership, the dispatch rules) and the comparison of answers."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from geopy.distance import geodesic
from sqlalchemy import select

from dispatch import matching
from dispatch.extensions import db
from dispatch.models import OPEN_INCIDENT_STATUSES, Alert, Incident, Volunteer
from geo import Point, bounding_box, fast_distances_km, fast_error_km, geodesic_km

from .registry import CITIES, COUNTRY, SKILL_CODES

# 22:30 in Almaty: people with quiet hours from 22:00 are asleep.
NOW = datetime(2026, 3, 1, 17, 30)
QUERY_SEED = 7_000_002
TIE_KM = matching.TIE_KM
NEVER = datetime(1970, 1, 1)
LOCAL_TZ = ZoneInfo("Asia/Almaty")


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class Query:
    point: Point
    skill: str
    rural: bool


def query_centres(count: int) -> list[Query]:
    """Mostly city centres ± a few km (cities by population), some rural points."""
    rng = random.Random(QUERY_SEED)
    weights = [c[3] for c in CITIES]
    out = []
    for _ in range(count):
        skill = rng.choice(SKILL_CODES)
        if rng.random() < 0.85:
            _, lat, lon, _ = rng.choices(CITIES, weights=weights)[0]
            lat += rng.uniform(-4, 4) / 111.32
            lon += rng.uniform(-4, 4) / (111.32 * math.cos(math.radians(lat)))
            out.append(Query(Point(lat=round(lat, 6), lon=round(lon, 6)), skill, False))
        else:
            lat, lon = rng.uniform(COUNTRY[0], COUNTRY[1]), rng.uniform(COUNTRY[2], COUNTRY[3])
            out.append(Query(Point(lat=round(lat, 6), lon=round(lon, 6)), skill, True))
    return out


def quiet_minute() -> int:
    local = NOW.replace(tzinfo=UTC).astimezone(LOCAL_TZ)
    return local.hour * 60 + local.minute


def in_quiet_hours(start, end, minute: int) -> bool:
    if start is None or end is None or start == end:
        return False
    return start <= minute < end if start < end else minute >= start or minute < end


# --------------------------------------------------------------------------- ground truth


class Registry:
    """Every volunteer, in memory, with the rules evaluated per row (written independently of
    dispatch.matching): the brute-force reference each query is checked against."""

    def __init__(self, incident_id: int) -> None:
        cols = (
            Volunteer.id,
            Volunteer.lat,
            Volunteer.lon,
            Volunteer.status,
            Volunteer.phone,
            Volunteer.phone_problem,
            Volunteer.available,
            Volunteer.busy_until,
            Volunteer.skill_mask,
            Volunteer.max_distance_km,
            Volunteer.last_alerted_at,
            Volunteer.quiet_from_min,
            Volunteer.quiet_to_min,
        )
        rows = db.session.execute(select(*cols).order_by(Volunteer.id)).all()
        minute = quiet_minute()
        self.ids = np.array([r.id for r in rows], dtype=np.int64)
        self.lat = np.array([r.lat for r in rows], dtype=float)
        self.lon = np.array([r.lon for r in rows], dtype=float)
        self.mask = np.array([r.skill_mask for r in rows], dtype=np.int64)
        self.max_km = np.array([r.max_distance_km for r in rows], dtype=float)
        self.last_alerted = [r.last_alerted_at or NEVER for r in rows]
        self.excluded_by_history = history_excluded(incident_id)
        # Rules that do not depend on the query (NOW is fixed; severity is "severe").
        self.eligible = np.array(
            [
                r.status == "active"
                and r.phone is not None
                and r.phone_problem is None
                and bool(r.available)
                and (r.busy_until is None or r.busy_until <= NOW)
                and not in_quiet_hours(r.quiet_from_min, r.quiet_to_min, minute)
                and r.id not in self.excluded_by_history
                for r in rows
            ]
        )
        self.index = {int(v): i for i, v in enumerate(self.ids)}

    def truth(self, q: Query, radius_km: float, skill_bit: int | None, slack_km: float = 0.0) -> dict[int, tuple]:
        """id -> (distance_km, last_alerted_at) for every eligible volunteer within radius + slack.

        Exact membership: the fast distance settles rows farther than its error bound from
        the radius, geodesic settles the rest."""
        box = bounding_box(q.point, radius_km + slack_km)
        pick = self.eligible & (self.lat >= box.min_lat) & (self.lat <= box.max_lat)
        pick &= (self.lon >= box.min_lon) & (self.lon <= box.max_lon)
        if skill_bit is not None:
            pick &= ((self.mask >> skill_bit) & 1).astype(bool)
        idx = np.flatnonzero(pick)
        d = fast_distances_km(q.point.lat, q.point.lon, self.lat[idx], self.lon[idx])
        err = fast_error_km(d)
        limit = radius_km + slack_km
        for j in np.flatnonzero((d - err <= limit) & (d + err > limit)):
            d[j] = geodesic_km(q.point, Point(lat=self.lat[idx[j]], lon=self.lon[idx[j]]))
        keep = (d <= limit) & (d <= self.max_km[idx])
        return {int(self.ids[i]): (float(di), self.last_alerted[i]) for i, di in zip(idx[keep], d[keep])}


def history_excluded(incident_id: int) -> set[int]:
    """Volunteers the alert history keeps out of a search for this incident, at NOW."""
    out = set(db.session.scalars(select(Alert.volunteer_id).where(Alert.incident_id == incident_id)))
    counts: dict[int, int] = {}
    for vid in db.session.scalars(select(Alert.volunteer_id).where(Alert.created_at > NOW - timedelta(hours=1))):
        counts[vid] = counts.get(vid, 0) + 1
    out |= {vid for vid, n in counts.items() if n >= matching.MAX_ALERTS_PER_HOUR}
    out |= set(
        db.session.scalars(
            select(Alert.volunteer_id)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(
                Alert.status == "accepted",
                Incident.status.in_(OPEN_INCIDENT_STATUSES),
                Alert.incident_id != incident_id,
            )
        )
    )
    return out


def naive(q: Query, radius_km: float, skill_bit: int | None, excluded: set[int], slack_km: float) -> dict[int, tuple]:
    """The loop without any index or shortcut: geopy geodesic to every volunteer."""
    minute = quiet_minute()
    rows = db.session.execute(
        select(
            Volunteer.id,
            Volunteer.lat,
            Volunteer.lon,
            Volunteer.status,
            Volunteer.phone,
            Volunteer.phone_problem,
            Volunteer.available,
            Volunteer.busy_until,
            Volunteer.skill_mask,
            Volunteer.max_distance_km,
            Volunteer.last_alerted_at,
            Volunteer.quiet_from_min,
            Volunteer.quiet_to_min,
        )
    ).all()
    origin = (q.point.lat, q.point.lon)
    out = {}
    for r in rows:
        if r.lat is None or r.lon is None:
            continue
        d = geodesic(origin, (r.lat, r.lon)).km
        if d > radius_km + slack_km:
            continue
        if not (r.status == "active" and r.phone is not None and r.phone_problem is None and r.available):
            continue
        if r.busy_until is not None and r.busy_until > NOW:
            continue
        if skill_bit is not None and not r.skill_mask >> skill_bit & 1:
            continue
        if d > r.max_distance_km or in_quiet_hours(r.quiet_from_min, r.quiet_to_min, minute) or r.id in excluded:
            continue
        out[r.id] = (d, r.last_alerted_at or NEVER)
    return out


def ranked(truth: dict[int, tuple]) -> list[int]:
    return sorted(truth, key=lambda i: (round(truth[i][0] / TIE_KM), truth[i][1], i))


def check(got: list[int], truth: dict[int, tuple], radius_km: float, limit: int | None, tol) -> str | None:
    """None when `got` is a correct answer (top `limit`, or everyone) up to ties closer than
    tol(d) km: truth must hold everyone within radius_km + tol, with the truth's distances."""
    if len(set(got)) != len(got):
        return "a volunteer appears twice"
    stray = [i for i in got if i not in truth]
    if stray:
        return f"{len(stray)} returned who are not eligible within the radius, e.g. id {stray[0]}"

    def lo(i):
        d, last = truth[i]
        return (round((d - tol(d)) / TIE_KM), last, i)

    def hi(i):
        d, last = truth[i]
        return (round((d + tol(d)) / TIE_KM), last, i)

    for a, b in zip(got, got[1:]):
        if lo(a) > hi(b):
            return f"order: id {a} ({truth[a][0]:.6f} km) before id {b} ({truth[b][0]:.6f} km)"
    required = [i for i, (d, _) in truth.items() if d <= radius_km - tol(d)]
    chosen = set(got)
    missing = [i for i in required if i not in chosen]
    if limit is None or len(got) < limit:
        if missing:
            return f"{len(missing)} missing within the radius, e.g. id {missing[0]} at {truth[missing[0]][0]:.6f} km"
        return None
    if len(got) > limit:
        return f"{len(got)} returned for a limit of {limit}"
    last = lo(got[-1])
    better = [i for i in missing if hi(i) < last]
    if better:
        return f"id {better[0]} ({truth[better[0]][0]:.6f} km) should rank before id {got[-1]}"
    return None


def exact_tol(_d: float) -> float:
    return 1e-9


def method_tol(d: float) -> float:
    """Between two methods: the fast formula's error bound plus 1 cm."""
    return float(fast_error_km(d)) + 1e-5
