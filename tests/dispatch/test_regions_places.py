"""Regions of volunteers and incidents (derived, given, corrected, filtered), the regions and
places endpoints, and the migration that gives existing rows their region."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from config import TestConfig
from dispatch import create_app
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Volunteer

from .factories import report

SEMEY = (50.42064, 80.25025)  # Abai since 2022
TALDYKORGAN = (45.01556, 78.37389)  # Zhetysu since 2022
ZHEZKAZGAN = (47.79411, 67.70628)  # Ulytau since 2022
ASTANA = (51.1694, 71.4491)
ALMATY = (43.2220, 76.8512)
BISHKEK = (42.8746, 74.5698)


def volunteer_body(point=ASTANA, **overrides) -> dict:
    data = {
        "name": "Айгерим Ахметова",
        "phone": "+77012345678",
        "lat": point[0],
        "lon": point[1],
        "skills": ["first_aid"],
        "language": "kk",
    }
    data.update(overrides)
    return data


def create_volunteer(client, auth, point=ASTANA, **overrides):
    return client.post("/api/v1/volunteers", json=volunteer_body(point, **overrides), headers=auth("coordinator"))


# -- GET /api/v1/regions ---------------------------------------------------------------------------


def test_regions_lists_the_twenty_with_names_in_three_languages(client, auth):
    response = client.get("/api/v1/regions", headers=auth("viewer"))
    assert response.status_code == 200
    regions = response.get_json()
    assert isinstance(regions, list) and len(regions) == 20
    by_code = {r["code"]: r["names"] for r in regions}
    assert by_code["KZ-75"] == {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"}
    assert by_code["KZ-10"]["en"] == "Abai Region" and by_code["KZ-10"]["kk"] == "Абай облысы"
    assert {"KZ-33", "KZ-62", "KZ-71", "KZ-79"} <= set(by_code)


# -- GET /api/v1/places ----------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["Қарағанды", "караг", "Karaganda", "KARAGANDY", "Караганда"])
def test_places_finds_karaganda_in_any_spelling(client, auth, query):
    response = client.get("/api/v1/places", query_string={"q": query, "lang": "ru"}, headers=auth("viewer"))
    assert response.status_code == 200
    first = response.get_json()["items"][0]
    assert first["name"] == "Караганда"
    assert first["names"] == {"kk": "Қарағанды", "ru": "Караганда", "en": "Karagandy"}
    assert first["region"] == "KZ-35"
    assert first["lat"] == pytest.approx(49.80, abs=0.01) and first["lon"] == pytest.approx(73.10, abs=0.01)
    assert first["population"] > 400_000


def test_places_answers_in_the_callers_language_english_by_default(client, auth):
    def first(**params):
        response = client.get("/api/v1/places", query_string={"q": "Oskemen", **params}, headers=auth("viewer"))
        return response.get_json()["items"][0]["name"]

    assert first() == "Ust-Kamenogorsk"
    assert first(lang="kk") == "Өскемен"
    assert first(lang="ru") == "Усть-Каменогорск"


def test_places_limit_and_empty(client, auth):
    response = client.get("/api/v1/places", query_string={"q": "а", "limit": 3}, headers=auth("viewer"))
    assert [p["names"]["en"] for p in response.get_json()["items"]] == ["Almaty", "Astana", "Aktobe"]
    for query in ("", "zzzzzz", "<img src=x>", "a" * 5000):
        response = client.get("/api/v1/places", query_string={"q": query}, headers=auth("viewer"))
        assert response.status_code == 200 and response.get_json()["items"] == [], query


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "51"}, {"limit": "x"}, {"lang": "de"}])
def test_places_bad_query_is_400(client, auth, params):
    response = client.get("/api/v1/places", query_string={"q": "Astana", **params}, headers=auth("viewer"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


# -- volunteers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "code"),
    [
        (ASTANA, "KZ-71"),
        (ALMATY, "KZ-75"),
        (SEMEY, "KZ-10"),
        (TALDYKORGAN, "KZ-33"),
        (ZHEZKAZGAN, "KZ-62"),
        (BISHKEK, None),
    ],
)
def test_a_volunteers_region_is_derived_from_the_point(client, auth, point, code):
    response = create_volunteer(client, auth, point)
    assert response.status_code == 201
    assert response.get_json()["region"] == code
    assert db.session.get(Volunteer, response.get_json()["id"]).region == code


def test_a_given_region_wins_and_is_checked(client, auth):
    response = create_volunteer(client, auth, ASTANA, region="KZ-11")
    assert response.status_code == 201 and response.get_json()["region"] == "KZ-11"
    for bad in ("KZ-99", "kz-75", "Astana", 75, ""):
        response = create_volunteer(client, auth, ASTANA, phone="+77012345679", region=bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert db.session.query(Volunteer).count() == 1


def test_patch_corrects_the_region_and_a_move_derives_it_again(client, auth):
    volunteer = create_volunteer(client, auth, ASTANA).get_json()
    url = f"/api/v1/volunteers/{volunteer['id']}"

    def patch(**fields):
        response = client.patch(url, json=fields, headers=auth("coordinator"))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    assert patch(region="KZ-11")["region"] == "KZ-11"  # corrected by hand
    assert patch(name="Айгерим А.")["region"] == "KZ-11"  # untouched by other changes
    assert patch(lat=SEMEY[0], lon=SEMEY[1])["region"] == "KZ-10"  # moved: derived again
    assert patch(lat=ALMATY[0], lon=ALMATY[1], region="KZ-19")["region"] == "KZ-19"  # moved and named
    assert patch(region=None)["region"] == "KZ-75"  # null: derived from the point again
    response = client.patch(url, json={"region": "KZ-00"}, headers=auth("coordinator"))
    assert response.status_code == 400
    assert db.session.get(Volunteer, volunteer["id"]).region == "KZ-75"


def test_erasing_a_volunteer_forgets_the_region(client, auth):
    volunteer = create_volunteer(client, auth, ASTANA).get_json()
    assert client.delete(f"/api/v1/volunteers/{volunteer['id']}", headers=auth("coordinator")).status_code == 204
    assert db.session.get(Volunteer, volunteer["id"]).region is None


def test_volunteers_filter_by_region(client, auth):
    create_volunteer(client, auth, ASTANA, phone="+77010000001")
    create_volunteer(client, auth, SEMEY, phone="+77010000002")
    create_volunteer(client, auth, SEMEY, phone="+77010000003")

    def phones(region):
        response = client.get("/api/v1/volunteers", query_string={"region": region}, headers=auth("coordinator"))
        assert response.status_code == 200
        return sorted(v["phone"] for v in response.get_json()["items"]), response.get_json()["total"]

    assert phones("KZ-10") == (["+77010000002", "+77010000003"], 2)
    assert phones("KZ-71") == (["+77010000001"], 1)
    assert phones("KZ-75") == ([], 0)
    response = client.get("/api/v1/volunteers", query_string={"region": "Abai"}, headers=auth("viewer"))
    assert response.status_code == 400


def test_the_csv_import_derives_regions(client, auth):
    csv = (
        "name,phone,lat,lon,skills,language\n"
        f"Арман,+77010000011,{SEMEY[0]},{SEMEY[1]},first_aid,kk\n"
        f"Дина,+77010000012,{TALDYKORGAN[0]},{TALDYKORGAN[1]},first_aid,ru\n"
        f"Bakyt,+77010000013,{BISHKEK[0]},{BISHKEK[1]},first_aid,en\n"
    )
    response = client.post("/api/v1/volunteers/import", data=csv, content_type="text/csv", headers=auth("coordinator"))
    assert response.status_code == 200 and response.get_json()["created"] == 3
    regions = dict(db.session.query(Volunteer.phone, Volunteer.region).all())
    assert regions == {"+77010000011": "KZ-10", "+77010000012": "KZ-33", "+77010000013": None}


# -- incidents -------------------------------------------------------------------------------------


def test_an_incidents_region_is_derived_or_given_and_filters_the_list(client, auth):
    astana = report(client, auth, [{"skill": None, "count": 1}])
    zhezkazgan = report(client, auth, [{"skill": None, "count": 1}], lat=ZHEZKAZGAN[0], lon=ZHEZKAZGAN[1])
    corrected = report(client, auth, [{"skill": None, "count": 1}], region="KZ-11")
    assert astana["region"] == "KZ-71"
    assert zhezkazgan["region"] == "KZ-62"
    assert corrected["region"] == "KZ-11"
    assert client.get(f"/api/v1/incidents/{zhezkazgan['id']}", headers=auth("viewer")).get_json()["region"] == "KZ-62"

    def listed(region):
        response = client.get("/api/v1/incidents", query_string={"region": region}, headers=auth("viewer"))
        assert response.status_code == 200
        return [i["id"] for i in response.get_json()["items"]]

    assert listed("KZ-62") == [zhezkazgan["id"]]
    assert listed("KZ-71") == [astana["id"]]
    assert listed("KZ-11") == [corrected["id"]]
    assert client.get("/api/v1/incidents?region=KZ-1", headers=auth("viewer")).status_code == 400


def test_an_incident_with_an_unknown_region_is_refused(client, auth):
    body = {"kind": "flood", "title": "x", "lat": ASTANA[0], "lon": ASTANA[1], "needs": [{"skill": None, "count": 1}]}
    response = client.post("/api/v1/incidents", json={**body, "region": "KZ-ABC"}, headers=auth("coordinator"))
    assert response.status_code == 400
    assert client.get("/api/v1/incidents", headers=auth("viewer")).get_json()["items"] == []


# -- the migration's data step ---------------------------------------------------------------------


def test_the_migration_derives_the_region_of_existing_rows(scratch_database_url):
    scratch = create_app(TestConfig.for_database(scratch_database_url))
    with scratch.app_context():
        upgrade(revision="0009")
        now = utcnow()
        people = [
            ("+77010000021", SEMEY),
            ("+77010000022", ZHEZKAZGAN),
            ("+77010000023", BISHKEK),
            ("+77010000024", None),
        ]
        for phone, point in people:
            db.session.execute(
                text(
                    "INSERT INTO volunteers (name, phone, lat, lon, skill_mask, language, max_distance_km, available, "
                    "status, created_at, updated_at) VALUES ('V', :phone, :lat, :lon, 0, 'ru', 50, true, 'active', :now, :now)"
                ),
                {"phone": phone, "lat": point and point[0], "lon": point and point[1], "now": now},
            )
        for code, point in (("101", TALDYKORGAN), ("102", ALMATY)):
            db.session.execute(
                text(
                    "INSERT INTO incidents (code, kind, title, lat, lon, radius_km, max_radius_km, current_radius_km, "
                    "severity, exclude_inside_area, drill, status, created_at, updated_at) VALUES "
                    "(:code, 'flood', 'T', :lat, :lon, 10, 50, 10, 'severe', false, false, 'closed', :now, :now)"
                ),
                {"code": code, "lat": point[0], "lon": point[1], "now": now},
            )
        db.session.commit()
        upgrade(revision="0010")
        volunteers = dict(db.session.execute(text("SELECT phone, region FROM volunteers")).all())
        assert volunteers == {
            "+77010000021": "KZ-10",
            "+77010000022": "KZ-62",
            "+77010000023": None,
            "+77010000024": None,
        }
        incidents = dict(db.session.execute(text("SELECT code, region FROM incidents")).all())
        assert incidents == {"101": "KZ-33", "102": "KZ-75"}
        db.session.remove()
        db.engine.dispose()
