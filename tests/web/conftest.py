"""Fixtures for the pages: coordinators with passwords, a signed-in test client, CSRF tokens."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import g
from flask.testing import FlaskClient

from config import PROJECT_ROOT
from dispatch.users import create_user

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a page's forms carry (the session cookie holds its pair)."""
    found = _CSRF.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


class FreshRequestClient(FlaskClient):
    """Each request with its own `g`, as in production. The `app` fixture keeps one app context
    open for the whole test, and requests would otherwise share it (and Flask-Login's cached
    user, and Flask-WTF's cached token) across requests."""

    def open(self, *args, **kwargs):
        g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    saved = app.test_client_class
    app.test_client_class = FreshRequestClient
    yield app.test_client()
    app.test_client_class = saved


@pytest.fixture
def coordinator(app):
    user, _token = create_user("coord@test.local", "coordinator", password=PASSWORD)
    return user


@pytest.fixture
def console(client, coordinator):
    """A test client signed in as a coordinator; console.post(path, data) adds the CSRF token."""
    response = sign_in(client, coordinator.email)
    assert response.status_code == 302, response.get_data(as_text=True)

    def post(path: str, data: dict | None = None, **kwargs):
        data = {"csrf_token": csrf_token(client, "/console/"), **(data or {})}
        return client.post(path, data=data, **kwargs)

    client.post_form = post
    return client


# -- browser tests: Debian's chromium driven by Playwright, never a downloaded browser --------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def live_server(migrated_app):
    # Module scope: its scheduler thread must not send or expire what later tests set up.
    from .live import start

    server = start(migrated_app.config["SQLALCHEMY_DATABASE_URI"])
    yield server
    server.close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class PageWatch:
    """Every request a page makes, and every script error, CSP violation or failed load of
    our own files (map tiles are expected to fail: the tile server is unreachable on purpose)."""

    def __init__(self, server):
        self.tiles = server.tile_url.split("{")[0]
        self.requests: list[str] = []
        self.problems: list[str] = []

    def on_console(self, message) -> None:
        # A failed load is reported by on_response / on_failed, with its URL.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(message.text)

    def on_response(self, response) -> None:
        if response.status >= 400 and not response.url.startswith(self.tiles):
            self.problems.append(f"{response.status} {response.url}")

    def on_failed(self, request) -> None:
        # ERR_ABORTED: a poll cut short by leaving the page, not a failure.
        if not request.url.startswith(self.tiles) and "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"failed {request.url}: {request.failure}")

    def outside_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("http", "https") or urlsplit(url).hostname != "127.0.0.1"
        ]


@pytest.fixture
def open_page(browser, live_server, app, request) -> Iterator:
    """open_page(width, height) -> (page, watch); checks after the test that every request went
    to 127.0.0.1 and that no script error or CSP violation happened."""
    contexts, watches = [], []

    def make(width: int = 1280, height: int = 900, locale: str = "en-US"):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale=locale,
            timezone_id="Asia/Almaty",
            base_url=live_server.url,
        )
        page = context.new_page()
        watch = PageWatch(live_server)
        page.on("request", lambda req: watch.requests.append(req.url))
        page.on("console", watch.on_console)
        page.on("response", watch.on_response)
        page.on("requestfailed", watch.on_failed)
        page.on("pageerror", lambda error: watch.problems.append(f"page error: {error}"))
        page.set_default_timeout(10_000)
        contexts.append(context)
        watches.append(watch)
        return page, watch

    yield make
    for context in contexts:
        context.close()
    for watch in watches:
        assert watch.requests, "the page made no request at all"
        assert watch.outside_requests() == [], "requests left the machine"
        assert watch.problems == []


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
