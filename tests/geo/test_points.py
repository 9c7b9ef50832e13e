import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geo import GeoError, Point, parse_lat_lon


def test_point_stores_floats_and_round_trips_geojson():
    p = Point(lat=51, lon=np.float32(71.5))
    assert (p.lat, p.lon) == (51.0, 71.5)
    assert type(p.lat) is float and type(p.lon) is float
    assert p.to_geojson() == [71.5, 51.0]
    assert Point.from_geojson([71.5, 51.0]) == p
    assert Point.from_geojson([71.5, 51.0, 350.0]) == p  # altitude ignored
    assert str(p) == "51.00000,71.50000"


@pytest.mark.parametrize(
    "lat, lon, message",
    [
        (90.5, 0, "latitude 90.5 is outside -90..90"),
        (-91, 0, "latitude -91 is outside"),
        (0, 180.01, "longitude 180.01 is outside -180..180"),
        (math.nan, 0, "finite"),
        (0, math.inf, "finite"),
        ("51", 71, "must be a number"),
        (True, 71, "must be a number"),
        (None, 71, "must be a number"),
    ],
)
def test_point_rejects_bad_values(lat, lon, message):
    with pytest.raises(GeoError, match=message):
        Point(lat=lat, lon=lon)


def test_swapped_order_is_hinted():
    with pytest.raises(GeoError, match=r"latitude comes first: lat,lon"):
        Point(lat=120.0, lon=45.0)


def test_point_edges_are_valid():
    for lat, lon in [(90, 180), (-90, -180), (0, 0)]:
        Point(lat=lat, lon=lon)


@pytest.mark.parametrize("bad", [[71.5], [1, 2, 3, 4], "71,51", None, {"lon": 1}, [71.5, "51"]])
def test_from_geojson_rejects(bad):
    with pytest.raises(GeoError):
        Point.from_geojson(bad)


def test_parse_lat_lon():
    assert parse_lat_lon("51.1694,71.4491") == Point(51.1694, 71.4491)
    assert parse_lat_lon(" -33.5 , +151 ") == Point(-33.5, 151.0)
    assert parse_lat_lon("51,71") == Point(51, 71)


@pytest.mark.parametrize(
    "bad", ["", "51.1", "51.1,71.4,3", "nan,1", "inf,1", "1e3,1", "a,b", "51.1;71.4", "95,10", None]
)
def test_parse_lat_lon_rejects(bad):
    with pytest.raises(GeoError):
        parse_lat_lon(bad)


def test_geo_imports_no_web_or_database_code():
    # House rule: geo is a pure library, usable in a REPL.
    code = (
        "import sys, geo\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "{'flask', 'sqlalchemy', 'flask_sqlalchemy', 'dispatch', 'notifications'}]\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
