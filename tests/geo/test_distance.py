import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import (
    BoundingBox,
    GeoError,
    Point,
    bounding_box,
    fast_distance_km,
    fast_distances_km,
    fast_error_km,
    geodesic_km,
)

ASTANA = Point(51.1694, 71.4491)
ALMATY = Point(43.2220, 76.8512)
WGS84 = Geodesic.WGS84


def destination(p: Point, bearing_deg: float, km: float) -> Point:
    r = WGS84.Direct(p.lat, p.lon, bearing_deg, km * 1000.0)
    return Point(r["lat2"], r["lon2"])


def test_astana_almaty():
    d = geodesic_km(ASTANA, ALMATY)
    assert d == pytest.approx(geodesic((51.1694, 71.4491), (43.2220, 76.8512)).km, abs=1e-9)
    assert abs(d - 974) < 1.5
    fast = fast_distance_km(ASTANA.lat, ASTANA.lon, ALMATY.lat, ALMATY.lon)
    assert abs(fast - d) <= fast_error_km(fast)
    assert abs(fast - d) < 0.01


@pytest.mark.parametrize(
    "a, b, km",
    [
        ((0, 0), (1, 0), 110.574),  # a degree of latitude at the equator
        ((0, 0), (0, 90), 10_018.754),  # a quarter of the equator, a·π/2
        ((51.1694, 71.4491), (51.1694, 71.4491), 0.0),
    ],
)
def test_known_distances(a, b, km):
    pa, pb = Point(*a), Point(*b)
    assert geodesic_km(pa, pb) == pytest.approx(km, abs=0.001)
    assert fast_distance_km(*a, *b) == pytest.approx(km, abs=0.001)


def _random_pairs(rng, n, lat_range, max_km):
    lat1 = rng.uniform(*lat_range, n)
    lon1 = rng.uniform(-180, 180, n)
    pairs = []
    for la, lo, az, s in zip(lat1, lon1, rng.uniform(0, 360, n), rng.uniform(0, max_km, n)):
        start = Point(la, lo)
        pairs.append((start, destination(start, az, s)))
    return pairs


@pytest.mark.parametrize(
    "lat_range, max_km",
    [((40, 56), 300), ((-90, 90), 300), ((-90, 90), 20_000)],
    ids=["kazakhstan-300km", "global-300km", "global-any"],
)
def test_fast_error_bound_holds_on_random_pairs(lat_range, max_km):
    rng = np.random.default_rng(20240601)
    pairs = _random_pairs(rng, 2000, lat_range, max_km)
    a_lat = np.array([a.lat for a, _ in pairs])
    a_lon = np.array([a.lon for a, _ in pairs])
    b_lat = np.array([b.lat for _, b in pairs])
    b_lon = np.array([b.lon for _, b in pairs])
    truth = np.array([geodesic_km(a, b) for a, b in pairs])
    fast = np.array(
        [
            fast_distances_km(la, lo, b_lat[i : i + 1], b_lon[i : i + 1])[0]
            for i, (la, lo) in enumerate(zip(a_lat, a_lon))
        ]
    )
    error = np.abs(fast - truth)
    assert (error <= fast_error_km(fast)).all(), error.max()
    if max_km <= 300:
        assert error.max() < 0.001  # under a metre where dispatch works


def test_fast_error_bound_holds_near_antipodes():
    rng = np.random.default_rng(7)
    lat1, lon1 = rng.uniform(-90, 90, 500), rng.uniform(-180, 180, 500)
    lat2 = np.clip(-lat1 + rng.normal(0, 0.5, 500), -90, 90)
    lon2 = (lon1 + 360 + rng.normal(0, 0.5, 500)) % 360 - 180
    for args in [*zip(lat1, lon1, lat2, lon2), (0, 0, 0, 180), (10, 0, -10, 180), (90, 0, -90, 0)]:
        fast = fast_distance_km(*args)
        truth = geodesic_km(Point(args[0], args[1]), Point(args[2], args[3]))
        assert abs(fast - truth) <= fast_error_km(fast)


def test_vectorised_matches_scalar():
    rng = np.random.default_rng(3)
    lats, lons = rng.uniform(40, 56, 100), rng.uniform(46, 87, 100)
    vec = fast_distances_km(ASTANA.lat, ASTANA.lon, lats, lons)
    for i in range(100):
        assert vec[i] == pytest.approx(fast_distance_km(ASTANA.lat, ASTANA.lon, lats[i], lons[i]), abs=1e-9)


def test_fast_error_km_scalar_and_array():
    assert isinstance(fast_error_km(100.0), float)
    assert fast_error_km(100.0) < 0.001
    assert fast_error_km(np.array([1.0, 15_000.0])).shape == (2,)


# --- bounding boxes -----------------------------------------------------------------


def test_bounding_box_ordinary():
    box = bounding_box(ASTANA, 50)
    assert not box.crosses_antimeridian and box.split() == [box]
    assert box.min_lat < 51.1694 - 0.449 and box.max_lat > 51.1694 + 0.449
    assert box.max_lat - box.min_lat < 0.92  # not absurdly loose


def test_bounding_box_at_pole_takes_all_longitudes():
    box = bounding_box(Point(89.8, 10), 50)
    assert (box.min_lon, box.max_lon, box.max_lat) == (-180.0, 180.0, 90.0)
    box = bounding_box(Point(-90, 0), 1)
    assert (box.min_lon, box.max_lon, box.min_lat) == (-180.0, 180.0, -90.0)


def test_bounding_box_across_antimeridian():
    box = bounding_box(Point(0, 179.9), 50)
    assert box.crosses_antimeridian and box.min_lon > box.max_lon
    east, west = box.split()
    assert east.max_lon == 180.0 and west.min_lon == -180.0
    assert box.contains(Point(0, -179.95)) and box.contains(Point(0, 179.95))
    assert not box.contains(Point(0, 0))


def test_bounding_box_rejects_negative_radius():
    with pytest.raises(GeoError, match="negative"):
        bounding_box(ASTANA, -1)


def test_grown_box_around_whole_world_is_whole_world():
    box = BoundingBox(-10, 10, -170, 170).grown(3000)
    assert (box.min_lon, box.max_lon) == (-180.0, 180.0)


latitudes = st.one_of(st.floats(-90, 90), st.floats(75, 90), st.floats(-90, -75), st.sampled_from([90.0, -90.0, 0.0]))
longitudes = st.one_of(
    st.floats(-180, 180), st.floats(170, 180), st.floats(-180, -170), st.sampled_from([180.0, -180.0])
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat=latitudes,
    lon=longitudes,
    radius_km=st.one_of(st.floats(0, 300), st.floats(0, 3000)),
    bearing=st.floats(0, 360),
    fraction=st.one_of(st.floats(0, 1), st.just(1.0)),
)
def test_bounding_box_never_excludes_a_member(lat, lon, radius_km, bearing, fraction):
    center = Point(lat, lon)
    box = bounding_box(center, radius_km)
    member = destination(center, bearing, radius_km * fraction)
    assert geodesic_km(center, member) <= radius_km + 1e-9
    assert box.contains(member)
    assert sum(part.contains(member) for part in box.split()) >= 1
    assert all(part.min_lon <= part.max_lon for part in box.split())
