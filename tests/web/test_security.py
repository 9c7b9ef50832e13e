"""Security headers, cookie flags, no inline script anywhere, and the map tile setting."""

from __future__ import annotations

import re

import pytest

from config import Config, ConfigError, TestConfig
from dispatch import create_app
from dispatch.extensions import db
from dispatch.web.security import content_security_policy
from tests.dispatch.factories import volunteer

PAGES = (
    "/",
    "/console/",
    "/console/incidents/new",
    "/console/volunteers",
    "/console/volunteers/import",
    "/console/inbox",
    "/console/simulator/",
    "/preferences",
)


def test_every_page_sends_the_security_headers_and_no_inline_script(console, auth):
    person = volunteer(1, skills=("first_aid",))
    incident = console.post(
        "/api/v1/incidents",
        headers=auth("coordinator"),
        json={
            "kind": "fire",
            "title": "Barn",
            "lat": person.lat,
            "lon": person.lon,
            "needs": [{"skill": None, "count": 1}],
        },
    ).get_json()
    for path in (*PAGES, f"/console/incidents/{incident['id']}", f"/console/simulator/{person.id}"):
        response = console.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        html = response.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, f"inline script on {path}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"
        assert not re.search(r"\sstyle\s*=", html), f"inline style on {path}"


def test_the_session_cookie_is_httponly_and_lax(client, coordinator):
    from .conftest import sign_in

    login_page = client.get("/login")
    assert "frame-ancestors 'none'" in login_page.headers["Content-Security-Policy"]
    assert "<script>" not in login_page.get_data(as_text=True)
    response = sign_in(client, coordinator.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_in_production_the_session_cookie_is_secure(app):
    production = create_app(TestConfig.for_database(app.config["SQLALCHEMY_DATABASE_URI"], DISPATCH_ENV="production"))
    assert production.config["SESSION_COOKIE_SECURE"] is True
    with production.app_context():
        db.engine.dispose()


def test_the_tile_server_is_the_only_other_image_origin():
    assert "img-src 'self' data:;" in content_security_policy("")
    csp = content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://*.tile.example.org;" in csp
    assert "connect-src 'self';" in csp


@pytest.mark.parametrize("url", ["ftp://tiles/{z}/{x}/{y}.png", "https://tiles.example/{z}/{x}.png"])
def test_a_malformed_tile_url_stops_start_up(url):
    with pytest.raises(ConfigError, match="MAP_TILE_URL"):
        Config.from_env({"MAP_TILE_URL": url})


def test_tiles_are_off_by_default():
    assert Config.from_env({}).MAP_TILE_URL == ""


def test_every_console_page_needs_a_signed_in_coordinator(app, client):
    """The page side of the auth matrix: anonymous -> sign-in, viewer -> 403, coordinator -> in.
    (Every POST is also refused without its CSRF token: test_console.)"""
    from dispatch.users import create_user

    from .conftest import PASSWORD, sign_in

    pages = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/console") and "GET" in rule.methods:
            pages.append(re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule))
    assert len(pages) >= 6
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    create_user("viewer-pages@test.local", "viewer", password=PASSWORD)
    sign_in(client, "viewer-pages@test.local")
    for url in pages:
        assert client.get(url).status_code == 403, url
    create_user("coord-pages@test.local", "coordinator", password=PASSWORD)
    fresh = app.test_client()
    sign_in(fresh, "coord-pages@test.local")
    for url in pages:
        # In: the page, or a 404 for an id that does not exist; never the sign-in page or a 403
        # (user administration is national admins' only).
        expected = (403,) if url.startswith("/console/users") else (200, 404)
        assert fresh.get(url).status_code in expected, url
    create_user("admin-pages@test.local", "admin", password=PASSWORD)
    admin = app.test_client()
    sign_in(admin, "admin-pages@test.local")
    for url in pages:
        assert admin.get(url).status_code in (200, 404), url
