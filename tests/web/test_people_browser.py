"""Search and the volunteer page in a real browser: a coordinator types a name in Latin letters
and finds the Cyrillic record, opens the volunteer's page with their call-outs and replies, and
edits them in the form; a regional coordinator does not find a volunteer of another region."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dispatch.extensions import db
from dispatch.models import InboundMessage, Volunteer
from dispatch.users import create_user
from tests.dispatch.factories import ALMATY, alert, incident, volunteer

from .conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser


def sign_in(page, email: str, language: str = "ru") -> None:
    page.goto(f"/login?lang={language}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console/$"))


def test_find_open_and_edit_a_volunteer(open_page):
    aigerim = volunteer(name="Айгерим Садыкова", phone="+77012345678", region="KZ-75", origin=ALMATY)
    volunteer(name="Ерлан <b>Хасанов</b>", phone="+77470001122", region="KZ-75", origin=ALMATY)
    flood = incident(title="Паводок на Есиле", region="KZ-75")
    alert(flood, aigerim, status="accepted")
    db.session.add(
        InboundMessage(
            message_sid="SM-b1",
            from_phone=aigerim.phone,
            body="ИӘ 482",
            volunteer_id=aigerim.id,
            incident_id=flood.id,
            intent="accept",
            outcome="accepted",
        )  # fmt: skip
    )
    create_user("people@test.local", "coordinator", password=PASSWORD)
    db.session.commit()

    volunteer_id = aigerim.id
    db.session.rollback()  # SQLite transactions here begin IMMEDIATE: hold no lock while browsing

    page, watch = open_page(locale="ru-RU")
    sign_in(page, "people@test.local")
    page.goto("/console/volunteers/search")
    page.locator("#q").fill("aigerim sad")
    page.get_by_role("button", name="Найти").click()
    expect(page.locator("#found tbody tr")).to_have_count(1)
    expect(page.locator("#found")).to_contain_text("+77012345678")
    page.locator("#q").fill("8 747 000")
    page.locator("#q").press("Enter")
    expect(page.locator("#found")).to_contain_text("Ерлан <b>Хасанов</b>")  # markup shown as text
    page.locator("#q").fill("айгерим")
    page.locator("#q").press("Enter")
    screenshot(page, "people-search")
    page.get_by_role("link", name="Айгерим Садыкова").click()

    expect(page.locator("#volunteer-name")).to_have_text("Айгерим Садыкова")
    expect(page.locator("#alerts")).to_contain_text("Паводок на Есиле")
    expect(page.locator("#alerts")).to_contain_text("Согласился")
    expect(page.locator("#replies")).to_contain_text("ИӘ 482")
    screenshot(page, "people-volunteer")

    page.locator("#edit-volunteer").click()
    page.locator("#v-name").fill("Айгерим Омарова")
    page.locator("#v-lat").fill("95")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#v-lat-error")).to_be_visible()
    expect(page.locator("#form-problems")).to_contain_text("Ничего не сохранено")
    db.session.expire_all()
    assert db.session.get(Volunteer, volunteer_id).name == "Айгерим Садыкова"
    db.session.rollback()
    # The refused form is a 400 on purpose: the page watch would report it.
    watch.problems.remove(f"400 {page.url}")
    page.locator("#v-lat").fill("43.25")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#volunteer-name")).to_have_text("Айгерим Омарова")
    page.goto("/console/volunteers/search?q=omarova")
    expect(page.locator("#found tbody tr")).to_have_count(1)


def test_a_regional_coordinator_finds_only_their_region(open_page):
    astana = volunteer(name="Айгерим Астанаева", phone="+77012340001", region="KZ-71")
    volunteer(name="Айгерим Алматинская", phone="+77012340002", region="KZ-75", origin=ALMATY)
    create_user("almaty@test.local", "coordinator", password=PASSWORD, regions=["KZ-75"])
    db.session.commit()
    astana_id = astana.id
    db.session.rollback()

    page, watch = open_page(locale="kk-KZ")
    sign_in(page, "almaty@test.local", "kk")
    page.goto("/console/volunteers/search?q=Aigerim")
    expect(page.locator("#found tbody tr")).to_have_count(1)
    expect(page.locator("#found")).to_contain_text("Айгерим Алматинская")
    response = page.goto(f"/console/volunteers/{astana_id}")
    assert response is not None and response.status == 404
    watch.problems.remove(f"404 {page.url}")
