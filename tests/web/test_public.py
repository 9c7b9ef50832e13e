"""The public status board: what it shows, its conditional polling, and that no volunteer's
name or number ever reaches it."""

from __future__ import annotations

import json

from config import TestConfig
from dispatch import create_app, jobs
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from notifications.phones import local_forms
from tests.dispatch.factories import ASTANA, volunteer


def report(client, auth, **fields) -> dict:
    body = {
        "kind": "flood",
        "title": "Ishim embankment flooding",
        "lat": ASTANA[0],
        "lon": ASTANA[1],
        "needs": [{"skill": "water_rescue", "count": 2}, {"skill": None, "count": 1}],
        **fields,
    }
    response = client.post("/api/v1/incidents", headers=auth("coordinator"), json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_board_lists_open_incidents_with_needs_as_bars(client, auth):
    report(client, auth)
    ended = report(client, auth, title="Already over")
    client.post(f"/api/v1/incidents/{ended['id']}/close", headers=auth("coordinator"))
    html = client.get("/").get_data(as_text=True)
    assert "Ishim embankment flooding" in html and "Already over" not in html
    assert '<progress max="2" value="0"' in html and "Water rescue" in html and "Any skill" in html
    assert "ago" in html  # time since posted
    assert "/vendor/leaflet/leaflet.js" in html and "unpkg" not in html and "cdn" not in html.lower()


def test_leaflet_is_served_by_the_app(client):
    # A file answer streams from an open file: closing the response closes it (ResourceWarning).
    with client.get("/vendor/leaflet/leaflet.js") as response:
        assert response.status_code == 200 and b"Leaflet" in response.data[:400]
    assert client.get("/vendor/leaflet/../../__init__.py").status_code == 404


def test_status_json_is_conditional_on_a_hash_of_its_content(client, auth):
    first = client.get("/status.json")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache"
    assert first.get_json() == {"incidents": []}
    etag = first.headers["ETag"]
    assert client.get("/status.json", headers={"If-None-Match": etag}).status_code == 304
    report(client, auth)
    changed = client.get("/status.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [i["title"] for i in changed.get_json()["incidents"]] == ["Ishim embankment flooding"]


def test_every_worker_computes_the_same_etag(client, auth, app):
    """No state in a process: another app (another gunicorn worker) agrees on the ETag."""
    report(client, auth)
    etag = client.get("/status.json").headers["ETag"]
    db.session.rollback()  # SQLite: let the other app's connection in
    other = create_app(TestConfig.for_database(app.config["SQLALCHEMY_DATABASE_URI"]))
    with other.app_context():
        response = other.test_client().get("/status.json", headers={"If-None-Match": etag})
        db.session.remove()
        db.engine.dispose()
    assert response.status_code == 304


def test_the_board_and_its_updates_leak_no_personal_data(client, auth, app, sms):
    people = [
        volunteer(
            km=0.5 + i,
            bearing=i * 40,
            skills=("water_rescue", "first_aid"),
            name=f"Айгерим Secretname{i}",
            organization="Hidden Org",
        )
        for i in range(8)
    ]
    incident = report(client, auth, radius_km=20)
    jobs.send_outbox()
    for person in people[:2]:
        receive_sms(f"SMleak{person.id}", person.phone, f"YES {incident['code']} 15")
    receive_sms(f"SMleak{people[2].id}", people[2].phone, "NO")
    jobs.send_outbox()
    status = client.get("/api/v1/incidents/" + str(incident["id"]), headers=auth("viewer")).get_json()
    assert len(status["responders"]) == 2  # the dispatch really happened

    html = client.get("/").get_data(as_text=True)
    update = json.dumps(client.get("/status.json").get_json(), ensure_ascii=False)
    assert "Ishim embankment flooding" in html and "Ishim embankment flooding" in update
    for person in people:
        for text in (html, update):
            assert person.name not in text and "Secretname" not in text and "Hidden Org" not in text
            for form in local_forms(person.phone):
                assert form not in text, f"{form} of {person.name} leaked"
            assert f"{person.lat:.4f}" not in text  # nor where they live
