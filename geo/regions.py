"""Kazakhstan's first-level units (17 regions, 3 cities of republican significance) and the one a point is in.

Codes are ISO 3166-2 (as in the pycountry data, which a test compares them with). The borders
(geo/data/kz_regions.geojson.gz, made by tools/build_geo_data.py) are simplified to about
500 m, so a point that close to a regional border may be given the neighbour: coordinators
can correct a record's region by hand.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from geo.points import Point

DATA_FILE = Path(__file__).with_name("data") / "kz_regions.geojson.gz"
# A point outside every region but this close to one (in degrees, about 1 km) is on a
# simplified coast or border line (simplified by ~500 m), not abroad: it gets the nearest region.
EDGE_TOLERANCE_DEG = 0.01


@dataclass(frozen=True, slots=True)
class RegionNames:
    kk: str
    ru: str
    en: str

    def get(self, lang: str) -> str:
        return {"kk": self.kk, "ru": self.ru}.get(lang, self.en)

    def as_dict(self) -> dict[str, str]:
        return {"kk": self.kk, "ru": self.ru, "en": self.en}


REGIONS: dict[str, RegionNames] = {
    "KZ-10": RegionNames("Абай облысы", "Область Абай", "Abai Region"),
    "KZ-11": RegionNames("Ақмола облысы", "Акмолинская область", "Akmola Region"),
    "KZ-15": RegionNames("Ақтөбе облысы", "Актюбинская область", "Aktobe Region"),
    "KZ-19": RegionNames("Алматы облысы", "Алматинская область", "Almaty Region"),
    "KZ-23": RegionNames("Атырау облысы", "Атырауская область", "Atyrau Region"),
    "KZ-27": RegionNames("Батыс Қазақстан облысы", "Западно-Казахстанская область", "West Kazakhstan Region"),
    "KZ-31": RegionNames("Жамбыл облысы", "Жамбылская область", "Zhambyl Region"),
    "KZ-33": RegionNames("Жетісу облысы", "Область Жетісу", "Zhetysu Region"),
    "KZ-35": RegionNames("Қарағанды облысы", "Карагандинская область", "Karaganda Region"),
    "KZ-39": RegionNames("Қостанай облысы", "Костанайская область", "Kostanay Region"),
    "KZ-43": RegionNames("Қызылорда облысы", "Кызылординская область", "Kyzylorda Region"),
    "KZ-47": RegionNames("Маңғыстау облысы", "Мангистауская область", "Mangystau Region"),
    "KZ-55": RegionNames("Павлодар облысы", "Павлодарская область", "Pavlodar Region"),
    "KZ-59": RegionNames("Солтүстік Қазақстан облысы", "Северо-Казахстанская область", "North Kazakhstan Region"),
    "KZ-61": RegionNames("Түркістан облысы", "Туркестанская область", "Turkistan Region"),
    "KZ-62": RegionNames("Ұлытау облысы", "Область Ұлытау", "Ulytau Region"),
    "KZ-63": RegionNames("Шығыс Қазақстан облысы", "Восточно-Казахстанская область", "East Kazakhstan Region"),
    "KZ-71": RegionNames("Астана", "Астана", "Astana"),
    "KZ-75": RegionNames("Алматы", "Алматы", "Almaty"),
    "KZ-79": RegionNames("Шымкент", "Шымкент", "Shymkent"),
}


def is_region(code: object) -> bool:
    return isinstance(code, str) and code in REGIONS


@cache
def _borders() -> tuple[tuple[str, shapely.Geometry], ...]:
    collection = json.loads(gzip.decompress(DATA_FILE.read_bytes()))
    borders = []
    for feature in collection["features"]:
        geometry = shape(feature["geometry"])
        shapely.prepare(geometry)
        borders.append((str(feature["properties"]["code"]), geometry))
    return tuple(borders)


def region_of(point: Point) -> str | None:
    """The ISO 3166-2 code of the region `point` is in, or None outside Kazakhstan."""
    where = shapely.Point(point.lon, point.lat)
    distances = []
    for code, geometry in _borders():
        if shapely.covers(geometry, where):
            return code
        distances.append((float(shapely.distance(geometry, where)), code))
    distance, code = min(distances)
    return code if distance <= EDGE_TOLERANCE_DEG else None


def regions_of(points: Sequence[Point]) -> list[str | None]:
    """region_of for many points at once (a migration over 200,000 volunteers): the same answers."""
    if not points:
        return []
    lons = np.array([p.lon for p in points], dtype=float)
    lats = np.array([p.lat for p in points], dtype=float)
    found: list[str | None] = [None] * len(points)
    left = np.ones(len(points), dtype=bool)
    for code, geometry in _borders():
        inside = left & shapely.contains_xy(geometry, lons, lats)
        for index in np.flatnonzero(inside):
            found[int(index)] = code
        left &= ~inside
    # Points on a border line or just outside it: the careful one-by-one answer; the rest are abroad.
    outside = np.flatnonzero(left)
    near = np.zeros(len(outside), dtype=bool)
    spots = shapely.points(lons[outside], lats[outside])
    for _code, geometry in _borders():
        near |= shapely.dwithin(geometry, spots, EDGE_TOLERANCE_DEG)
    for index in outside[near]:
        found[int(index)] = region_of(points[int(index)])
    return found
