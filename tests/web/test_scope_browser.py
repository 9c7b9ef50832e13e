"""A regional coordinator in a real browser: the demo's Almaty office signs in, sees its scope in
the header and Almaty's volunteers only, and reads an Astana incident with no manage buttons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from dispatch.demo import DEMO_ORGANIZATIONS, DEMO_REGIONAL_COORDINATOR, DEMO_REGIONAL_PASSWORD, seed_demo
from dispatch.extensions import db
from dispatch.models import Volunteer
from tests.dispatch.factories import alert, incident

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_demo_regional_coordinator_sees_almaty_and_reads_astana(open_page):
    seed_demo()
    almaty = db.session.scalar(select(func.count()).select_from(Volunteer).where(Volunteer.region == "KZ-75"))
    astana_person = db.session.scalar(select(Volunteer).where(Volunteer.region == "KZ-71").order_by(Volunteer.id))
    flood = incident("482", region="KZ-71", title="Паводок на Есиле")
    alert(flood, astana_person, status="sent")
    # Plain values, and no transaction left open while the server writes (SQLite locks).
    flood_id, astana_phone = flood.id, astana_person.phone
    db.session.commit()

    page, _ = open_page(locale="ru-RU")
    page.goto("/login?lang=ru")
    page.locator("#email").fill(DEMO_REGIONAL_COORDINATOR)
    page.locator("#password").fill(DEMO_REGIONAL_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.locator("#scope-label")).to_contain_text("Алматы")

    page.goto("/console/volunteers")
    expect(page.locator("h1 .count")).to_have_text(str(almaty))
    table = page.locator("#volunteers")
    expect(table).to_contain_text(DEMO_ORGANIZATIONS["almaty"][0].split()[0])
    for name in DEMO_ORGANIZATIONS["astana"]:
        expect(table).not_to_contain_text(name)
    expect(page.locator("#f-organization option", has_text="Ertis")).to_have_count(0)
    screenshot(page, "scope-volunteers")

    page.goto(f"/console/incidents/{flood_id}")
    expect(page.locator("h1")).to_have_text("Паводок на Есиле")
    expect(page.locator("#out-of-scope")).to_be_visible()
    expect(page.locator("#edit-incident")).to_have_count(0)
    expect(page.locator("#standby-form")).to_have_count(0)
    expect(page.locator("#broadcast-body")).to_have_count(0)
    expect(page.locator(f'a[href$="/incidents/{flood_id}/close"]')).to_have_count(0)
    alerts = page.locator("#alerts")
    expect(alerts).to_contain_text("Волонтёр вне вашей зоны ответственности")
    expect(alerts).not_to_contain_text(astana_phone)
    screenshot(page, "scope-incident-read-only")
