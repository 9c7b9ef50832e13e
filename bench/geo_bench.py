"""Who is near, at national scale: candidate queries on a realistic registry, side by side.

    make bench-geo                                   # SQLite in a temporary file, 200,000 rows
    make bench-geo BENCH_ARGS="--rows 50000" BENCH_GEO_ARGS="--queries 100 --naive 1"
    # PostgreSQL (with PostGIS when the extension can be created); the database is emptied:
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE dispatch_bench_geo'
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/dispatch_bench_geo make bench-geo
    # (`make bench` runs bench-import, then this, on the same database)

What it does, in one run:
  1. generates the registry of bench/registry.py (fixed seed), adds realistic state from
     a second fixed seed (opted out, unavailable, busy, quiet hours, alert history), and
     bulk-loads it into BENCH_DATABASE_URL, which it empties first (it must be a database
     of its own: every dispatch table in it is emptied);
  2. times `dispatch.matching.find_candidates` (limit 50) for radius 5, 10, 25 and 50 km,
     with and without a skill filter, on the same seeded query centres (mostly in and
     around the 16 cities, some rural): median and p99;
  3. on PostgreSQL, the same queries through PostGIS (`ST_DWithin` on a geography column
     with a GiST index, in the side table `bench_postgis`); PostGIS is not installed by
     the bench: on Debian `apt-get install postgresql-15-postgis-3`;
  4. a naive baseline on a few queries: geopy geodesic to every volunteer in Python;
  5. checks every answer against ground truth: for every query an in-memory brute force
     over all rows (exact membership), and for the naive queries the all-geodesic loop.
     Same volunteers within the radius, same top-50 order up to distance ties closer
     than the methods' precision; any difference is printed and the exit status is 1.

Each timed query runs in a transaction of its own, begun just before the clock starts (as a
request's is, by the time it asks) and committed after it stops, as dispatching a need
commits its alerts and as the candidates preview ends (a rollback would make psycopg drop its
prepared statements). Timing targets are printed, not
enforced: they depend on the machine and on what else runs on it; wrong answers are.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import insert, select, text

from config import TestConfig
from dispatch import create_app, matching
from dispatch.extensions import db
from dispatch.models import Alert, Incident, Volunteer
from dispatch.skills import SkillCatalogue

from .geo_postgis import postgis, setup_postgis
from .geo_truth import NOW, Query, Registry, check, exact_tol, method_tol, naive, query_centres, ranked
from .registry import CITIES, volunteers

RADII = (5, 10, 25, 50)
LIMIT = 50
TARGET = (10, True)  # the need the targets are about: 10 km, with a skill filter
TARGET_MEDIAN_MS, TARGET_P99_MS, TARGET_NAIVE_SPEEDUP = 3.0, 15.0, 1000.0
BATCH = 10_000
STATE_SEED = 7_000_001
WIPE = ("audit_events", "inbound", "outbox", "alerts", "needs", "incidents", "volunteers")


# --------------------------------------------------------------------------- data


def volunteer_state(rng: random.Random) -> dict:
    """What the registry file does not say: status, switches, quiet hours, last alert."""
    roll = rng.random()
    status = "active" if roll < 0.92 else ("opted_out" if roll < 0.95 else "inactive")
    busy = rng.random()
    quiet = rng.random()
    if quiet < 0.10:
        quiet_hours = (22 * 60, 7 * 60)
    elif quiet < 0.15:
        quiet_hours = (23 * 60, 6 * 60)
    elif quiet < 0.17:
        quiet_hours = (9 * 60, 18 * 60)
    else:
        quiet_hours = (None, None)
    return {
        "status": status,
        "phone_problem": "invalid_number" if rng.random() < 0.01 else None,
        "available": rng.random() < 0.85,
        "busy_until": NOW + timedelta(hours=2) if busy < 0.03 else (NOW - timedelta(days=1) if busy < 0.05 else None),
        "quiet_from_min": quiet_hours[0],
        "quiet_to_min": quiet_hours[1],
        "last_alerted_at": NOW - timedelta(minutes=rng.randrange(60, 90 * 24 * 60)) if rng.random() < 0.3 else None,
    }


def wipe() -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DROP TABLE IF EXISTS bench_postgis"))
        db.session.execute(text(f"TRUNCATE {', '.join(WIPE)} RESTART IDENTITY CASCADE"))
    else:
        for table in WIPE:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


def wipe_history() -> None:
    for table in ("alerts", "needs", "incidents"):
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


def load_volunteers(rows: int) -> None:
    catalogue = SkillCatalogue.load()
    rng = random.Random(STATE_SEED)
    batch: list[dict] = []
    for v in volunteers(rows):
        batch.append(
            {
                "name": v["name"],
                "phone": v["phone"],
                "lat": v["lat"],
                "lon": v["lon"],
                "skill_mask": catalogue.mask_of(v["skills"]),
                "language": v["language"],
                "max_distance_km": float(v["max_distance_km"]),
                "created_at": NOW,
                "updated_at": NOW,
                **volunteer_state(rng),
            }
        )
        if len(batch) == BATCH:
            _insert(Volunteer, batch)
            batch = []
    if batch:
        _insert(Volunteer, batch)
    db.session.commit()


def _insert(model, rows: list[dict]) -> None:
    """Core executemany on the table: one multi-row INSERT per batch, no RETURNING (the ORM's
    bulk path would split the batch by which keys are None)."""
    db.session.connection().execute(insert(model.__table__), rows)


def load_history(rng: random.Random) -> int:
    """Open incidents and alerts, so that every history rule has people it excludes.

    Returns the id of the incident the searches dispatch for (already_alerted applies)."""
    ids = list(db.session.scalars(select(Volunteer.id).order_by(Volunteer.id)))
    rng.shuffle(ids)
    base = {
        "kind": "flood",
        "title": "Bench",
        "lat": CITIES[0][1],
        "lon": CITIES[0][2],
        "radius_km": 10.0,
        "max_radius_km": 50.0,
        "current_radius_km": 10.0,
        "severity": "severe",
        "exclude_inside_area": False,
        "drill": True,
        "created_at": NOW - timedelta(hours=3),
        "updated_at": NOW,
    }
    incidents = {}
    for code, status in (
        ("901", "dispatching"),
        ("902", "dispatching"),
        ("903", "staffed"),
        ("904", "unfilled"),
        ("905", "closed"),
    ):
        incidents[code] = db.session.execute(
            insert(Incident).returning(Incident.id), [{**base, "code": code, "status": status}]
        ).scalar_one()
    n = len(ids)
    groups = {  # disjoint groups of volunteers, by what happened to them
        "already_alerted": ids[: n // 200],
        "accepted_elsewhere": ids[n // 200 : n // 100],
        "alert_limit": ids[n // 100 : n // 100 + n // 300],
        "two_recent": ids[n // 100 + n // 300 : n // 100 + 2 * n // 300],  # 2 in the last hour: still allowed
        "accepted_closed": ids[n // 100 + 2 * n // 300 : n // 50],  # accepted on a closed incident: allowed
    }
    recent = NOW - timedelta(minutes=20)
    alerts = []

    def add(incident: str, vid: int, status: str, created: datetime) -> None:
        alerts.append(
            {
                "incident_id": incidents[incident],
                "volunteer_id": vid,
                "wave": 1,
                "status": status,
                "distance_km": 1.0,
                "reason": "bench",
                "created_at": created,
            }
        )

    for vid in groups["already_alerted"]:
        add("901", vid, "declined", NOW - timedelta(hours=2))
    for vid in groups["accepted_elsewhere"]:
        add("902", vid, "accepted", NOW - timedelta(hours=2))
    for vid in groups["alert_limit"]:
        for code in ("902", "903", "904"):
            add(code, vid, "declined", recent)
    for vid in groups["two_recent"]:
        for code in ("903", "904"):
            add(code, vid, "expired", recent)
    for vid in groups["accepted_closed"]:
        add("905", vid, "accepted", NOW - timedelta(hours=2))
    for start in range(0, len(alerts), BATCH):
        _insert(Alert, alerts[start : start + BATCH])
    db.session.commit()
    return incidents["901"]


def analyze() -> None:
    """Fresh planner statistics (and, on PostgreSQL, a visibility map for index-only scans),
    as a database that has lived for a while has them."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE volunteers"))
            conn.execute(text("VACUUM ANALYZE alerts"))
            conn.execute(text("VACUUM ANALYZE incidents"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


# --------------------------------------------------------------------------- measuring


def timed(fn):
    """fn's result and milliseconds, in a transaction of its own (as one request has one),
    begun before the clock starts (as a request's is, by its authentication) and committed
    after it stops."""
    db.session.execute(text("SELECT 1"))
    started = time.perf_counter()
    result = fn()
    elapsed = (time.perf_counter() - started) * 1000
    db.session.commit()
    return result, elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):8.2f} {percentile(values, 99):8.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200, help="query centres per radius and skill filter")
    parser.add_argument("--naive", type=int, default=3, help="queries for the naive all-geodesic loop")
    parser.add_argument(
        "--full-checks", type=int, default=10, help="queries per row whose whole answer (no limit) is also checked"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench_geo.db"
        app = create_app(TestConfig.for_database(url))
        with app.app_context():
            return run(args)


def run(args) -> int:
    dialect = db.engine.dialect.name
    started = time.perf_counter()
    upgrade()
    wipe()
    load_volunteers(args.rows)
    incident_id = load_history(random.Random(STATE_SEED + 1))
    analyze()
    load_s = time.perf_counter() - started
    print(f"database: {dialect}   rows: {args.rows:,}   loaded and indexed in {load_s:.1f} s")

    postgis_problem = None
    if dialect == "postgresql":
        started = time.perf_counter()
        postgis_problem = setup_postgis()
        if postgis_problem:
            print(f"PostGIS is not available ({postgis_problem}).")
            print("  To compare with it, install the extension on the database server, e.g. on Debian:")
            print("  apt-get install postgresql-15-postgis-3   (then re-run; the bench creates the extension)")
        else:
            print(f"PostGIS side table bench_postgis (geography + GiST) built in {time.perf_counter() - started:.1f} s")
    use_postgis = dialect == "postgresql" and not postgis_problem

    registry = Registry(incident_id)
    bits = SkillCatalogue.load().bits
    queries = query_centres(args.queries)
    gc.collect()
    gc.freeze()  # the reference data above is the bench's, not the service's: keep it out of GC passes

    def search(q: Query, radius: float, with_skill: bool, limit: int | None = LIMIT) -> matching.Search:
        return matching.Search(
            point=q.point,
            radius_km=float(radius),
            skill_bit=bits[q.skill] if with_skill else None,
            severity="severe",
            incident_id=incident_id,
            limit=limit or 10**9,
        )

    # Warm-up: compile statements, fill caches (not timed).
    for q in queries[:20]:
        for radius in RADII:
            for with_skill in (False, True):
                matching.find_candidates(search(q, radius, with_skill), NOW)
                if use_postgis:
                    postgis(q, radius, bits[q.skill] if with_skill else None, incident_id, LIMIT)
                db.session.commit()

    failures: list[str] = []
    results = {}
    for radius in RADII:
        for with_skill in (False, True):
            fc_ms, pg_ms, found = [], [], []
            for n, q in enumerate(queries):
                s = search(q, radius, with_skill)
                got, ms = timed(lambda: matching.find_candidates(s, NOW))
                fc_ms.append(ms)
                found.append(len(got))
                truth = registry.truth(q, radius, s.skill_bit, slack_km=1e-3)
                label = f"{radius} km {'skill ' + q.skill if with_skill else 'any'} at {q.point.lat},{q.point.lon}"
                problem = check([c.volunteer_id for c in got], truth, radius, LIMIT, exact_tol)
                if problem:
                    failures.append(f"find_candidates, {label}: {problem}")
                if use_postgis:
                    pg, ms = timed(lambda: postgis(q, radius, s.skill_bit, incident_id, LIMIT))
                    pg_ms.append(ms)
                    problem = check([i for i, _ in pg], truth, radius, LIMIT, method_tol)
                    if problem:
                        failures.append(f"PostGIS, {label}: {problem}")
                if n < args.full_checks:
                    everyone = matching.find_candidates(search(q, radius, with_skill, limit=None), NOW)
                    problem = check([c.volunteer_id for c in everyone], truth, radius, None, exact_tol)
                    if problem:
                        failures.append(f"find_candidates (no limit), {label}: {problem}")
                    if use_postgis:
                        problem = check(
                            [i for i, _ in postgis(q, radius, s.skill_bit, incident_id, None)],
                            truth,
                            radius,
                            None,
                            method_tol,
                        )
                        if problem:
                            failures.append(f"PostGIS (no limit), {label}: {problem}")
                    db.session.commit()
            results[(radius, with_skill)] = (fc_ms, pg_ms, found)

    # The naive loop, on the target need; its answers are the ground truth for these queries.
    naive_ms = []
    radius, _ = TARGET
    for q in queries[: args.naive]:
        bit = bits[q.skill]
        label = f"{radius} km skill {q.skill} at {q.point.lat},{q.point.lon}"
        truth, ms = timed(lambda: naive(q, radius, bit, registry.excluded_by_history, 1e-3))
        naive_ms.append(ms)
        answers = {
            "find_candidates": [c.volunteer_id for c in matching.find_candidates(search(q, radius, True), NOW)],
            "find_candidates (no limit)": [
                c.volunteer_id for c in matching.find_candidates(search(q, radius, True, limit=None), NOW)
            ],
            "reference": ranked({i: t for i, t in registry.truth(q, radius, bit).items()}),
        }
        if use_postgis:
            answers["PostGIS"] = [i for i, _ in postgis(q, radius, bit, incident_id, LIMIT)]
            answers["PostGIS (no limit)"] = [i for i, _ in postgis(q, radius, bit, incident_id, None)]
        for name, got in answers.items():
            limit = None if "no limit" in name or name == "reference" else LIMIT
            problem = check(got, truth, radius, limit, method_tol)
            if problem:
                failures.append(f"{name} vs geodesic ground truth, {label}: {problem}")
        db.session.rollback()

    wipe_history()  # so that other benches may empty volunteers in this database
    print_table(dialect, args, results, naive_ms, use_postgis)
    ok_targets = print_targets(dialect, results, naive_ms, use_postgis)
    checked = sum(len(v[0]) for v in results.values())
    if failures:
        print(f"\nMISMATCH: {len(failures)} answers differ from the ground truth:")
        for line in failures[:30]:
            print(f"  {line}")
        return 1
    print(
        f"\nresults: identical to the ground truth ({checked} queries checked against the brute-force reference, "
        f"{len(naive_ms)} against the all-geodesic loop{', PostGIS on all' if use_postgis else ''})"
    )
    if not ok_targets:
        print("some timing targets were missed (see above)")
    return 0


def print_table(dialect: str, args, results: dict, naive_ms: list[float], use_postgis: bool) -> None:
    print(
        f"\n{dialect}, {args.rows:,} volunteers, {args.queries} queries per row, limit {LIMIT}; times in ms;"
        " each query in a transaction of its own, committed"
    )
    head = f"{'radius':>6} {'skill':>5} | {'find_candidates':>17} | {'found':>5}"
    sub = f"{'':>6} {'':>5} | {'median':>8} {'p99':>8} | {'avg':>5}"
    if use_postgis:
        head += f" | {'PostGIS ST_DWithin':>17} | {'speed-up':>8}"
        sub += f" | {'median':>8} {'p99':>8} | {'median':>8}"
    print(head)
    print(sub)
    print("-" * len(sub))
    for (radius, with_skill), (fc_ms, pg_ms, found) in results.items():
        line = f"{radius:>4} km {'yes' if with_skill else 'no':>5} | {fmt_ms(fc_ms)} | {statistics.mean(found):5.1f}"
        if use_postgis:
            line += f" | {fmt_ms(pg_ms)} | {statistics.median(pg_ms) / statistics.median(fc_ms):7.1f}x"
        print(line)
    if naive_ms:
        fc = statistics.median(results[TARGET][0])
        print(
            f"naive geodesic loop over every volunteer ({TARGET[0]} km, skill; {len(naive_ms)} queries): "
            f"median {statistics.median(naive_ms):,.0f} ms = {statistics.median(naive_ms) / fc:,.0f}x find_candidates"
        )


def print_targets(dialect: str, results: dict, naive_ms: list[float], use_postgis: bool) -> bool:
    fc_ms, pg_ms, _ = results[TARGET]
    median, p99 = statistics.median(fc_ms), percentile(fc_ms, 99)
    rows = [
        (f"median <= {TARGET_MEDIAN_MS:g} ms", f"{median:.2f} ms", median <= TARGET_MEDIAN_MS),
        (f"p99 <= {TARGET_P99_MS:g} ms", f"{p99:.2f} ms", p99 <= TARGET_P99_MS),
    ]
    if naive_ms:
        speedup = statistics.median(naive_ms) / median
        rows.append(
            (f"> {TARGET_NAIVE_SPEEDUP:,.0f}x the naive loop", f"{speedup:,.0f}x", speedup > TARGET_NAIVE_SPEEDUP)
        )
    if use_postgis:
        pg = statistics.median(pg_ms)
        rows.append(("faster than PostGIS (median)", f"{pg / median:.1f}x ({pg:.2f} ms)", pg > median))
    print(f"\ntargets ({dialect}, top {LIMIT} for a {TARGET[0]} km need with a skill filter):")
    for name, value, ok in rows:
        print(f"  {'ok  ' if ok else 'MISS'} {name:<32} {value}")
    return all(ok for *_, ok in rows)


if __name__ == "__main__":
    sys.exit(main())
