"""POST /api/v1/candidates: the preview, its validation, and its explanation of who is left out."""

from __future__ import annotations

from .factories import ASTANA, square_around, volunteer


def post(client, auth, **body):
    return client.post("/api/v1/candidates", json=body, headers=auth("coordinator"))


def test_preview_lists_eligible_volunteers_nearest_first(client, auth):
    far = volunteer(6, skills=("water_rescue",))
    near = volunteer(2, 90, skills=("water_rescue", "first_aid"))
    volunteer(1, skills=("medical",))
    volunteer(3, skills=("water_rescue",), available=False)
    response = post(client, auth, lat=ASTANA[0], lon=ASTANA[1], radius_km=10, skill="water_rescue")
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 2
    assert [c["volunteer_id"] for c in body["candidates"]] == [near.id, far.id]
    first = body["candidates"][0]
    assert first["distance_km"] == 2.0 and first["skills"] == ["first_aid", "water_rescue"]
    assert first["available"] is True and "km away" in first["reason"]


def test_explain_counts_who_was_left_out_by_rule(client, auth):
    volunteer(2, skills=("water_rescue",))
    volunteer(1, skills=("medical",))
    volunteer(3, skills=("water_rescue",), available=False)
    volunteer(4, skills=("water_rescue",), status="opted_out")
    body = post(client, auth, lat=ASTANA[0], lon=ASTANA[1], radius_km=10, skill="water_rescue", explain=True).get_json()
    assert body["count"] == 1
    assert body["excluded"] == {"lacks_skill": 1, "unavailable": 1, "opted_out": 1}


def test_limit_and_area(client, auth):
    for km in (1, 2, 3, 5.5, 7):
        volunteer(km)
    body = post(client, auth, lat=ASTANA[0], lon=ASTANA[1], radius_km=10, limit=2).get_json()
    assert body["count"] == 2
    # A 10 km square: 1, 2 and 3 km are inside it (left out), 5.5 km is 0.5 km beyond its edge.
    body = post(
        client, auth, lat=ASTANA[0], lon=ASTANA[1], radius_km=1, area=square_around(ASTANA, 5), exclude_inside_area=True
    ).get_json()
    assert [c["distance_km"] for c in body["candidates"]] == [0.5]


def test_bad_previews_are_400(client, auth):
    bowtie = {"type": "Polygon", "coordinates": [[[71, 51], [72, 52], [72, 51], [71, 52], [71, 51]]]}
    open_ring = {"type": "Polygon", "coordinates": [[[71, 51], [72, 51], [72, 52], [71, 52]]]}
    cases = [
        ({"lat": 95, "lon": 71, "radius_km": 10}, "lat"),
        ({"lat": 51, "lon": 71}, "radius_km"),
        ({"lat": 51, "lon": 71, "radius_km": 0}, "radius_km"),
        ({"lat": 51, "lon": 71, "radius_km": 10, "skill": "juggling"}, "skill"),
        ({"lat": 51, "lon": 71, "radius_km": 10, "limit": 0}, "limit"),
        ({"lat": 51, "lon": 71, "radius_km": 10, "area": bowtie}, "area"),
        ({"lat": 51, "lon": 71, "radius_km": 10, "area": open_ring}, "area"),
        ({"lat": 51, "lon": 71, "radius_km": 10, "area": {"type": "Point", "coordinates": [71, 51]}}, "area"),
        ({"lat": 51, "lon": 71, "radius_km": 10, "severity": "apocalyptic"}, "severity"),
    ]
    for body, field in cases:
        response = post(client, auth, **body)
        assert response.status_code == 400, body
        assert field in response.get_json()["error"]["details"]["fields"], response.get_json()


def test_the_preview_shows_the_alert_sms_and_its_segments_in_each_language(client, auth):
    volunteer(3, skills=("water_rescue",))
    body = post(
        client,
        auth,
        lat=ASTANA[0],
        lon=ASTANA[1],
        radius_km=10,
        skill="water_rescue",
        kind="flood",
        title="Flood on the Ishim embankment",
        drill=True,
    ).get_json()
    preview = {p["language"]: p for p in body["sms_preview"]}
    assert set(preview) == {"kk", "ru", "en"}
    assert preview["en"]["encoding"] == "GSM-7" and preview["ru"]["encoding"] == "UCS-2"
    assert all(1 <= p["segments"] <= 2 for p in preview.values())
    assert preview["en"]["text"].startswith("DRILL") and "3 km" in preview["en"]["text"]
    assert "Спасение на воде" in preview["ru"]["text"]
    assert "sms_preview" not in post(client, auth, lat=ASTANA[0], lon=ASTANA[1], radius_km=10).get_json()
