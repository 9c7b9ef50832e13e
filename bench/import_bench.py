"""CSV import benchmark: 200,000 rows through POST /api/v1/volunteers/import, streamed.

    make bench-import                      # SQLite in a temporary file
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench make bench-import

Prints rows, seconds, rows/s and the process's peak RSS (the target: under 60 s, bounded memory).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import insert, text

from config import TestConfig
from dispatch import create_app
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Organization, name_key
from dispatch.users import create_user

from .registry import ORGANIZATIONS, volunteers

COLUMNS = ["name", "phone", "lat", "lon", "skills", "language", "max_distance_km", "organization"]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for v in volunteers(rows):
            writer.writerow(
                [
                    v["name"],
                    v["phone"],
                    v["lat"],
                    v["lon"],
                    ";".join(v["skills"]),
                    v["language"],
                    v["max_distance_km"],
                    v["organization"],
                ]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        app = create_app(TestConfig.for_database(url, IMPORT_MAX_BYTES=512 * 1024 * 1024))
        csv_path = Path(tmp) / "volunteers.csv"
        write_csv(csv_path, args.rows)
        with app.app_context():
            upgrade()
            db.session.execute(text("DELETE FROM volunteers"))
            # The file names 680 organisations ("Org 0" ...): the import matches each row's.
            db.session.execute(text("DELETE FROM organizations"))
            now = utcnow()
            organizations = [
                {
                    "name": f"Org {n}",
                    "name_key": name_key(f"Org {n}"),
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(ORGANIZATIONS)
            ]
            db.session.execute(insert(Organization.__table__), organizations)
            db.session.commit()
            _, token = create_user(f"bench-{time.time_ns()}@bench.local", "coordinator")
            rss_before = peak_rss_mb()
            client = app.test_client()
            with csv_path.open("rb") as body:
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/volunteers/import",
                    input_stream=body,
                    content_length=csv_path.stat().st_size,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
                )
                seconds = time.perf_counter() - started
            report = response.get_json()
        print(f"database:        {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}")
        print(f"file:            {csv_path.stat().st_size / 1e6:.1f} MB, {args.rows} rows")
        print(
            f"status:          {response.status_code}, created {report['created']}, updated {report['updated']}, "
            f"rejected {report['rejected_total']}"
        )
        print(f"time:            {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s)")
        print(f"peak RSS:        {peak_rss_mb():.0f} MB (before the import: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
