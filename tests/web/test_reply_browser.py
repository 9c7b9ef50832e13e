"""The reply link page in a real browser with JavaScript turned off (a cheap phone's browser):
open the link from the call-out SMS, press "30 min", see the confirmation; the coordinator's
incident page then lists the volunteer as a responder. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Alert, OutboxMessage
from dispatch.users import create_user
from tests.dispatch.factories import ASTANA, volunteer

from .conftest import PASSWORD, screenshot
from .test_browser import sign_in

pytestmark = pytest.mark.browser


def test_answering_a_call_out_through_its_link_without_javascript(browser, live_server, open_page, client, auth):
    person = volunteer(0.8, name="Айгерим Нурланқызы", language="kk")
    person_id = person.id
    create_user("links@test.local", "coordinator", password=PASSWORD)
    response = client.post(
        "/api/v1/incidents",
        headers=auth("coordinator"),
        json={
            "kind": "flood",
            "title": "Кенесары көшесіндегі аулаға су кірді",
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "needs": [{"skill": None, "count": 1}],
        },
    )
    assert response.status_code == 201
    incident = response.get_json()
    body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.kind == "alert"))
    token = re.search(r"/r/([A-Za-z0-9_-]{22})$", body).group(1)
    db.session.commit()  # SQLite: hold no transaction while the server works

    # A phone's browser, in Russian, with JavaScript off: the page is in the volunteer's Kazakh.
    context = browser.new_context(
        java_script_enabled=False,
        base_url=live_server.url,
        locale="ru-RU",
        viewport={"width": 360, "height": 740},
        timezone_id="Asia/Almaty",
    )
    requests: list[str] = []
    try:
        phone = context.new_page()
        phone.on("request", lambda req: requests.append(req.url))
        phone.set_default_timeout(10_000)
        phone.goto(f"/r/{token}")
        expect(phone.locator("html")).to_have_attribute("lang", "kk")
        expect(phone.locator("h1")).to_have_text("Су тасқыны: Кенесары көшесіндегі аулаға су кірді")
        expect(phone.locator("#code")).to_have_text(incident["code"])
        assert phone.evaluate("1 + 1") == 2  # Playwright's own evaluate still works; the page's scripts do not
        screenshot(phone, "reply-link-1-call-out")
        phone.get_by_role("button", name="30 мин").click()
        expect(phone).to_have_url(re.compile(rf"/r/{token}$"))
        expect(phone.locator(".outcome")).to_contain_text("Сіз шақыруды қабылдадыңыз")
        expect(phone.locator(".outcome")).to_contain_text("шамамен 30 минуттан кейін")
        # Once accepted, the one button is the on-scene one (tests/web/test_reply_scene_browser.py).
        expect(phone.get_by_role("button")).to_have_count(1)
        expect(phone.get_by_role("button", name="Мен оқиға орнындамын")).to_be_visible()
        screenshot(phone, "reply-link-2-accepted")
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
    finally:
        context.close()
    assert requests and all(url.startswith(live_server.url + "/") for url in requests), requests

    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == person_id))
    assert (alert.status, alert.eta_min) == ("accepted", 30)
    db.session.commit()

    console, _watch = open_page()
    sign_in(console, "links@test.local")
    console.goto(f"/console/incidents/{incident['id']}")
    expect(console.locator("#responders")).to_contain_text("Айгерим Нурланқызы")
    expect(console.locator("#responders")).to_contain_text("30 min")
    expect(console.locator("#messages-heading + ul")).to_contain_text("via reply link")
    screenshot(console, "reply-link-3-incident-responder")
