"""A validated WGS-84 point, and the single place where lat,lon and lon,lat orders meet.

GeoJSON writes [lon, lat]; CAP, query strings and humans write "lat,lon". Both are
converted to Point here and nowhere else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import SupportsFloat

from geo.errors import GeoError

# A plain decimal number. Stricter than float(), which would also take "nan", "inf",
# "1_000" and "1e3": none of those belong in a coordinate someone typed.
_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_LAT_LON = re.compile(rf"\s*({_DECIMAL})\s*,\s*({_DECIMAL})\s*")
_NUMBER = re.compile(rf"\s*({_DECIMAL})\s*")


def coordinate_value(value: object, what: str) -> float:
    """Return value as a finite float, or raise GeoError naming `what`.

    bool is refused although it is an int: True is never a coordinate.
    """
    plain_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    # numpy scalars are not int/float subclasses (except float64); accept them too.
    numpy_number = hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iuf"
    if not (plain_number or numpy_number) or not isinstance(value, SupportsFloat):
        raise GeoError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise GeoError(f"{what} must be a finite number, got {value!r}") from None
    if not math.isfinite(number):
        raise GeoError(f"{what} must be a finite number, got {value!r}")
    return number


def parse_decimal(text: str, what: str) -> float:
    """Parse a plain decimal number typed by a human or found in a CAP message."""
    match = _NUMBER.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise GeoError(f"{what} must be a decimal number, got {text!r}")
    return float(match.group(1))


@dataclass(frozen=True, slots=True)
class Point:
    """A point on the WGS-84 ellipsoid, in degrees. Construction validates the range."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        lat = coordinate_value(self.lat, "latitude")
        lon = coordinate_value(self.lon, "longitude")
        if not -90.0 <= lat <= 90.0:
            hint = " (latitude comes first: lat,lon)" if abs(lon) <= 90.0 else ""
            raise GeoError(f"latitude {lat:g} is outside -90..90{hint}")
        if not -180.0 <= lon <= 180.0:
            raise GeoError(f"longitude {lon:g} is outside -180..180")
        # Store plain floats even if given ints or numpy scalars (frozen: bypass setattr).
        object.__setattr__(self, "lat", lat)
        object.__setattr__(self, "lon", lon)

    @classmethod
    def from_geojson(cls, coords: object) -> Point:
        """Build from a GeoJSON position [lon, lat] (an optional altitude is ignored)."""
        if isinstance(coords, (str, bytes)) or not isinstance(coords, Sequence):
            raise GeoError(f"a GeoJSON position must be a [lon, lat] array, got {coords!r}")
        if not 2 <= len(coords) <= 3:
            raise GeoError(f"a GeoJSON position must have 2 numbers [lon, lat], got {len(coords)}")
        return cls(lat=coordinate_value(coords[1], "latitude"), lon=coordinate_value(coords[0], "longitude"))

    def to_geojson(self) -> list[float]:
        """GeoJSON position: [lon, lat]."""
        return [self.lon, self.lat]

    def __str__(self) -> str:
        # The human / CAP order, at about 1 m resolution.
        return f"{self.lat:.5f},{self.lon:.5f}"


def parse_lat_lon(text: str) -> Point:
    """Parse "LAT,LON" (decimal degrees, e.g. "51.1694,71.4491") as in ?near=LAT,LON or CAP."""
    match = _LAT_LON.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise GeoError(f'expected "LAT,LON" in decimal degrees, e.g. "51.1694,71.4491"; got {text!r}')
    return Point(lat=float(match.group(1)), lon=float(match.group(2)))
