"""Search benchmark: the console's volunteer search (dispatch/volunteer_search.py) at national scale.

    make bench-search                                    # 200,000 volunteers, SQLite in a temporary file
    BENCH_SEARCH_ARGS="--rows 50000" make bench-search
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/bench make bench-search

Fills the registry with bench/registry.py's volunteers under realistic Kazakh and Russian names
(half written in Cyrillic, half in Latin), writes their search terms, then times queries of each
kind (a name's start in either alphabet, first and last name, a phone in its common forms, a
regional coordinator's scoped search) and prints p50/p99 per kind. For comparison it also times
the obvious alternative, a LIKE '%…%' over a lower-cased name column, on the same rows.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time

from flask_migrate import upgrade
from sqlalchemy import insert, select, text

from bench.registry import volunteers
from config import TestConfig
from dispatch import create_app, volunteer_search
from dispatch.extensions import db
from dispatch.models import Volunteer
from dispatch.scopes import Scope
from geo.regions import REGIONS

FIRST = ["Айгерим", "Ерлан", "Жанна", "Нурлан", "Асель", "Дамир", "Мария", "Алексей", "Әлия", "Қайрат", "Гүлнар",
         "Сергей", "Ольга", "Арман", "Динара", "Тимур", "Екатерина", "Бауыржан", "Айдана", "Руслан"]  # fmt: skip
LAST = ["Садыкова", "Касымов", "Иванов", "Петрова", "Нұрланов", "Жумабаев", "Смагулова", "Хасанов", "Ким",
        "Ахметова", "Оспанов", "Тулегенова", "Кузнецов", "Абдрахманов", "Сейткали", "Шәріпова", "Байжанов",
        "Мусина", "Есенова", "Токаев", "Омарова", "Бекова", "Садуақасов", "Ли", "Федорова"]  # fmt: skip
LATIN = str.maketrans(
    {"А": "A", "а": "a", "Ә": "A", "ә": "a", "Б": "B", "б": "b", "В": "V", "в": "v", "Г": "G", "г": "g",
     "Ғ": "G", "ғ": "g", "Д": "D", "д": "d", "Е": "E", "е": "e", "Ж": "Zh", "ж": "zh", "З": "Z", "з": "z",
     "И": "I", "и": "i", "Й": "Y", "й": "y", "І": "I", "і": "i", "К": "K", "к": "k", "Қ": "Q", "қ": "q",
     "Л": "L", "л": "l", "М": "M", "м": "m", "Н": "N", "н": "n", "Ң": "N", "ң": "n", "О": "O", "о": "o",
     "Ө": "O", "ө": "o", "П": "P", "п": "p", "Р": "R", "р": "r", "С": "S", "с": "s", "Т": "T", "т": "t",
     "У": "U", "у": "u", "Ұ": "U", "ұ": "u", "Ү": "U", "ү": "u", "Ф": "F", "ф": "f", "Х": "Kh", "х": "kh",
     "Ш": "Sh", "ш": "sh", "Ы": "Y", "ы": "y", "Э": "E", "э": "e", "Ю": "Yu", "ю": "yu", "Я": "Ya", "я": "ya",
     "Ь": "", "ь": "", "Ц": "Ts", "ц": "ts", "Ч": "Ch", "ч": "ch", "Щ": "Sh", "щ": "sh"}
)  # fmt: skip
BATCH = 20_000


def fill(rows: int) -> list[dict]:
    rng = random.Random(15)
    regions = sorted(REGIONS)
    people = []
    for person in volunteers(rows):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(FIRST)}ұлы"
        if rng.random() < 0.5:
            name = name.translate(LATIN)
        people.append(
            {
                "name": name,
                "phone": person["phone"],
                "lat": person["lat"],
                "lon": person["lon"],
                "language": person["language"],
                "region": rng.choice(regions),
            }
        )
    for start in range(0, rows, BATCH):
        db.session.execute(insert(Volunteer), people[start : start + BATCH])
    db.session.commit()
    volunteer_search.reindex_all()
    db.session.commit()
    return people


def queries(people: list[dict], count: int) -> dict[str, list[str]]:
    rng = random.Random(16)
    sample = [rng.choice(people) for _ in range(count)]
    return {
        "name start, Cyrillic (3-5 letters)": [rng.choice(FIRST)[: rng.randint(3, 5)] for _ in sample],
        "name start, Latin (3-5 letters)": [rng.choice(LAST).translate(LATIN)[: rng.randint(3, 5)] for _ in sample],
        "first + last name": [" ".join(p["name"].split()[:2]) for p in sample],
        "phone, +7 701 … (full)": [f"{p['phone'][:2]} {p['phone'][2:5]} {p['phone'][5:]}" for p in sample],
        "phone, 8701… (first 7 digits)": ["8" + p["phone"][2:8] for p in sample],
    }


def timed(run, texts: list[str]) -> tuple[float, float, float]:
    times = []
    hits = 0
    for query in texts:
        started = time.perf_counter()
        hits += run(query)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))], hits / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        app = create_app(TestConfig.for_database(url))
        with app.app_context():
            upgrade()
            db.session.execute(text("DELETE FROM volunteers"))
            db.session.commit()
            started = time.perf_counter()
            people = fill(args.rows)
            terms = db.session.scalar(text("SELECT count(*) FROM volunteer_search_terms"))
            print(
                f"{database}: {args.rows} volunteers, {terms} search terms, filled in {time.perf_counter() - started:.0f} s"
            )
            if database == "PostgreSQL":
                # As autovacuum leaves a table in service: visibility map set, statistics fresh.
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM ANALYZE volunteers"))
                    connection.execute(text("VACUUM ANALYZE volunteer_search_terms"))
            # SQLite: no ANALYZE, as a service on SQLite runs (volunteer_search copes without statistics).
            regional = Scope(regions=frozenset({"KZ-75", "KZ-79"})).volunteer_clause()

            def search(scope):
                def run(query: str) -> int:
                    found = volunteer_search.search(volunteer_search.parse(query), scope)
                    db.session.rollback()
                    return len(found.items)

                return run

            def like(query: str) -> int:  # the obvious alternative: a substring anywhere, no index
                pattern = f"%{query.lower()}%"
                rows = db.session.scalars(
                    select(Volunteer.id).where(Volunteer.name.ilike(pattern)).order_by(Volunteer.id).limit(51)
                ).all()
                db.session.rollback()
                return len(rows)

            print(f"{'query':40} {'p50 ms':>8} {'p99 ms':>8} {'hits':>6}")
            for kind, texts in queries(people, args.queries).items():
                for label, run in (("", search(None)), (" [regional scope]", search(regional))):
                    p50, p99, hits = timed(run, texts)
                    print(f"{kind + label:40} {p50:8.2f} {p99:8.2f} {hits:6.1f}")
            named = queries(people, args.queries)
            for label, texts in (
                ("name start, Latin", named["name start, Latin (3-5 letters)"]),
                ("first + last name", named["first + last name"]),
                ("a name nobody has", [f"zzq{n}" for n in range(args.queries)]),
            ):
                p50, p99, hits = timed(like, texts)
                print(f"{'(compare) ILIKE %…%: ' + label:40} {p50:8.2f} {p99:8.2f} {hits:6.1f}")
            db.session.execute(text("DELETE FROM volunteers"))
            db.session.commit()
            db.engine.dispose()


if __name__ == "__main__":
    main()
