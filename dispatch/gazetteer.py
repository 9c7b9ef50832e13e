"""Places and regions for the API and the pages: a record's region (derived from its point unless
a coordinator gives one) and the JSON shapes of geo.places and geo.regions, all offline."""

from __future__ import annotations

from geo import Point
from geo.places import Place, search
from geo.regions import REGIONS, region_of

from .errors import ValidationFailed

LANGUAGES = ("en", "ru", "kk")
MAX_PLACES = 50


def checked_region(code: str) -> str:
    if code not in REGIONS:
        message = f"unknown region {code!r}; GET /api/v1/regions lists the codes"
        raise ValidationFailed(message, {"fields": {"region": message}})
    return code


def region_for(lat: float | None, lon: float | None, given: str | None = None) -> str | None:
    """`given` when set (checked), else the region of the point, else None (abroad, or no point)."""
    if given is not None:
        return checked_region(given)
    if lat is None or lon is None:
        return None
    return region_of(Point(lat, lon))


def regions_json() -> list[dict]:
    return [{"code": code, "names": names.as_dict()} for code, names in REGIONS.items()]


def place_json(place: Place, lang: str) -> dict:
    return {
        "name": place.name(lang),
        "names": place.names,
        "lat": place.lat,
        "lon": place.lon,
        "population": place.population,
        "region": place.region,
    }


def find_places(query: str, limit: int, lang: str) -> list[dict]:
    """Settlements matching `query` (any script, kk/ru/en), best first; names in `lang` first."""
    return [place_json(place, lang) for place in search(query[:100], min(limit, MAX_PLACES))]
