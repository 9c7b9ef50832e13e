"""Regions: the ISO 3166-2 list and the region of a point."""

import pycountry
import pytest

from geo.points import Point
from geo.regions import REGIONS, is_region, region_of


def test_codes_are_the_iso_list():
    iso = {s.code for s in pycountry.subdivisions.get(country_code="KZ")}
    assert set(REGIONS) == iso
    assert len(REGIONS) == 20
    # The three regions of 2022.
    assert {"KZ-10", "KZ-33", "KZ-62"} <= iso


def test_every_region_is_named_in_three_languages():
    for code, names in REGIONS.items():
        assert names.kk and names.ru and names.en, code
        assert names.as_dict() == {"kk": names.kk, "ru": names.ru, "en": names.en}
    assert REGIONS["KZ-75"].get("en") == "Almaty"
    assert REGIONS["KZ-35"].get("kk") == "Қарағанды облысы"
    assert REGIONS["KZ-35"].get("ru") == "Карагандинская область"


def test_is_region():
    assert is_region("KZ-75")
    assert not is_region("KZ-ALA")
    assert not is_region("kz-75")
    assert not is_region(75)


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        (51.1801, 71.44598, "KZ-71"),  # Astana
        (43.25249, 76.9115, "KZ-75"),  # Almaty
        (42.30988, 69.60042, "KZ-79"),  # Shymkent
        (50.42064, 80.25025, "KZ-10"),  # Semey: Abai since 2022
        (47.9686, 80.4381, "KZ-10"),  # Ayagoz
        (45.01556, 78.37389, "KZ-33"),  # Taldykorgan: Zhetysu since 2022
        (44.1667, 80.0, "KZ-33"),  # Zharkent
        (47.79411, 67.70628, "KZ-62"),  # Zhezkazgan: Ulytau since 2022
        (47.90409, 67.54112, "KZ-62"),  # Satpayev
        (49.80187, 73.10211, "KZ-35"),  # Karaganda
        (49.97143, 82.60586, "KZ-63"),  # Ust-Kamenogorsk stays East Kazakhstan
        (43.86681, 77.06304, "KZ-19"),  # Konayev stays Almaty Region
        (43.29458, 68.25685, "KZ-61"),  # Turkistan
        (43.66105, 51.17392, "KZ-47"),  # Aktau, on the Caspian coast
        (51.24601, 51.42558, "KZ-27"),  # Oral
        (54.87343, 69.15065, "KZ-59"),  # Petropavl
    ],
)
def test_region_of_towns(lat, lon, code):
    assert region_of(Point(lat, lon)) == code


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (42.8746, 74.5698),  # Bishkek, 20 km from the border
        (41.2995, 69.2401),  # Tashkent
        (54.9885, 73.3242),  # Omsk
        (43.8256, 87.6168),  # Urumqi
        (51.7727, 55.0988),  # Orenburg
        (42.0, 50.5),  # the middle of the Caspian
        (0.0, 0.0),
        (-51.0, -71.0),
    ],
)
def test_outside_kazakhstan_is_none(lat, lon):
    assert region_of(Point(lat, lon)) is None


def test_every_settlement_of_the_gazetteer_is_in_its_own_region():
    from geo import places

    for place in places.all_places():
        assert region_of(place.point) == place.region, place


def test_regions_of_many_points_answers_as_region_of_each():
    import random

    from geo.regions import regions_of

    rng = random.Random(7)
    points = [Point(rng.uniform(39.0, 57.0), rng.uniform(45.0, 89.0)) for _ in range(3000)]
    # And points on and just off the borders, where the two paths differ in method.
    points += [Point(43.25249 + d, 76.9115 + d) for d in (0.0, 0.2, 0.25, 0.3)]
    points += [Point(42.3, 69.6 + 0.01 * i) for i in range(40)]
    # The three cities are small: random points rarely fall in them.
    points += [Point(51.1801, 71.44598), Point(43.25249, 76.9115), Point(42.30988, 69.60042)]
    answers = regions_of(points)
    assert answers == [region_of(p) for p in points]
    assert {a for a in answers if a} == set(REGIONS)
    assert None in answers
    assert regions_of([]) == []
