"""The SQL side of matching: which volunteers in a box can be called now, read from one
partial covering index as plain rows, nearest first by a proven lower bound of distance.

dispatch/matching.py decides exact distances, the remaining rules and the order; this module
only reads. The rules stated here in SQL are the row-local ones (can be texted, available,
not busy, not a minor, has the skill), as SQL text written so each dialect's planner can prove the partial
index applies; `explain` reads the box through bbox_clause and states the same rules in Python
(matching.exclusion_reason).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, Float, and_, bindparam, column, or_, text

from geo import BoundingBox
from geo.distance import WGS84_A_KM, WGS84_F

from .extensions import db
from .models import Volunteer

# The smallest meridional radius of curvature (at the equator), a·(1 - e²).
_MERIDIAN_RADIUS_MIN_KM = WGS84_A_KM * (1 - WGS84_F * (2 - WGS84_F))
# Above this many rows a read is not worth ordering: read the whole box.
NO_CAP_ABOVE = 100_000
# The partial covering index the prefilter reads (migration 0003, Volunteer.__table_args__):
# its WHERE is the constant part of the row-local rules, written here as each dialect's
# planner must see it to prove that the index applies (constants, not bound parameters).
REACHABLE_INDEX = "ix_volunteers_reachable"
REACHABLE_WHERE = {
    "sqlite": "status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available = 1",
    "postgresql": "status = 'active' AND phone IS NOT NULL AND phone_problem IS NULL AND available",
}

LOCAL_TZ = ZoneInfo("Asia/Almaty")


def adult_born_by(now: datetime) -> date:
    """The latest birth date of someone 18 or older today in Kazakhstan (Asia/Almaty). Born on
    29 February, one comes of age on 1 March in a year without it."""
    today = now.replace(tzinfo=UTC).astimezone(LOCAL_TZ).date()
    try:
        return today.replace(year=today.year - 18)
    except ValueError:  # today is 29 February: 18 years before, there was none
        return date(today.year - 18, 2, 28)


def is_minor(birth_date: date | None, now: datetime) -> bool:
    """Under 18 on the day: never alerted (the law on volunteer activity bars minors from
    emergency response)."""
    return birth_date is not None and birth_date > adult_born_by(now)


# The columns a decision needs, read as plain rows.
COLUMNS = (
    Volunteer.id,
    Volunteer.lat,
    Volunteer.lon,
    Volunteer.max_distance_km,
    Volunteer.skill_mask,
    Volunteer.last_alerted_at,
    Volunteer.quiet_from_min,
    Volunteer.quiet_to_min,
)


def bbox_clause(box: BoundingBox):
    """WHERE clause for the (lat, lon) index: one box, or two across the antimeridian."""
    return or_(
        *(
            and_(Volunteer.lat.between(part.min_lat, part.max_lat), Volunteer.lon.between(part.min_lon, part.max_lon))
            for part in box.split()
        )
    )


def read_box(
    box: BoundingBox, inner: BoundingBox, skill_bit: int | None, now: datetime, cap: int | None, radius_km: float
) -> tuple[list, float]:
    """Rows in `box` (the search radius around `inner`: a point, or an area's bounds) that pass
    the SQL rules, and the reach of the read: every such row whose distance is below it has
    been read.

    With a cap, the rows come nearest first by a lower bound of their distance (see
    _bound_scales), at most cap of them; when the cap is reached the reach is the bound of
    the last row read, as everyone unread has a bound, so a distance, at least that."""
    parts = box.split()
    params: dict = {"now": now, "adult_born_by": adult_born_by(now)}
    for i, part in enumerate(parts):
        params.update({f"s{i}": part.min_lat, f"n{i}": part.max_lat, f"w{i}": part.min_lon, f"e{i}": part.max_lon})
    if skill_bit is not None:
        params["skill"] = 1 << skill_bit
    scales = _bound_scales(inner, box) if cap is not None and cap < NO_CAP_ABOVE else None
    if scales is not None:
        params.update(scales)
        params["cap"] = cap
    connection = db.session.connection()
    statement = _statement(connection.dialect.name, len(parts), skill_bit is not None, scales is not None)
    rows = connection.execute(statement, params).all()
    if scales is None or len(rows) < cap:
        return rows, radius_km
    # Ties at the last bound may continue past the cap: only what lies strictly below is known.
    return rows, min(radius_km, rows[-1].reach_km * (1 - 1e-12))


def _bound_scales(inner: BoundingBox, box: BoundingBox) -> dict | None:
    """The inner bounds and km per degree for the distance bound, or None where the box is no
    plain rectangle (a pole or the antimeridian).

    A path of length d changes latitude by at most d / M_min (M_min: the smallest meridional
    radius, at the equator) and longitude by at most d / (a·cos φ), φ the highest latitude
    it reaches. Anyone within radius_km of the inner bounds is inside the box, and so is the
    path to them, so φ is at most the box's highest |latitude|. Hence, for them, (degrees
    north or south of the inner bounds) × M_min and (degrees east or west) × a·cos φ_box,
    in km per degree, are each at most their distance: the larger is a lower bound of it."""
    if (
        box.crosses_antimeridian
        or inner.crosses_antimeridian
        or box.min_lat <= -90.0
        or box.max_lat >= 90.0
        or box.max_lon - box.min_lon >= 360.0
    ):
        return None
    phi_max = math.radians(max(abs(box.min_lat), abs(box.max_lat)))
    per_degree = math.pi / 180 * (1 - 1e-9)  # rounding slack, on the safe side
    return {
        "in_s": inner.min_lat,
        "in_n": inner.max_lat,
        "in_w": inner.min_lon,
        "in_e": inner.max_lon,
        "km_lat": _MERIDIAN_RADIUS_MIN_KM * per_degree,
        "km_lon": WGS84_A_KM * math.cos(phi_max) * per_degree,
    }


@cache
def _statement(dialect: str, boxes: int, skill: bool, capped: bool):
    """The row-local rules and bbox_clause as SQL text, for one reason: SQLite's planner,
    without ANALYZE statistics, prefers ix_volunteers_status (status = 'active' matches most
    of the table) and SQLAlchemy renders no index hint for SQLite, so the text names the index
    (INDEXED BY also fails loudly, rather than running slowly, should the index not apply)."""
    indexed = f" INDEXED BY {REACHABLE_INDEX}" if dialect == "sqlite" else ""
    greatest = "max" if dialect == "sqlite" else "GREATEST"
    where = " OR ".join(f"(lat BETWEEN :s{i} AND :n{i} AND lon BETWEEN :w{i} AND :e{i})" for i in range(boxes))
    columns = ", ".join(c.key for c in COLUMNS)
    if capped:
        columns += (
            f", {greatest}({greatest}(:in_s - lat, lat - :in_n, 0) * :km_lat,"
            f" {greatest}(:in_w - lon, lon - :in_e, 0) * :km_lon) AS reach_km"
        )
    sql = (
        f"SELECT {columns} FROM volunteers{indexed}"
        f" WHERE ({where}) AND {REACHABLE_WHERE.get(dialect, REACHABLE_WHERE['postgresql'])}"
        " AND (busy_until IS NULL OR busy_until <= :now)"
        " AND (birth_date IS NULL OR birth_date <= :adult_born_by)"
    )
    if skill:
        sql += " AND (skill_mask & :skill) <> 0"
    if capped:
        sql += " ORDER BY reach_km LIMIT :cap"
    statement = text(sql).bindparams(bindparam("now", type_=DateTime()), bindparam("adult_born_by", type_=Date()))
    if capped:
        return statement.columns(*COLUMNS, column("reach_km", Float()))
    return statement.columns(*COLUMNS)
