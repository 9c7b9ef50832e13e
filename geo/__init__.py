"""Pure geographic helpers for dispatch: points, distances, radius queries, alert areas
(GeoJSON, CAP 1.2) and optional geocoding. No web framework or database imports.
"""

from geo.areas import (
    MAX_AREA_RINGS,
    MAX_AREA_VERTICES,
    Area,
    cap_area,
    parse_cap_circle,
    parse_cap_polygon,
    parse_geojson_area,
)
from geo.distance import (
    BoundingBox,
    bounding_box,
    fast_distance_km,
    fast_distances_km,
    fast_error_km,
    geodesic_km,
    nearest_within,
    within_radius,
)
from geo.errors import GeoError
from geo.geocoding import GeocodeCache, Geocoder, GeocodeResult, GeocodingUnavailable, MemoryGeocodeCache
from geo.points import Point, parse_lat_lon

__all__ = [
    "MAX_AREA_RINGS",
    "MAX_AREA_VERTICES",
    "Area",
    "BoundingBox",
    "GeoError",
    "GeocodeCache",
    "GeocodeResult",
    "Geocoder",
    "GeocodingUnavailable",
    "MemoryGeocodeCache",
    "Point",
    "bounding_box",
    "cap_area",
    "fast_distance_km",
    "fast_distances_km",
    "fast_error_km",
    "geodesic_km",
    "nearest_within",
    "parse_cap_circle",
    "parse_cap_polygon",
    "parse_geojson_area",
    "parse_lat_lon",
    "within_radius",
]
