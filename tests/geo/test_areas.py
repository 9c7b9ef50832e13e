import math

import numpy as np
import pytest
import shapely
from geographiclib.geodesic import Geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import MAX_AREA_RINGS, MAX_AREA_VERTICES, Area, GeoError, Point, parse_geojson_area
from geo.distance import _lambert_km

WGS84 = Geodesic.WGS84
SQUARE = {"type": "Polygon", "coordinates": [[[71, 50], [72, 50], [72, 51], [71, 51], [71, 50]]]}


def destination(lat: float, lon: float, bearing_deg: float, km: float) -> Point:
    r = WGS84.Direct(lat, lon, bearing_deg, km * 1000.0)
    return Point(r["lat2"], r["lon2"])


def brute_force_km(area: Area, point: Point) -> float:
    """Distance to the lon,lat-straight boundary sampled every ~10 m: slow but plain."""
    if area.contains(point):
        return 0.0
    coords = shapely.get_coordinates(shapely.segmentize(area.geometry.boundary, 0.0001))
    return float(_lambert_km(point.lat, point.lon, coords[:, 1], coords[:, 0]).min())


def test_parse_polygon_with_hole_and_feature_wrapper():
    doc = {
        "type": "Feature",
        "properties": {"name": "flood"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[71, 50], [72, 50], [72, 51], [71, 51], [71, 50]],
                [[71.4, 50.4], [71.6, 50.4], [71.6, 50.6], [71.4, 50.6], [71.4, 50.4]],
            ],
        },
    }
    area = parse_geojson_area(doc)
    assert area.contains(Point(50.2, 71.2))
    assert not area.contains(Point(50.5, 71.5))  # in the hole
    assert area.contains(Point(50.4, 71.5))  # on the hole's edge counts as inside
    assert area.vertex_count == 10


def test_parse_multipolygon_and_round_trip():
    doc = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[71, 50], [72, 50], [72, 51], [71, 51], [71, 50]]],
            [[[75, 43], [76, 43], [76, 44], [75, 43]]],
        ],
    }
    area = parse_geojson_area(doc)
    assert area.contains(Point(43.2, 75.9)) and area.contains(Point(50.5, 71.5))
    assert area.to_geojson() == {"type": "MultiPolygon", "coordinates": doc["coordinates"]}
    assert parse_geojson_area(area.to_geojson()) == area


def test_contains_boundary_and_outside():
    area = parse_geojson_area(SQUARE)
    assert area.contains(Point(50.5, 71.5))
    assert area.contains(Point(51.0, 71.5))  # edge
    assert area.contains(Point(50.0, 71.0))  # corner
    assert not area.contains(Point(51.0001, 71.5))


def test_centroid_and_bounding_box():
    area = parse_geojson_area(SQUARE)
    assert area.centroid == Point(50.5, 71.5)
    box = area.bounding_box(10)
    assert box.min_lat < 50 - 10 / 111.2 and box.max_lat > 51 + 10 / 111.2
    assert box.contains(destination(51.0, 72.0, 90.0, 10.0))
    assert box.contains(destination(51.0, 71.0, 270.0, 10.0))
    assert box.max_lon - 72.0 < 0.15  # 10 km at 51°N is 0.1425° of longitude
    assert area.bounding_box(0).min_lat <= 50.0


