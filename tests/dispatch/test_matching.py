"""Each eligibility rule and each exclusion reason, and the order candidates come in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch import matching
from dispatch.clock import utcnow
from dispatch.skills import SkillCatalogue
from geo import Point, parse_geojson_area

from .factories import ASTANA, alert, incident, square_around, volunteer


def search(**kw) -> matching.Search:
    kw.setdefault("point", Point(*ASTANA))
    kw.setdefault("radius_km", 10.0)
    return matching.Search(**kw)


def bit(code: str) -> int:
    return SkillCatalogue.load().bits[code]


def ids(candidates) -> list[int]:
    return [c.volunteer_id for c in candidates]


def reasons(s: matching.Search, now=None) -> dict[int, str]:
    _, excluded = matching.explain(s, now)
    return {e.volunteer_id: e.reason for e in excluded}


def test_nearest_first_with_distances(app):
    far, near, mid = volunteer(8), volunteer(1, 90), volunteer(4, 200)
    found = matching.find_candidates(search())
    assert ids(found) == [near.id, mid.id, far.id]
    assert [round(c.distance_km, 2) for c in found] == [1.0, 4.0, 8.0]
    assert "1.0 km away" in found[0].reason


def test_the_edge_of_the_circle_is_exact(app):
    inside = volunteer(9.999, 45)
    outside = volunteer(10.001, 135)
    assert ids(matching.find_candidates(search())) == [inside.id]
    assert outside.id not in reasons(search())  # outside the radius is not "nearby"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": "opted_out"}, "opted_out"),
        ({"status": "inactive"}, "inactive"),
        ({"phone_problem": "invalid_number"}, "phone_problem"),
        ({"available": False}, "unavailable"),
        ({"busy_until": datetime(2100, 1, 1)}, "busy"),
        ({"max_distance_km": 2.0}, "beyond_own_max_distance"),
    ],
)
def test_row_rules_exclude_with_their_reason(app, fields, reason):
    keep = volunteer(2.5)
    out = volunteer(3, 90, **fields)
    assert ids(matching.find_candidates(search())) == [keep.id]
    assert reasons(search()) == {out.id: reason}


def test_busy_until_in_the_past_is_available_again(app):
    v = volunteer(3, busy_until=utcnow() - timedelta(minutes=1))
    assert ids(matching.find_candidates(search())) == [v.id]


def test_skill_filter(app):
    swimmer = volunteer(3, skills=("water_rescue", "first_aid"))
    medic = volunteer(2, skills=("medical",))
    s = search(skill_bit=bit("water_rescue"))
    assert ids(matching.find_candidates(s)) == [swimmer.id]
    assert reasons(s) == {medic.id: "lacks_skill"}
    assert ids(matching.find_candidates(search())) == [medic.id, swimmer.id]  # no skill: anyone


def test_accepted_on_another_open_incident(app):
    v, other = volunteer(2), volunteer(3)
    elsewhere = incident(code="111")
    alert(elsewhere, v, status="accepted")
    assert ids(matching.find_candidates(search())) == [other.id]
    assert reasons(search()) == {v.id: "accepted_elsewhere"}
    elsewhere.status = "closed"
    from dispatch.extensions import db

    db.session.commit()
    assert ids(matching.find_candidates(search())) == [v.id, other.id]


def test_at_most_three_alerts_an_hour(app):
    tired, rested = volunteer(1), volunteer(2)
    for code in ("201", "202", "203"):
        alert(incident(code=code), tired, status="declined")
    old = volunteer(3)
    for code in ("301", "302", "303"):
        alert(incident(code=code), old, status="declined", created_at=utcnow() - timedelta(hours=2))
    assert ids(matching.find_candidates(search())) == [rested.id, old.id]
    assert reasons(search()) == {tired.id: "alert_limit"}


def test_one_alert_per_volunteer_per_incident(app):
    called, fresh = volunteer(1), volunteer(2)
    inc = incident()
    alert(inc, called)
    s = search(incident_id=inc.id)
    assert ids(matching.find_candidates(s)) == [fresh.id]
    assert reasons(s) == {called.id: "already_alerted"}


def test_quiet_hours_are_honoured_except_for_extreme(app):
    # 02:00 in Almaty is 21:00 UTC the day before.
    night = datetime(2026, 3, 1, 21, 0)
    sleeper = volunteer(1, quiet_from_min=22 * 60, quiet_to_min=7 * 60)
    awake = volunteer(2)
    assert ids(matching.find_candidates(search(), now=night)) == [awake.id]
    assert reasons(search(), now=night) == {sleeper.id: "quiet_hours"}
    assert ids(matching.find_candidates(search(severity="extreme"), now=night)) == [sleeper.id, awake.id]
    noon = datetime(2026, 3, 1, 7, 0)  # 12:00 in Almaty
    assert ids(matching.find_candidates(search(), now=noon)) == [sleeper.id, awake.id]


def test_ties_go_to_whoever_was_alerted_least_recently(app):
    recent = volunteer(2.00, 0, last_alerted_at=utcnow() - timedelta(hours=2))
    never = volunteer(2.02, 90)
    long_ago = volunteer(2.01, 180, last_alerted_at=utcnow() - timedelta(days=30))
    assert ids(matching.find_candidates(search())) == [never.id, long_ago.id, recent.id]


def test_distance_is_measured_to_the_area(app):
    area = parse_geojson_area(square_around(ASTANA, 5))
    inside = volunteer(2)
    near_edge = volunteer(9, 0)  # 4 km north of the square's northern edge
    far = volunteer(20, 0)  # 15 km from the edge
    found = matching.find_candidates(search(area=area, radius_km=10))
    assert ids(found) == [inside.id, near_edge.id]
    assert found[0].distance_km == 0.0
    assert found[1].distance_km == pytest.approx(4.0, abs=0.01)
    assert far.id not in ids(found)


def test_exclude_inside_area_leaves_out_possible_victims(app):
    area = parse_geojson_area(square_around(ASTANA, 5))
    victim, helper = volunteer(2), volunteer(8, 90)
    s = search(area=area, radius_km=10, exclude_inside_area=True)
    assert ids(matching.find_candidates(s)) == [helper.id]
    assert reasons(s) == {victim.id: "inside_area"}


def test_limit_and_history_windows(app):
    vs = [volunteer(0.1 * (i + 1), i * 7) for i in range(30)]
    inc = incident()
    for v in vs[:25]:
        alert(inc, v)
    found = matching.find_candidates(search(incident_id=inc.id, limit=3))
    assert ids(found) == [v.id for v in vs[25:28]]


def test_find_candidates_agrees_with_explain(app):
    import random

    rng = random.Random(7)
    for _ in range(120):
        volunteer(
            rng.uniform(0, 14),
            rng.uniform(0, 360),
            skills=rng.sample(["first_aid", "water_rescue", "medical"], k=rng.choice((1, 2))),
            available=rng.random() > 0.2,
            max_distance_km=rng.choice((5.0, 50.0)),
            status=rng.choice(("active", "active", "active", "opted_out")),
        )
    for s in (search(), search(skill_bit=bit("water_rescue")), search(radius_km=6)):
        fast = matching.find_candidates(matching.Search(**{**s.__dict__, "limit": 500}))
        explained, excluded = matching.explain(matching.Search(**{**s.__dict__, "limit": 500}))
        assert ids(fast) == ids(explained)
        assert not set(ids(fast)) & {e.volunteer_id for e in excluded}
