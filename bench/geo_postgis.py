"""The PostGIS baseline of bench/geo_bench.py: the same rules as matching, in one query over
a geography column with a GiST index (side table bench_postgis)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from dispatch import matching
from dispatch.extensions import db

from .geo_truth import NOW, Query, quiet_minute

# --------------------------------------------------------------------------- PostGIS


POSTGIS_SQL = """
WITH near AS (
  SELECT v.id, v.last_alerted_at, ST_Distance(v.geog, q.pt) AS d_m
  FROM bench_postgis v,
       (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS pt) AS q
  WHERE ST_DWithin(v.geog, q.pt, :radius_m)
    AND v.status = 'active' AND v.phone IS NOT NULL AND v.phone_problem IS NULL AND v.available
    AND (v.busy_until IS NULL OR v.busy_until <= :now)
    {skill}
    AND NOT COALESCE(v.quiet_from_min <> v.quiet_to_min AND CASE
          WHEN v.quiet_from_min < v.quiet_to_min THEN :minute >= v.quiet_from_min AND :minute < v.quiet_to_min
          ELSE :minute >= v.quiet_from_min OR :minute < v.quiet_to_min END, false)
)
SELECT n.id, n.d_m / 1000.0 AS d_km
FROM near n JOIN bench_postgis v ON v.id = n.id
WHERE n.d_m <= v.max_distance_km * 1000
  AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.volunteer_id = n.id AND a.incident_id = :incident)
  AND NOT EXISTS (SELECT 1 FROM alerts a JOIN incidents i ON i.id = a.incident_id
                  WHERE a.volunteer_id = n.id AND a.status = 'accepted'
                    AND i.status IN ('dispatching', 'staffed', 'unfilled') AND a.incident_id <> :incident)
  AND (SELECT count(*) FROM alerts a WHERE a.volunteer_id = n.id AND a.created_at > :hour_ago) < :max_alerts
ORDER BY round(n.d_m / 100.0), COALESCE(n.last_alerted_at, '1970-01-01'), n.id
LIMIT :limit
"""


def setup_postgis() -> str | None:
    """The side table with a geography column and a GiST index; None, or why not."""
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(text("DROP TABLE IF EXISTS bench_postgis"))
            conn.execute(
                text(
                    "CREATE TABLE bench_postgis AS SELECT id, status, phone, phone_problem, available, busy_until,"
                    " skill_mask, max_distance_km, last_alerted_at, quiet_from_min, quiet_to_min,"
                    " ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog FROM volunteers WHERE lat IS NOT NULL"
                )
            )
            conn.execute(text("ALTER TABLE bench_postgis ADD PRIMARY KEY (id)"))
            conn.execute(text("CREATE INDEX ix_bench_postgis_geog ON bench_postgis USING GIST (geog)"))
            conn.execute(text("VACUUM ANALYZE bench_postgis"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return first_line
    return None


def postgis(q: Query, radius_km: float, skill_bit: int | None, incident_id: int, limit: int | None) -> list[tuple]:
    sql = POSTGIS_SQL.format(skill="AND (v.skill_mask & :mask) <> 0" if skill_bit is not None else "")
    params = {
        "lat": q.point.lat,
        "lon": q.point.lon,
        "radius_m": radius_km * 1000.0,
        "now": NOW,
        "minute": quiet_minute(),
        "incident": incident_id,
        "hour_ago": NOW - timedelta(hours=1),
        "max_alerts": matching.MAX_ALERTS_PER_HOUR,
        "limit": limit,
    }
    if skill_bit is not None:
        params["mask"] = 1 << skill_bit
    return [(r.id, float(r.d_km)) for r in db.session.execute(text(sql), params)]
