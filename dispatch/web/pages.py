"""What every map page shares: the tile settings and a reference layer of cities, so a map is
readable (and a point can be placed) even with no tile server configured or reachable."""
from __future__ import annotations

from flask import current_app

# (name, lat, lon): regional centres of Kazakhstan, drawn when no tiles are shown.
CITIES = (
    ("Astana", 51.1694, 71.4491), ("Almaty", 43.2220, 76.8512), ("Shymkent", 42.3417, 69.5901),
    ("Karaganda", 49.8047, 73.1094), ("Aktobe", 50.2839, 57.1670), ("Taraz", 42.9000, 71.3667),
    ("Pavlodar", 52.2873, 76.9674), ("Oskemen", 49.9483, 82.6279), ("Semey", 50.4111, 80.2275),
    ("Atyrau", 47.1164, 51.8830), ("Kostanay", 53.2144, 63.6246), ("Kyzylorda", 44.8488, 65.4823),
    ("Oral", 51.2333, 51.3667), ("Petropavl", 54.8667, 69.1500), ("Aktau", 43.6500, 51.1667),
    ("Turkistan", 43.2973, 68.2518), ("Kokshetau", 53.2833, 69.3833), ("Taldykorgan", 45.0156, 78.3739),
    ("Zhezkazgan", 47.7833, 67.7000),
)
# Kazakhstan, for a map with nothing on it yet.
DEFAULT_BOUNDS = ((40.5, 46.5), (55.5, 87.5))


def map_settings(bounds=None) -> dict:
    return {
        "tileUrl": current_app.config["MAP_TILE_URL"],
        "attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
        "cities": [{"name": n, "lat": lat, "lon": lon} for n, lat, lon in CITIES],
        "bounds": bounds or DEFAULT_BOUNDS,
    }