bad_inputs = {
    "unclosed ring": (
        {"type": "Polygon", "coordinates": [[[71, 50], [72, 50], [72, 51], [71, 51]]]},
        r"ring 1 is not closed: first position \[71.0, 50.0\] differs from last \[71.0, 51.0\]",
    ),
    "too few positions": (
        {"type": "Polygon", "coordinates": [[[71, 50], [72, 50], [71, 50]]]},
        "ring 1 has 3 positions; a closed ring needs at least 4",
    ),
    "bow-tie": (
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
        r"not a valid polygon: Self-intersection\[0.5 0.5\]",
    ),
    "hole outside shell": (
        {
            "type": "Polygon",
            "coordinates": [
                [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]],
                [[5, 5], [6, 5], [6, 6], [5, 5]],
            ],
        },
        "not a valid polygon: Hole lies outside shell",
    ),
    "latitude out of range": (
        {"type": "Polygon", "coordinates": [[[71, 50], [72, 91], [72, 51], [71, 50]]]},
        "Polygon ring 1 position 2: latitude 91 is outside -90..90",
    ),
    "longitude out of range": (
        {"type": "Polygon", "coordinates": [[[71, 50], [181, 50], [72, 51], [71, 50]]]},
        "position 2: longitude 181 is outside -180..180",
    ),
    "too many vertices": (
        {"type": "Polygon", "coordinates": [[[0, 0]] * (MAX_AREA_VERTICES + 1)]},
        f"area has {MAX_AREA_VERTICES + 1} vertices; at most {MAX_AREA_VERTICES} are allowed",
    ),
    "a million empty polygons": (
        {"type": "MultiPolygon", "coordinates": [[]] * 1_000_000},
        f"area has over {MAX_AREA_RINGS} polygons; at most {MAX_AREA_RINGS} are allowed",
    ),
    "a million empty rings": (
        {"type": "Polygon", "coordinates": [[]] * 1_000_000},
        f"area has over {MAX_AREA_RINGS} rings",
    ),
    "rings spread over polygons": (
        {"type": "MultiPolygon", "coordinates": [[[]] * 100] * 13},
        f"area has over {MAX_AREA_RINGS} rings",
    ),
    "wrong type": (
        {"type": "Point", "coordinates": [71, 50]},
        'GeoJSON type must be "Polygon" or "MultiPolygon".*got \'Point\'',
    ),
    "no type": ({"coordinates": []}, "got None"),
    "non-numeric": (
        {"type": "Polygon", "coordinates": [[[71, 50], ["72", 50], [72, 51], [71, 50]]]},
        "position 2: longitude must be a number, got '72'",
    ),
    "boolean": (
        {"type": "Polygon", "coordinates": [[[71, 50], [True, 50], [72, 51], [71, 50]]]},
        "longitude must be a number, got True",
    ),
    "infinite": (
        {"type": "Polygon", "coordinates": [[[71, 50], [float("inf"), 50], [72, 51], [71, 50]]]},
        "longitude must be a finite number",
    ),
    "position too short": (
        {"type": "Polygon", "coordinates": [[[71, 50], [72], [72, 51], [71, 50]]]},
        r"position 2: a GeoJSON position must have 2 numbers \[lon, lat\]",
    ),
    "ring is a string": ({"type": "Polygon", "coordinates": ["71,50 72,51"]}, "ring 1 must be an array, got str"),
    "no rings": ({"type": "Polygon", "coordinates": []}, "Polygon has no rings"),
    "empty multipolygon": ({"type": "MultiPolygon", "coordinates": []}, "MultiPolygon has no polygons"),
    "overlapping multipolygon": (
        {
            "type": "MultiPolygon",
            "coordinates": [
                [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]],
                [[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]],
            ],
        },
        "not a valid polygon: Self-intersection",
    ),
    "feature without geometry": ({"type": "Feature", "geometry": None}, "Feature has no geometry"),
    "not an object": ([[71, 50]], "must be an object, got list"),
}


@pytest.mark.parametrize("doc, message", bad_inputs.values(), ids=bad_inputs.keys())
def test_rejects_bad_geojson_with_clear_message(doc, message):
    with pytest.raises(GeoError, match=message):
        parse_geojson_area(doc)


def test_vertex_limit_allows_exactly_the_maximum():
    angles = np.linspace(0, 2 * np.pi, MAX_AREA_VERTICES, endpoint=False)[: MAX_AREA_VERTICES - 1]
    ring = [[71 + float(np.cos(t)), 50 + float(np.sin(t))] for t in angles]
    ring.append(ring[0])
    assert parse_geojson_area({"type": "Polygon", "coordinates": [ring]}).vertex_count == MAX_AREA_VERTICES


# --- distances ----------------------------------------------------------------------


def test_distance_inside_and_on_the_boundary_is_zero():
    area = parse_geojson_area(SQUARE)
    assert area.distance_km(Point(50.5, 71.5)) == 0.0
    assert area.distance_km(Point(51.0, 71.5)) == 0.0


def test_distance_10_km_north_of_edge_at_latitude_51():
    area = parse_geojson_area(SQUARE)
    north = destination(51.0, 71.5, 0.0, 10.0)
    assert area.distance_km(north) == pytest.approx(10.0, abs=0.005)  # not 0.09°·111 or so


def test_distance_east_of_meridian_edge():
    area = parse_geojson_area(SQUARE)
    east = destination(50.5, 72.0, 90.0, 10.0)
    assert area.distance_km(east) == pytest.approx(brute_force_km(area, east), abs=0.002)
    assert area.distance_km(east) == pytest.approx(10.0, abs=0.02)


