import time

import numpy as np
import pytest
from geographiclib.geodesic import Geodesic

import geo.distance
from geo import GeoError, Point, fast_error_km, geodesic_km, nearest_within, within_radius

WGS84 = Geodesic.WGS84


def destination(p: Point, bearing_deg: float, km: float) -> tuple[float, float]:
    """(lat, lon) exactly km away along bearing, from geographiclib (nanometre accurate)."""
    r = WGS84.Direct(p.lat, p.lon, bearing_deg, km * 1000.0)
    return r["lat2"], r["lon2"]


CENTERS = [Point(51.1694, 71.4491), Point(70.0, 20.0), Point(-33.9, 18.4), Point(0.0, -179.95), Point(89.5, 45.0)]


@pytest.mark.parametrize("center", CENTERS, ids=str)
@pytest.mark.parametrize("radius_km", [0.5, 25.0, 300.0])
def test_membership_at_the_edge_matches_geodesic(center, radius_km):
    rows = []
    for bearing in range(0, 360, 15):
        for offset_km in (-0.001, -0.000001, 0.0, 0.000001, 0.001):  # ±1 m, ±1 mm, exact
            rows.append(((bearing, offset_km), *destination(center, bearing, radius_km + offset_km)))
    truth = {key for key, lat, lon in rows if geodesic_km(center, Point(lat, lon)) <= radius_km}
    got = nearest_within(center, rows, radius_km)
    assert {key for key, _ in got} == truth
    assert all(offset < 0 for (_, offset) in truth if abs(offset) == 0.001)
    assert {(b, -0.001) for b in range(0, 360, 15)} <= truth
    assert not {(b, 0.001) for b in range(0, 360, 15)} & truth
    for key, lat, lon in rows:
        assert within_radius(center, Point(lat, lon), radius_km) == (key in truth)


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_brute_force_geodesic(seed):
    rng = np.random.default_rng(seed)
    center = Point(rng.uniform(-89, 89), rng.uniform(-180, 180))
    radius_km = float(rng.choice([1.0, 10.0, 80.0, 400.0]))
    rows = [(i, *destination(center, rng.uniform(0, 360), radius_km * rng.uniform(0, 2))) for i in range(400)]
    truth = sorted(
        ((key, geodesic_km(center, Point(lat, lon))) for key, lat, lon in rows),
        key=lambda kd: kd[1],
    )
    truth = [(k, d) for k, d in truth if d <= radius_km]
    got = nearest_within(center, rows, radius_km)
    assert {k for k, _ in got} == {k for k, _ in truth}
    distances = [d for _, d in got]
    assert distances == sorted(distances)
    exact = dict(truth)
    for key, d in got:
        assert abs(d - exact[key]) <= fast_error_km(d)


def test_geodesic_only_called_near_the_edge(monkeypatch):
    calls = []
    real = geo.distance.geodesic_km
    monkeypatch.setattr(geo.distance, "geodesic_km", lambda a, b: calls.append(b) or real(a, b))
    rng = np.random.default_rng(1)
    center = CENTERS[0]
    rows = [(i, center.lat + rng.uniform(-1, 1), center.lon + rng.uniform(-1.5, 1.5)) for i in range(2000)]
    rows.append(("edge", *destination(center, 33, 50.0)))
    result = nearest_within(center, rows, 50.0)
    assert len(calls) <= 2  # the constructed edge row, plus at most a chance one
    assert "edge" in {k for k, _ in result}


def test_edge_cases():
    center = CENTERS[0]
    assert nearest_within(center, [], 10) == []
    assert nearest_within(center, [("here", center.lat, center.lon)], 0) == [("here", 0.0)]
    with pytest.raises(GeoError, match="row 'bad'.*latitude"):
        nearest_within(center, [("ok", 51, 71), ("bad", 95, 71)], 10)
    with pytest.raises(GeoError, match="row 'none'"):
        nearest_within(center, [("none", None, 71)], 10)
    with pytest.raises(GeoError, match="negative"):
        nearest_within(center, [("ok", 51, 71)], -5)


def test_speed_for_2000_rows():
    rng = np.random.default_rng(9)
    center = CENTERS[0]
    rows = [(i, center.lat + rng.uniform(-1, 1), center.lon + rng.uniform(-1.5, 1.5)) for i in range(2000)]
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        nearest_within(center, rows, 50)
        timings.append(time.perf_counter() - start)
    # Target is ~0.3 ms; the assertion leaves room for slow CI machines.
    assert sorted(timings)[10] < 0.005
