"""The whole loop in a browser with no phone, as `make run` has it (console SMS, simulated
Telegram): the nearest volunteer prefers Telegram, the coordinator presses the accept button in
the simulator's Telegram view, and the incident page shows the responder; an SMS volunteer's
reply link opens from the simulator in a new tab and declines there. Screenshots land in
test-artifacts/."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch import telegram
from dispatch.extensions import db
from dispatch.models import Alert
from dispatch.users import create_user
from tests.dispatch.factories import ASTANA, volunteer

from .conftest import PASSWORD, screenshot
from .test_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(migrated_app):
    """The shared live server, with the simulated Telegram on (as under `make run`)."""
    from .live import start

    server = start(migrated_app.config["SQLALCHEMY_DATABASE_URI"], SIMULATE_TELEGRAM="true")
    assert server.app.config["TELEGRAM_SIMULATED"] is True
    yield server
    server.close()


def post_incident(live_server, auth, title: str) -> dict:
    """Posted to the live server's API: it routes the call-outs with its own (simulated) Telegram."""
    response = requests.post(
        f"{live_server.url}/api/v1/incidents",
        headers=auth("coordinator"),
        timeout=10,
        json={
            "kind": "flood",
            "title": title,
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "needs": [{"skill": "water_rescue", "count": 1}],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_accepting_in_the_simulated_telegram(open_page, live_server, auth):
    person = volunteer(0.5, skills=("water_rescue",), name="Дана Телеграмова", language="ru")
    person.telegram_chat_id = person.telegram_user_id = telegram.simulated_chat_id(person.id)
    person.preferred_channel = "telegram"
    person_id = person.id
    create_user("tg-browser@test.local", "coordinator", password=PASSWORD)
    db.session.commit()
    incident = post_incident(live_server, auth, "Вода во дворе")
    db.session.commit()  # SQLite: hold no transaction while the server works

    page, _watch = open_page()
    sign_in(page, "tg-browser@test.local")
    page.goto(f"/console/simulator/{person_id}")
    telegram_view = page.locator("#telegram")
    # The server's scheduler sends the call-out; the view refreshes itself.
    accept_30 = telegram_view.get_by_role("button", name="ДА · 30 мин")
    expect(accept_30).to_be_visible(timeout=15_000)
    expect(telegram_view.get_by_role("button", name="НЕТ")).to_be_visible()
    expect(telegram_view.locator(".tg-pin")).to_contain_text("51.17000, 71.45000")
    screenshot(page, "simulator-telegram-1-call-out")
    accept_30.click()
    expect(page.locator(".flash")).to_contain_text("Pressed as Дана Телеграмова")
    # The call-out is rewritten and its buttons are gone; the bot confirms in the chat.
    expect(telegram_view.locator(".tg-button")).to_have_count(0, timeout=15_000)
    expect(telegram_view.locator(".tg-edited")).to_have_count(1, timeout=15_000)
    expect(telegram_view.locator(".tg-pressed")).to_have_text("Pressed: ДА · 30 мин")
    screenshot(page, "simulator-telegram-2-accepted")

    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == person_id))
    assert (alert.status, alert.eta_min) == ("accepted", 30)
    db.session.commit()
    page.goto(f"/console/incidents/{incident['id']}")
    expect(page.locator("#responders")).to_contain_text("Дана Телеграмова")
    expect(page.locator("#responders")).to_contain_text("30 min")
    screenshot(page, "simulator-telegram-3-incident-responder")


def test_declining_through_the_reply_link_opened_from_the_simulator(open_page, live_server, auth):
    person = volunteer(0.5, skills=("water_rescue",), name="Sms Person", language="en")
    person_id = person.id
    create_user("link-browser@test.local", "coordinator", password=PASSWORD)
    db.session.commit()
    post_incident(live_server, auth, "Water in the yard")
    db.session.commit()

    page, _watch = open_page()
    sign_in(page, "link-browser@test.local")
    page.goto(f"/console/simulator/{person_id}")
    link = page.locator("#links a.reply-link")
    expect(link).to_be_visible(timeout=15_000)
    expect(link).to_have_attribute("target", "_blank")
    with page.context.expect_page() as opened:
        link.click()
    reply = opened.value
    reply.wait_for_load_state()
    expect(reply).to_have_url(re.compile(r"/r/[A-Za-z0-9_-]{22}$"))
    reply.get_by_role("button", name="No, I cannot come").click()
    expect(reply.locator("h2")).to_contain_text("You declined this call-out")
    screenshot(reply, "simulator-reply-link-declined")

    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == person_id))
    assert alert.status == "declined"
    db.session.commit()
    # The simulator no longer offers the link: it answers nothing now.
    expect(page.locator("#links")).to_contain_text("No call-out by SMS is waiting", timeout=15_000)
