"""The roll call in a real browser: press the button on the incident page, see who was asked and
who has not answered yet, and watch the panel update by itself when a responder answers SAFE."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from dispatch.users import create_user
from tests.dispatch.factories import alert, incident, volunteer

from .conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser


def test_a_roll_call_from_the_console(open_page):
    flood = incident(code="731", title="Flood in Zhagalau")
    on_scene = volunteer(1, name="Aidos on scene", language="en")
    away = volunteer(2, name="Bota accepted only", language="en")
    here = alert(flood, on_scene, status="accepted")
    here.arrived_at = utcnow()
    alert(flood, away, status="accepted")
    flood_id, phone = flood.id, on_scene.phone
    create_user("rollcall@test.local", "coordinator", password=PASSWORD)
    db.session.commit()  # SQLite: hold no transaction while the server works

    page, _ = open_page()
    page.goto("/login")
    page.get_by_label("Email").fill("rollcall@test.local")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    page.goto(f"/console/incidents/{flood_id}")
    expect(page.locator("#responders")).to_contain_text("On scene")
    expect(page.locator("#on-scene-count")).to_contain_text("1 on scene now")
    expect(page.locator("#roll-call")).to_contain_text("No roll call yet.")

    page.get_by_role("button", name="Roll call: ask everyone on scene to answer SAFE").click()
    expect(page.locator(".flash").first).to_contain_text("1 responder asked to answer SAFE")
    expect(page.locator("#roll-call-asked")).to_have_text("Asked: 1")
    expect(page.locator("#roll-call-unaccounted")).to_contain_text("Aidos on scene")
    expect(page.locator("#roll-call-unaccounted")).not_to_contain_text("Bota")
    screenshot(page, "roll-call-asked")

    receive_sms("SMrollcall0001", phone, "SAFE 731")
    db.session.commit()
    # The panel refreshes itself (live.js): no reload.
    expect(page.locator("#roll-call-accounted")).to_have_text("Safe: 1", timeout=6000)
    expect(page.locator("#roll-call")).to_contain_text("Everyone asked has answered SAFE.")
    screenshot(page, "roll-call-accounted")