@pytest.mark.parametrize(
    "doc",
    [
        SQUARE,
        {"type": "Polygon", "coordinates": [[[70, 49], [74, 49], [74, 52], [70, 52], [70, 49]]]},
        {"type": "Polygon", "coordinates": [[[10, 75], [40, 76], [30, 80], [10, 75]]]},
        {
            "type": "MultiPolygon",
            "coordinates": [
                [[[179, 60], [180, 60], [180, 61], [179, 61], [179, 60]]],
                [[[-180, 60], [-179, 60], [-179, 61], [-180, 61], [-180, 60]]],
            ],
        },
    ],
    ids=["square", "region", "arctic-triangle", "antimeridian"],
)
def test_distances_match_brute_force(doc):
    area = parse_geojson_area(doc)
    rng = np.random.default_rng(11)
    c = area.centroid if doc["type"] == "Polygon" else Point(60.5, 180.0)
    points = [destination(c.lat, c.lon, rng.uniform(0, 360), rng.uniform(0, 400)) for _ in range(60)]
    lats = np.array([p.lat for p in points])
    lons = np.array([p.lon for p in points])
    got = area.distances_km(lats, lons)
    for p, d in zip(points, got):
        truth = brute_force_km(area, p)
        # Never short by more than the ~10 m sampling of the brute force; over by little.
        assert truth - 0.002 <= d <= truth + max(0.003, 1e-5 * truth)
        assert area.distance_km(p) == pytest.approx(d, abs=1e-9)


def test_distances_reject_bad_arrays():
    area = parse_geojson_area(SQUARE)
    with pytest.raises(GeoError):
        area.distances_km(np.array([50.0, 91.0]), np.array([71.0, 71.0]))
    with pytest.raises(GeoError):
        area.distances_km(np.array([50.0]), np.array([71.0, 72.0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat=st.floats(-60, 60),
    lon=st.floats(-170, 170),
    margin_km=st.floats(0, 200),
    bearing=st.floats(0, 360),
    fraction=st.floats(0, 1),
)
def test_area_bounding_box_is_conservative(lat, lon, margin_km, bearing, fraction):
    area = parse_geojson_area(
        {
            "type": "Polygon",
            "coordinates": [[[lon, lat], [lon + 1, lat], [lon + 1, lat + 0.5], [lon, lat + 0.5], [lon, lat]]],
        }
    )
    box = area.bounding_box(margin_km)
    corner = Point(lat + 0.5, lon + 1) if bearing < 180 else Point(lat, lon)
    member = destination(corner.lat, corner.lon, bearing, margin_km * fraction)
    assert box.contains(member)


# --- properties ---------------------------------------------------------------------


@st.composite
def star_polygons(draw):
    """Simple polygons around a centre: vertices at increasing angles, random radii."""
    lat = draw(st.floats(-80, 80))
    lon = draw(st.floats(-175, 175))
    n = draw(st.integers(3, 40))
    step = 2 * math.pi / n
    # Jitter under a fifth of a step keeps every gap below π, so the centre is inside.
    jitter = draw(st.lists(st.floats(-0.2, 0.2), min_size=n, max_size=n))
    angles = [step * (i + j) for i, j in enumerate(jitter)]
    radii = draw(st.lists(st.floats(0.01, 2.0), min_size=n, max_size=n))
    ring = [[lon + r * math.cos(a), lat + r * math.sin(a)] for a, r in zip(angles, radii)]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}, Point(lat, lon)


@settings(max_examples=150, deadline=None)
@given(star_polygons())
def test_random_valid_polygons_parse(polygon_and_centre):
    doc, centre = polygon_and_centre
    area = parse_geojson_area(doc)
    assert area.contains(centre)
    assert area.distance_km(centre) == 0.0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=30,
)
numbers = st.one_of(st.floats(), st.integers(), st.integers(min_value=10**300, max_value=10**400))
positions = st.lists(numbers, min_size=0, max_size=4)
rings = st.lists(st.one_of(positions, json_values), max_size=8)
near_valid = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Polygon", "MultiPolygon", "Feature", "Point", None]),
        "coordinates": st.one_of(
            st.lists(rings, max_size=3), st.lists(st.lists(rings, max_size=2), max_size=2), json_values
        ),
        "geometry": json_values,
    }
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, near_valid))
def test_garbage_raises_only_geo_error(doc):
    try:
        area = parse_geojson_area(doc)
    except GeoError as exc:
        assert str(exc)
    else:
        assert isinstance(area, Area)
