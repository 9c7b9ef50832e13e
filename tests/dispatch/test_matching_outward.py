"""find_candidates searches outward (small box first, nearest first, capped): whatever the
steps, its answer is the one a read of the whole radius gives (explain reads it all)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from dispatch import matching, prefilter
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Volunteer
from dispatch.skills import SkillCatalogue
from geo import BoundingBox, Point, parse_geojson_area

from .factories import ASTANA, alert, incident, point_at, square_around, volunteer


def crowd(count: int, max_km: float, seed: int = 11) -> list[Volunteer]:
    """A seeded crowd around Astana: denser near the centre, mixed skills and states."""
    rng = random.Random(seed)
    catalogue = SkillCatalogue.load()
    people = []
    for i in range(count):
        lat, lon = point_at(ASTANA, max_km * rng.random() ** 1.5, rng.uniform(0, 360))
        people.append(
            Volunteer(
                name=f"Crowd {i}",
                phone=f"+7702{i:07d}",
                lat=lat,
                lon=lon,
                skill_mask=catalogue.mask_of(rng.sample(["first_aid", "water_rescue", "medical", "driver_4x4"], k=2)),
                max_distance_km=rng.choice((3.0, 50.0, 50.0)),
                available=rng.random() > 0.1,
                quiet_from_min=22 * 60 if rng.random() < 0.2 else None,
                quiet_to_min=7 * 60,
                last_alerted_at=utcnow() - timedelta(days=rng.randrange(1, 30)) if rng.random() < 0.5 else None,
            )
        )
    db.session.add_all(people)
    db.session.commit()
    return people


def ids(candidates) -> list[int]:
    return [c.volunteer_id for c in candidates]


def whole_radius(s: matching.Search, now=None) -> list[int]:
    return ids(matching.explain(s, now)[0])


@pytest.fixture
def small_steps(monkeypatch):
    """Tiny first boxes and caps: many steps, caps reached, on a small crowd."""
    monkeypatch.setattr(matching, "FIRST_RADIUS_KM", 0.3)
    monkeypatch.setattr(matching, "FIRST_RADIUS_SKILL_KM", 0.3)
    monkeypatch.setattr(matching, "_CAP_PER_CANDIDATE", 1)


@pytest.mark.parametrize("steps", ["default", "small"])
def test_outward_answer_is_the_whole_radius_answer(app, request, steps):
    if steps == "small":
        request.getfixturevalue("small_steps")
    people = crowd(300, 12)
    inc = incident()
    rng = random.Random(5)
    picked = iter(rng.sample(people, 81))
    for _ in range(25):
        alert(inc, next(picked))  # already_alerted
    elsewhere, closed = incident(code="222"), incident(code="333", status="closed")
    for _ in range(12):
        alert(elsewhere, next(picked), status="accepted")  # accepted_elsewhere
        alert(closed, next(picked), status="accepted")  # no longer counts
    busy = [incident(code=code) for code in ("444", "555", "666")]
    for _ in range(16):
        tired, recent = next(picked), next(picked)
        for other in busy:
            alert(other, tired, status="declined")  # alert_limit
        for other in busy[:2]:
            alert(other, recent, status="declined")  # two in the hour: still fine
    night = utcnow().replace(hour=19, minute=0)  # 00:00 in Almaty: quiet hours apply
    water = SkillCatalogue.load().bits["water_rescue"]
    for limit in (1, 7, 30, 80):
        for radius in (2.0, 5.0, 10.0):
            for skill in (None, water):
                for now in (None, night):
                    s = matching.Search(
                        point=Point(*ASTANA), radius_km=radius, skill_bit=skill, incident_id=inc.id, limit=limit
                    )
                    assert ids(matching.find_candidates(s, now)) == whole_radius(s, now), (limit, radius, skill, now)


def test_a_tie_beyond_the_first_box_still_comes_first(app, monkeypatch):
    """Same 100 m as those in the first box, alerted least recently: it must be found."""
    monkeypatch.setattr(matching, "FIRST_RADIUS_KM", 2.0)
    inside = [volunteer(1.96, 90 * i, last_alerted_at=utcnow() - timedelta(hours=1 + i)) for i in range(3)]
    beyond = volunteer(2.04, 0)  # due north: outside the 2 km box; never alerted
    s = matching.Search(point=Point(*ASTANA), radius_km=10.0, limit=3)
    assert ids(matching.find_candidates(s)) == [beyond.id, inside[2].id, inside[1].id]
    assert ids(matching.find_candidates(s)) == whole_radius(s)


def test_history_that_empties_the_front_widens_the_search(app, small_steps):
    near = [volunteer(0.1 + 0.01 * i, 10 * i) for i in range(10)]
    far = [volunteer(3 + i, 45) for i in range(3)]
    inc = incident()
    for v in near:
        alert(inc, v)
    s = matching.Search(point=Point(*ASTANA), radius_km=10.0, incident_id=inc.id, limit=3)
    assert ids(matching.find_candidates(s)) == [v.id for v in far]


def test_outward_with_an_area(app, small_steps):
    crowd(150, 10, seed=3)
    area = parse_geojson_area(square_around(ASTANA, 2))
    for exclude in (False, True):
        s = matching.Search(point=Point(*ASTANA), radius_km=4.0, area=area, exclude_inside_area=exclude, limit=20)
        assert ids(matching.find_candidates(s)) == whole_radius(s)


def point_box(point) -> BoundingBox:
    return BoundingBox(point.lat, point.lat, point.lon, point.lon)


def test_the_prefilter_reads_the_covering_index(app):
    """On SQLite the statement names it (INDEXED BY fails if the index cannot serve it); on
    PostgreSQL the planner must be able to use it: its WHERE matches the query's constants."""
    volunteer(1)
    s = matching.Search(point=Point(*ASTANA), radius_km=10.0, skill_bit=0)
    for cap in (None, 120):
        rows, _ = matching._prefilter(s, 10.0, utcnow(), cap)
        assert len(rows) == 1
    if db.engine.dialect.name == "postgresql":
        # On a one-row table any plan will do; leave the planner only ours to pick, if it can.
        statement = prefilter._statement("postgresql", 1, True, True)
        db.session.execute(text("DROP INDEX ix_volunteers_status"))  # undone by the rollback below
        db.session.execute(text("DROP INDEX ix_volunteers_lat_lon"))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        sql = str(statement.compile(dialect=db.engine.dialect))
        box = matching._box_at(s, 10.0)
        params = {
            "s0": box.min_lat,
            "n0": box.max_lat,
            "w0": box.min_lon,
            "e0": box.max_lon,
            "now": utcnow(),
            "adult_born_by": prefilter.adult_born_by(utcnow()),
            "skill": 1,
            "cap": 10,
            **prefilter._bound_scales(point_box(s.point), box),
        }
        plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql("EXPLAIN " + sql, params))
        db.session.rollback()
        assert prefilter.REACHABLE_INDEX in plan, plan


@pytest.mark.parametrize("origin", [ASTANA, (43.2220, 76.8512), (69.5, 33.0), (-33.9, 18.4)])
def test_the_distance_bound_never_exceeds_the_distance(origin):
    """The capped read's certainty rests on this: bound <= geodesic for anyone in the box."""
    from geo import bounding_box, geodesic_km

    rng = random.Random(23)
    for radius in (0.5, 5.0, 50.0):
        s = matching.Search(point=Point(*origin), radius_km=radius)
        scales = prefilter._bound_scales(point_box(s.point), bounding_box(s.point, radius))
        for _ in range(400):
            km = radius * rng.random() ** 0.5
            lat, lon = point_at(origin, km, rng.uniform(0, 360))
            bound = max(
                max(scales["in_s"] - lat, lat - scales["in_n"], 0) * scales["km_lat"],
                max(scales["in_w"] - lon, lon - scales["in_e"], 0) * scales["km_lon"],
            )
            assert bound <= geodesic_km(s.point, Point(lat=lat, lon=lon))
