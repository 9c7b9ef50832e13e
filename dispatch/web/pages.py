"""What every map page shares: the tile settings and a reference layer of cities, so a map is
readable (and a point can be placed) even with no tile server configured or reachable."""

from __future__ import annotations

from babel.numbers import get_decimal_symbol
from flask import current_app
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

# (name, lat, lon): regional centres of Kazakhstan, drawn when no tiles are shown, named in
# the page's language (Oskemen is Усть-Каменогорск in Russian, Oral Уральск...).
CITIES = (
    (_l("Astana"), 51.1694, 71.4491),
    (_l("Almaty"), 43.2220, 76.8512),
    (_l("Shymkent"), 42.3417, 69.5901),
    (_l("Karaganda"), 49.8047, 73.1094),
    (_l("Aktobe"), 50.2839, 57.1670),
    (_l("Taraz"), 42.9000, 71.3667),
    (_l("Pavlodar"), 52.2873, 76.9674),
    (_l("Oskemen"), 49.9483, 82.6279),
    (_l("Semey"), 50.4111, 80.2275),
    (_l("Atyrau"), 47.1164, 51.8830),
    (_l("Kostanay"), 53.2144, 63.6246),
    (_l("Kyzylorda"), 44.8488, 65.4823),
    (_l("Oral"), 51.2333, 51.3667),
    (_l("Petropavl"), 54.8667, 69.1500),
    (_l("Aktau"), 43.6500, 51.1667),
    (_l("Turkistan"), 43.2973, 68.2518),
    (_l("Kokshetau"), 53.2833, 69.3833),
    (_l("Taldykorgan"), 45.0156, 78.3739),
    (_l("Zhezkazgan"), 47.7833, 67.7000),
)
# Kazakhstan, for a map with nothing on it yet.
DEFAULT_BOUNDS = ((40.5, 46.5), (55.5, 87.5))


def map_settings(bounds=None) -> dict:
    return {
        "tileUrl": current_app.config["MAP_TILE_URL"],
        "attribution": current_app.config["MAP_TILE_ATTRIBUTION"],
        "cities": [{"name": str(n), "lat": lat, "lon": lon} for n, lat, lon in CITIES],
        # How the page writes numbers (Intl.NumberFormat where the browser knows the language).
        "language": str(get_locale() or "en"),
        "decimal": get_decimal_symbol(get_locale() or "en"),
        "coordinates": gettext("%(lat)s, %(lon)s", lat="{lat}", lon="{lon}"),
        "bounds": bounds or DEFAULT_BOUNDS,
    }
