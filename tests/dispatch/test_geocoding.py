"""Incidents by address through geopy against a loopback Nominatim; works fully without one."""

from __future__ import annotations

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import GeocodeCacheEntry, Incident

from .factories import volunteer

NEEDS = [{"skill": None, "count": 1}]


def post(client, auth, **body):
    return client.post(
        "/api/v1/incidents",
        json={"kind": "fire", "title": "Grass fire", "needs": NEEDS, **body},
        headers=auth("coordinator"),
    )


def test_an_address_is_geocoded_cached_and_named_for_sms(client, auth, nominatim, run_outbox):
    nominatim.add_place("Talgar, Almaty Region", 43.3035, 77.2403, "Talgar, Talgar District, Almaty Region, Kazakhstan")
    nominatim.set_reverse({"town": "Talgar", "state": "Almaty Region", "country": "Kazakhstan"}, "Talgar, Kazakhstan")
    volunteer(2, origin=(43.3035, 77.2403))
    response = post(client, auth, address="Talgar, Almaty Region")
    assert response.status_code == 201, response.get_json()
    incident = response.get_json()
    assert (incident["lat"], incident["lon"]) == (43.3035, 77.2403)
    assert incident["place"] == "Talgar" and incident["address"] == "Talgar, Almaty Region"
    assert "Talgar" in run_outbox()[0].body
    asked = len(nominatim.requests)
    assert post(client, auth, address="talgar,  almaty region").status_code == 201
    assert len(nominatim.requests) == asked  # both answers came from the database cache
    assert db.session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) == 2


def test_an_unknown_address_is_a_clear_400(client, auth, nominatim):
    response = post(client, auth, address="Nowhere street 999")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "ADDRESS_NOT_FOUND"
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_geocoder_outage_is_503_for_addresses_and_harmless_for_coordinates(client, auth, nominatim):
    nominatim.fail_status = 500
    response = post(client, auth, address="Talgar")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "GEOCODER_UNAVAILABLE"
    response = post(client, auth, lat=43.3, lon=77.24)
    assert response.status_code == 201 and response.get_json()["place"] is None


def test_a_volunteer_may_be_registered_and_moved_by_address(client, auth, nominatim):
    nominatim.add_place("Abay avenue 10, Almaty", 43.2389, 76.9455, "Abay Avenue 10, Almaty, Kazakhstan")
    nominatim.add_place("Kabanbay Batyr 53, Astana", 51.0906, 71.4187, "Kabanbay Batyr Avenue 53, Astana")
    response = client.post(
        "/api/v1/volunteers",
        headers=auth("coordinator"),
        json={
            "name": "Dana",
            "phone": "+77012223344",
            "address": "Abay avenue 10, Almaty",
            "skills": ["first_aid"],
            "language": "ru",
        },
    )
    assert response.status_code == 201, response.get_json()
    volunteer = response.get_json()
    assert (volunteer["lat"], volunteer["lon"]) == (43.2389, 76.9455)
    moved = client.patch(
        f"/api/v1/volunteers/{volunteer['id']}",
        json={"address": "Kabanbay Batyr 53, Astana"},
        headers=auth("coordinator"),
    ).get_json()
    assert (moved["lat"], moved["lon"]) == (51.0906, 71.4187)
    response = client.patch(
        f"/api/v1/volunteers/{volunteer['id']}", json={"address": "Atlantis"}, headers=auth("coordinator")
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "ADDRESS_NOT_FOUND"
