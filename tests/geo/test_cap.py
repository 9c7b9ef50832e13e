import numpy as np
import pytest
from geographiclib.geodesic import Geodesic
from shapely.geometry import MultiPolygon

from geo import GeoError, Point, geodesic_km, parse_cap_circle, parse_cap_polygon

WGS84 = Geodesic.WGS84


def destination(p: Point, bearing_deg: float, km: float) -> Point:
    r = WGS84.Direct(p.lat, p.lon, bearing_deg, km * 1000.0)
    return Point(r["lat2"], r["lon2"])


def test_cap_polygon_is_lat_lon():
    area = parse_cap_polygon("50.0,71.0 50.0,72.0 51.0,72.0 51.0,71.0 50.0,71.0")
    assert area.geometry.bounds == (71.0, 50.0, 72.0, 51.0)  # shapely: lon first
    assert area.contains(Point(lat=50.5, lon=71.5))
    assert area.to_geojson()["coordinates"][0][0] == [71.0, 50.0]


def test_cap_polygon_tolerates_extra_whitespace():
    area = parse_cap_polygon("\n  50,71  50,72\t51,72 51,71 50,71 \n")
    assert area.contains(Point(50.5, 71.5))


@pytest.mark.parametrize(
    "text, message",
    [
        ("50,71 50,72 51,72 51,71", "CAP polygon ring 1 is not closed"),
        ("50,71 50,72 50,71", "has 3 positions; a closed ring needs at least 4"),
        ("50,71 51,72 50,72 51,71 50,71", "Self-intersection"),
        ("50,71 50;72 51,72 50,71", 'CAP polygon pair 2: expected "LAT,LON"'),
        ("50,71 95,72 51,72 50,71", "pair 2: latitude 95 is outside"),
        ("71,50 72,50 72,190 71,50", "pair 3: longitude 190 is outside"),
        ("", "has 0 positions"),
        (None, "must be text"),
    ],
)
def test_cap_polygon_rejects(text, message):
    with pytest.raises(GeoError, match=message):
        parse_cap_polygon(text)


def test_cap_circle_covers_its_radius_on_the_ellipsoid():
    centre = Point(51.1694, 71.4491)
    area = parse_cap_circle("51.1694,71.4491 10")
    assert area.vertex_count == 65
    for bearing in np.arange(0, 360, 2.5):
        assert area.contains(destination(centre, bearing, 9.999)), bearing
        assert area.contains(destination(centre, bearing, 10.0)), bearing
        assert not area.contains(destination(centre, bearing, 10.05)), bearing
    # Vertices are all the same geodesic distance from the centre (lat,lon not swapped).
    ring = area.geometry.exterior.coords
    distances = [geodesic_km(centre, Point(lat=lat, lon=lon)) for lon, lat in ring]
    assert max(distances) - min(distances) < 1e-6


def test_cap_circle_distance_from_outside():
    area = parse_cap_circle("43.2220,76.8512 5")
    outside = destination(Point(43.2220, 76.8512), 45, 25)
    assert area.distance_km(outside) == pytest.approx(20.0, abs=0.02)


def test_cap_circle_across_the_antimeridian_is_split():
    area = parse_cap_circle("-16.5,179.9 50")
    assert isinstance(area.geometry, MultiPolygon)
    assert area.contains(Point(-16.5, 179.9)) and area.contains(Point(-16.5, -179.8))
    assert area.contains(destination(Point(-16.5, 179.9), 90, 49.9))
    assert not area.contains(Point(-16.5, 0))
    assert area.bounding_box(0).min_lon == -180.0


@pytest.mark.parametrize(
    "text, message",
    [
        ("51.1694,71.4491", 'CAP circle must be "lat,lon radius_km"'),
        ("51.1694,71.4491 10 extra", 'CAP circle must be "lat,lon radius_km"'),
        ("51.1694,71.4491 ten", "radius .km. must be a decimal number"),
        ("51.1694,71.4491 -5", "must not be negative"),
        ("51.1694,71.4491 0", "radius is 0"),
        ("91,71 5", "CAP circle centre: latitude 91 is outside"),
        ("89.9,0 50", "covers a pole"),
        (None, 'CAP circle must be "lat,lon radius_km"'),
    ],
)
def test_cap_circle_rejects(text, message):
    with pytest.raises(GeoError, match=message):
        parse_cap_circle(text)
