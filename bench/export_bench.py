"""Export benchmark: the register of volunteer activity as CSV and XLSX through
GET /api/v1/activity?format=..., served on loopback HTTP and read by a streaming client.

    make bench-export                                   # 200,000 rows, SQLite in a temporary file
    BENCH_EXPORT_ARGS="--rows 2000000" make bench-export  # a national movement's year
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench make bench-export

Fills the database with activity rows (bulk inserts of BATCH rows: the filling itself stays
small), then for each format prints rows, bytes, seconds, rows/s and the process's peak RSS
(RSS sampled during each export, and resource.getrusage's peak; server and client are this one
process, so these bound the server's). Streaming keeps them flat whatever the row count.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import threading
import time
from datetime import timedelta

import requests
from flask_migrate import upgrade
from sqlalchemy import insert, text
from werkzeug.serving import make_server

from config import TestConfig
from dispatch import create_app
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Activity, Volunteer
from dispatch.users import create_user
from geo.regions import REGIONS

BATCH = 20_000
VOLUNTEERS = 20_000
ORGANIZATIONS = [f"Волонтерлік ұйым № {n}" for n in range(1, 201)]
ACTIVITIES = ("Тренинг по первой помощи", "Паводок: дежурство на дамбе", "Іздеу-құтқару жаттығуы", "=1+1")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


class RssSampler:
    """The largest resident size seen while an export runs (every 50 ms): the peak of the whole
    process (ru_maxrss) may have been set by filling the database before."""

    def __init__(self) -> None:
        self.highest = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.highest = max(self.highest, rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def fill(rows: int) -> None:
    for table in ("certificates", "activities"):
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.execute(text("DELETE FROM volunteers WHERE phone LIKE '+7709%'"))
    db.session.commit()
    regions = list(REGIONS)
    rng = random.Random(14)
    people = [
        {
            "name": f"Ерікті {n} Әсел-Құрманғазы",
            "phone": f"+7709{n:07d}",
            "lat": 43.2 + rng.random(),
            "lon": 76.9 + rng.random(),
            "organization": ORGANIZATIONS[n % len(ORGANIZATIONS)],
            "region": regions[n % len(regions)],
        }
        for n in range(VOLUNTEERS)
    ]
    db.session.execute(insert(Volunteer), people)
    db.session.commit()
    ids = list(db.session.scalars(text("SELECT id FROM volunteers WHERE phone LIKE '+7709%' ORDER BY id")))
    start = utcnow() - timedelta(days=365)
    step_s = 365 * 86400 / rows
    for first in range(0, rows, BATCH):
        batch = []
        for n in range(first, min(rows, first + BATCH)):
            began = start + timedelta(seconds=n * step_s)
            seconds = 1800 + (n * 7919) % 14400
            batch.append(
                {
                    "volunteer_id": ids[n % len(ids)],
                    "activity": ACTIVITIES[n % len(ACTIVITIES)],
                    "organization": ORGANIZATIONS[n % len(ORGANIZATIONS)],
                    "place": "Алматы, Абай даңғылы",
                    "started_at": began,
                    "ended_at": began + timedelta(seconds=seconds),
                    "duration_s": seconds,
                    "source": "manual",
                    "end_reason": "entered",
                    "verified": n % 5 != 0,
                    "created_at": began,
                    "updated_at": began,
                }
            )
        db.session.execute(insert(Activity), batch)
        db.session.commit()


def export(url: str, token: str, fmt: str) -> tuple[int, float]:
    """(bytes, seconds) of one export, read in 64 KiB chunks as they arrive."""
    started = time.perf_counter()
    size = 0
    with requests.get(
        f"{url}/api/v1/activity?format={fmt}", headers={"Authorization": f"Bearer {token}"}, stream=True, timeout=600
    ) as response:
        response.raise_for_status()
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
    return size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        app = create_app(TestConfig.for_database(url))
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            fill(args.rows)
            print(f"filled {args.rows} activity rows in {time.perf_counter() - started:.1f} s")
            _, token = create_user(f"bench-{time.time_ns()}@bench.local", "viewer")
        server = make_server("127.0.0.1", 0, app, threaded=False)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(f"peak RSS before exporting: {peak_rss_mb():.0f} MB")
        try:
            for fmt in args.formats.split(","):
                before = rss_mb()
                with RssSampler() as sampler:
                    size, seconds = export(base, token, fmt)
                print(
                    f"{database} {fmt}: {args.rows} rows, {size / 1e6:.1f} MB in {seconds:.1f} s = "
                    f"{args.rows / seconds:,.0f} rows/s; RSS {before:.0f} MB before, at most {sampler.highest:.0f} MB "
                    f"during; process peak {peak_rss_mb():.0f} MB"
                )
        finally:
            server.shutdown()
            server.server_close()
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
