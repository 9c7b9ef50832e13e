"""An offline gazetteer of Kazakhstan's settlements: find a place by name, or the one nearest a point.

The data (geo/data/kz_places.csv.gz, GeoNames, CC BY 4.0) is made by tools/build_geo_data.py
and read once, on first use. Names match without regard to case, accents, hyphens or the
Kazakh letters (Қарағанды ~ Караганды), by prefix, and across scripts through a loose
transliteration (караг ~ Karaganda).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from geo.distance import fast_distance_km
from geo.points import Point

DATA_FILE = Path(__file__).with_name("data") / "kz_places.csv.gz"
LANGUAGES = ("en", "ru", "kk")

# Kazakh letters and ё folded to the Russian letter a reader would type on a Russian keyboard.
_CYRILLIC_FOLD = str.maketrans("әғқңөұүһіё", "агкноуухие")
_CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
# Latin spellings of one Kazakh or Russian sound differ (Qaraghandy, Karagandy, Karaganda):
# the loose key keeps one letter for each.
_LOOSE = (("shch", "sh"), ("kh", "h"), ("gh", "g"), ("zh", "j"), ("q", "k"), ("y", "i"), ("w", "v"), ("x", "h"))
_NOT_ALNUM = re.compile(r"[^0-9a-zа-я]+")


def fold(text: str) -> str:
    """Lower case, accents and Kazakh letters folded, everything but letters and digits dropped."""
    text = text.lower().translate(_CYRILLIC_FOLD).replace("ı", "i")
    # NFKD splits a Latin letter from its accent (ö -> o + ¨); й would split too, so keep it whole.
    decomposed = unicodedata.normalize("NFKD", text.replace("й", "\0"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("\0", "й")
    return _NOT_ALNUM.sub("", plain)


def to_latin(text: str) -> str:
    """A plain Latin spelling of a (folded) Cyrillic name; Latin letters pass through."""
    return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in fold(text))


def loose(text: str) -> str:
    """The key under which Latin and Cyrillic spellings of one name usually meet."""
    key = to_latin(text)
    for spelling, sound in _LOOSE:
        key = key.replace(spelling, sound)
    return key


@dataclass(frozen=True, slots=True)
class Place:
    """A settlement: GeoNames id, names (en is the GeoNames Latin name), point, people, region."""

    id: int
    name_en: str
    name_ru: str
    name_kk: str
    lat: float
    lon: float
    population: int
    region: str
    other_names: tuple[str, ...]

    def name(self, lang: str) -> str:
        return {"ru": self.name_ru, "kk": self.name_kk}.get(lang, self.name_en) or self.name_en

    @property
    def names(self) -> dict[str, str]:
        return {"kk": self.name_kk, "ru": self.name_ru, "en": self.name_en}

    @property
    def point(self) -> Point:
        return Point(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class _Entry:
    place: Place
    main_keys: tuple[str, ...]  # folded en/ru/kk names
    other_keys: tuple[str, ...]  # folded other names
    word_keys: tuple[str, ...]  # folded words after the first (Ust-Kamenogorsk -> kamenogorsk)
    loose_keys: tuple[str, ...]  # every name, loosely transliterated to Latin


def _entry(place: Place) -> _Entry:
    main = (place.name_en, place.name_ru, place.name_kk)
    every = (*main, *place.other_names)
    words = {fold(word) for name in every for word in re.split(r"[\s\-‐’'ʼ`()]+", name)[1:]}
    return _Entry(
        place=place,
        main_keys=tuple(dict.fromkeys(fold(n) for n in main if n)),
        other_keys=tuple(dict.fromkeys(fold(n) for n in place.other_names)),
        word_keys=tuple(w for w in words if w),
        loose_keys=tuple(dict.fromkeys(loose(n) for n in every if n)),
    )


def read_places(data: bytes) -> list[Place]:
    """Parse the gzipped CSV that tools/build_geo_data.py writes."""
    reader = csv.DictReader(io.StringIO(gzip.decompress(data).decode("utf-8")))
    return [
        Place(
            id=int(row["id"]),
            name_en=row["name"],
            name_ru=row["name_ru"],
            name_kk=row["name_kk"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            population=int(row["population"]),
            region=row["region"],
            other_names=tuple(n for n in row["alt"].split("|") if n),
        )
        for row in reader
    ]


@cache
def _entries() -> tuple[_Entry, ...]:
    return tuple(_entry(place) for place in read_places(DATA_FILE.read_bytes()))


def all_places() -> Sequence[Place]:
    return [entry.place for entry in _entries()]


def _rank(entry: _Entry, key: str, loose_key: str) -> int | None:
    """How well a place matches (lower is better), or None when it does not."""
    if key in entry.main_keys:
        return 0
    if key in entry.other_keys:
        return 1
    if any(k.startswith(key) for k in entry.main_keys):
        return 2
    if any(k.startswith(key) for k in entry.other_keys):
        return 3
    if any(k.startswith(key) for k in entry.word_keys):
        return 4
    if loose_key and any(k.startswith(loose_key) for k in entry.loose_keys):
        return 5
    if len(key) >= 3 and any(key in k for k in (*entry.main_keys, *entry.other_keys)):
        return 6
    return None


def search(query: str, limit: int = 10) -> list[Place]:
    """Places whose names match `query`, best match first, then the most populous."""
    key = fold(query)
    if not key or limit <= 0:
        return []
    loose_key = loose(query)
    ranked = []
    for entry in _entries():
        rank = _rank(entry, key, loose_key)
        if rank is not None:
            ranked.append((rank, -entry.place.population, entry.place.name_en, entry.place))
    ranked.sort(key=lambda item: item[:3])
    return [item[3] for item in ranked[:limit]]


def nearest(point: Point) -> tuple[Place, float]:
    """The settlement nearest `point` and its distance in km."""
    best = min(_entries(), key=lambda e: fast_distance_km(point.lat, point.lon, e.place.lat, e.place.lon))
    return best.place, fast_distance_km(point.lat, point.lon, best.place.lat, best.place.lon)
