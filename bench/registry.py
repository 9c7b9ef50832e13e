"""A realistic national registry with a fixed seed: 60% clustered around the 16 largest
Kazakh cities (by population), 40% spread over the country; random skill mixes."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

# (name, lat, lon, population in thousands)
CITIES = [
    ("Almaty", 43.2220, 76.8512, 2200),
    ("Astana", 51.1694, 71.4491, 1400),
    ("Shymkent", 42.3417, 69.5901, 1200),
    ("Aktobe", 50.2839, 57.1670, 580),
    ("Karaganda", 49.8047, 73.1094, 500),
    ("Taraz", 42.9000, 71.3667, 430),
    ("Ust-Kamenogorsk", 49.9483, 82.6279, 330),
    ("Pavlodar", 52.2873, 76.9674, 330),
    ("Atyrau", 47.1164, 51.8833, 300),
    ("Semey", 50.4111, 80.2275, 320),
    ("Kyzylorda", 44.8488, 65.4823, 250),
    ("Aktau", 43.6500, 51.1600, 270),
    ("Kostanay", 53.2198, 63.6354, 250),
    ("Uralsk", 51.2333, 51.3667, 240),
    ("Turkestan", 43.2973, 68.2517, 200),
    ("Petropavl", 54.8667, 69.1500, 220),
]
# Kazakhstan's rough extent, for the spread-out 40%.
COUNTRY = (40.6, 55.4, 46.5, 87.3)
# Member organisations of the movement; a volunteer's is named "Org N".
ORGANIZATIONS = 680
SKILL_CODES = [
    "first_aid",
    "medical",
    "firefighting",
    "water_rescue",
    "search_rescue",
    "mountain_rescue",
    "diver",
    "boat_operator",
    "driver_4x4",
    "heavy_vehicle",
    "drone_pilot",
    "k9_handler",
    "radio_operator",
    "psychological_support",
    "logistics",
    "animal_rescue",
    "translator",
]
SKILL_WEIGHTS = [40, 8, 8, 7, 15, 3, 2, 4, 20, 3, 4, 1, 6, 6, 18, 4, 5]
MOBILE_PREFIXES = ["700", "701", "702", "705", "707", "747", "771", "775", "776", "777", "778"]


def volunteers(count: int, seed: int = 20240401) -> Iterator[dict]:
    rng = random.Random(seed)
    weights = [c[3] for c in CITIES]
    for i in range(count):
        if rng.random() < 0.6:
            _, lat, lon, _ = rng.choices(CITIES, weights=weights)[0]
            north_km, east_km = rng.gauss(0, 9), rng.gauss(0, 9)
            lat += north_km / 111.32
            lon += east_km / (111.32 * math.cos(math.radians(lat)))
        else:
            lat, lon = rng.uniform(COUNTRY[0], COUNTRY[1]), rng.uniform(COUNTRY[2], COUNTRY[3])
        skills = sorted(set(rng.choices(SKILL_CODES, weights=SKILL_WEIGHTS, k=rng.choice((1, 1, 2, 2, 3)))))
        prefix = MOBILE_PREFIXES[i % len(MOBILE_PREFIXES)]
        yield {
            "name": f"Volunteer {i}",
            "phone": f"+7{prefix}{1000000 + i // len(MOBILE_PREFIXES):07d}",
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "skills": skills,
            "language": rng.choices(("kk", "ru", "en"), weights=(45, 50, 5))[0],
            "max_distance_km": rng.choice((10, 25, 50, 50, 100)),
            "organization": f"Org {rng.randrange(ORGANIZATIONS)}",
        }
