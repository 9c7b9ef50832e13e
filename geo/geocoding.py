"""Optional address geocoding against a Nominatim server (geopy), rate-limited and cached.

Dispatch works without it: coordinates are the primary input. Cached answers include
misses, so a typo'd address does not hit the service again and again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from geo.errors import GeoError
from geo.points import Point

# Address keys from Nominatim's `address` object, most specific settlement first.
_SETTLEMENT_KEYS = ("hamlet", "village", "town", "city", "municipality")
_DISTRICT_KEYS = ("suburb", "neighbourhood", "quarter", "city_district")
_REGION_KEYS = ("county", "state_district", "state", "region", "country")


class GeocodingUnavailable(GeoError):
    """The geocoding service failed or timed out; the address itself may be fine."""


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    point: Point
    display_name: str


# A cached answer: a small JSON object ({"found": false} or the place found).
CacheEntry = dict[str, Any]


class GeocodeCache(Protocol):
    """Key/value store for geocoder answers; values are small JSON-able dicts."""

    def get(self, key: str) -> CacheEntry | None: ...

    def set(self, key: str, value: CacheEntry) -> None: ...


class MemoryGeocodeCache:
    """A dict-backed GeocodeCache for tests and the REPL."""

    def __init__(self) -> None:
        self.entries: dict[str, CacheEntry] = {}

    def get(self, key: str) -> CacheEntry | None:
        return self.entries.get(key)

    def set(self, key: str, value: CacheEntry) -> None:
        self.entries[key] = value


def forward_cache_key(address: str) -> str:
    return "fwd:" + " ".join(address.casefold().split())


def reverse_cache_key(point: Point) -> str:
    # 5 decimals ≈ 1 m: the same spot asked twice shares an entry.
    return f"rev:{point.lat:.5f},{point.lon:.5f}"


class Geocoder:
    """Nominatim client. base_url: "https://nominatim.example.org" or
    "http://127.0.0.1:8080/nominatim" (scheme, host[:port], optional path prefix).

    All requests (forward and reverse) share one RateLimiter, min_delay_s apart, as
    Nominatim's usage policy asks. No retries: dispatch must not hang on a slow service.
    """

    def __init__(
        self,
        base_url: str,
        user_agent: str,
        cache: GeocodeCache | None = None,
        min_delay_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise GeoError(f"geocoder base_url must look like https://host[:port][/path], got {base_url!r}")
        if not user_agent or not user_agent.strip():
            raise GeoError("geocoder user_agent must name the application (Nominatim policy)")
        # geopy builds "<scheme>://<domain>/search", so a path prefix rides in `domain`.
        self._nominatim = Nominatim(
            domain=parts.netloc + parts.path.rstrip("/"),
            scheme=parts.scheme,
            user_agent=user_agent,
            timeout=timeout_s,
        )
        self._cache = cache
        self._limited = RateLimiter(
            lambda method, *args, **kwargs: method(*args, **kwargs),
            min_delay_seconds=min_delay_s,
            max_retries=0,
            swallow_exceptions=False,
        )

    def geocode(self, address: str) -> GeocodeResult | None:
        """The best match for address, or None if the service knows no such place."""
        if not isinstance(address, str) or not address.strip():
            raise GeoError("address is empty")
        key = forward_cache_key(address)
        cached = self._cache.get(key) if self._cache is not None else None
        if cached is not None:
            if not cached.get("found"):
                return None
            return GeocodeResult(Point(lat=cached["lat"], lon=cached["lon"]), cached["display_name"])
        location = self._call(self._nominatim.geocode, address.strip(), exactly_one=True)
        if location is None:
            self._store(key, {"found": False})
            return None
        try:
            point = Point(lat=location.latitude, lon=location.longitude)
        except GeoError as exc:
            raise GeocodingUnavailable(f"geocoding service returned bad coordinates: {exc}") from None
        display_name = location.address or ""
        self._store(key, {"found": True, "lat": point.lat, "lon": point.lon, "display_name": display_name})
        return GeocodeResult(point, display_name)

    def reverse(self, point: Point) -> str | None:
        """A short place name for an SMS, e.g. "Medeu, Almaty" or "Talgar"; None if unknown."""
        key = reverse_cache_key(point)
        cached = self._cache.get(key) if self._cache is not None else None
        if cached is not None:
            return cached.get("name") if cached.get("found") else None
        location = self._call(self._nominatim.reverse, (point.lat, point.lon), exactly_one=True, addressdetails=True)
        name = short_place_name(location.raw) if location is not None else None
        self._store(key, {"found": True, "name": name} if name else {"found": False})
        return name

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # Any: geopy is untyped; its answers are a Location or None.
        try:
            return self._limited(method, *args, **kwargs)
        except GeopyError as exc:
            raise GeocodingUnavailable(f"geocoding service unavailable: {exc}") from exc

    def _store(self, key: str, value: CacheEntry) -> None:
        if self._cache is not None:
            self._cache.set(key, value)


def short_place_name(raw: Mapping[str, Any]) -> str | None:
    """Settlement name from a Nominatim answer, with the district for cities and towns."""
    address = raw.get("address") or {}
    settlement_key = next((k for k in _SETTLEMENT_KEYS if address.get(k)), None)
    if settlement_key is not None:
        settlement = str(address[settlement_key])
        if settlement_key in ("city", "town"):
            district = next((address[k] for k in _DISTRICT_KEYS if address.get(k)), None)
            if district and district != settlement:
                return f"{district}, {settlement}"
        return settlement
    region = next((address[k] for k in _REGION_KEYS if address.get(k)), None)
    if region:
        return str(region)
    first = (raw.get("display_name") or "").split(",")[0].strip()
    return first or None
