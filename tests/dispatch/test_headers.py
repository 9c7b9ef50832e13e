"""Headers on every answer: no-store where personal data is, HSTS in production, Location
headers that never carry a forged Host, and message SIDs held to the provider's format."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from config import TestConfig
from dispatch import create_app
from dispatch.extensions import db
from dispatch.headers import own_location
from dispatch.models import InboundMessage

from .conftest import signed_post
from .factories import volunteer

FORGED_HOST = "evil.example"


@pytest.mark.parametrize(
    "path", ["/api/v1/volunteers", "/api/v1/incidents", "/api/v1/skills", "/api/v1/volunteers/999"]
)
def test_api_answers_are_not_stored(client, auth, path):
    response = client.get(path, headers=auth("viewer"))
    assert response.headers["Cache-Control"] == "no-store"


def test_api_errors_are_not_stored_either(client):
    assert client.get("/api/v1/volunteers").headers["Cache-Control"] == "no-store"  # 401


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/status", "/status.json", "/healthz"])
def test_public_answers_may_be_cached(client, path):
    assert client.get(path).headers.get("Cache-Control") != "no-store"


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_hsts_on_every_answer_in_production(migrated_app):
    config = TestConfig.for_database(migrated_app.config["SQLALCHEMY_DATABASE_URI"], DISPATCH_ENV="production")
    production = create_app(config)
    with production.app_context():
        client = production.test_client()
        for path, status in (("/healthz", 200), ("/api/v1/status", 200), ("/no-such-page", 404), ("/console", 308)):
            response = client.get(path)
            assert response.status_code == status
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        # The test client's requests share this app context, so its session still holds a
        # connection: hand it back before closing the pool (else psycopg's ResourceWarning).
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    "path", ["/console", "/console/", "/console/simulator", "/console/incidents/new", "//evil.example/console/"]
)
def test_a_forged_host_never_appears_in_a_location(client, path):
    response = client.get(path, headers={"Host": FORGED_HOST})
    assert response.status_code in (301, 302, 307, 308)
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "" and not response.headers["Location"].startswith(("//", "/\\"))


def test_the_trailing_slash_redirect_stays_on_this_site(client):
    response = client.get("/console", headers={"Host": FORGED_HOST})
    assert response.status_code == 308
    assert response.headers["Location"] == "/console/"


def test_own_location():
    base = "https://dispatch.example.kz"
    assert own_location("/console/", base) == "/console/"
    assert own_location("https://dispatch.example.kz/console/?a=1", base) == "https://dispatch.example.kz/console/?a=1"
    assert own_location("http://evil.example/console/?a=1#x", base) == "/console/?a=1#x"
    assert own_location("http://evil.example//other.example/x", base) == "/other.example/x"
    assert own_location("http://evil.example/\\other.example", base) == "/other.example"
    assert own_location("http://evil.example", base) == "/"


def inbound_count() -> int:
    return db.session.scalar(select(func.count()).select_from(InboundMessage))


@pytest.mark.parametrize(
    "sid",
    [
        "SM1",
        "SMdup",
        "SM" + "A" * 32,
        "SM" + "a" * 31,
        "XX" + "a" * 32,
        "SM" + "a" * 32 + "From+77010000002",
        "SM" + "a" * 32 + "\n",
    ],
)
def test_a_message_sid_not_in_the_providers_format_is_a_400(client, app, sid):
    person = volunteer()
    params = {"MessageSid": sid, "From": person.phone, "Body": "STOP"}
    response = signed_post(client, app, "/sms/inbound", params)
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["fields"] == {"MessageSid": "not a message SID"}
    assert inbound_count() == 0
    response = signed_post(client, app, "/sms/status", {"MessageSid": sid, "MessageStatus": "delivered"})
    assert response.status_code == 400


@pytest.mark.parametrize("sid", ["SM" + "0123456789abcdef" * 2, "MM" + "f" * 32])
def test_sms_and_mms_sids_pass(client, app, sid):
    person = volunteer()
    assert (
        signed_post(client, app, "/sms/inbound", {"MessageSid": sid, "From": person.phone, "Body": "HELP"}).status_code
        == 200
    )
    assert inbound_count() == 1
