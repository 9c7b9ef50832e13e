"""Text from users and from outside (titles, descriptions, place names, volunteers' names and
organisations, SMS replies) is text on every page: in a real browser, the literal markup shows
as characters and no element it names ever reaches the DOM, including Leaflet's tooltips."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dispatch import incidents
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from dispatch.schemas import IncidentIn
from dispatch.users import create_user
from tests.dispatch.factories import ALMATY, ASTANA, volunteer

from .conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser

# Every hostile element carries data-pwn: if one is ever parsed as markup, the page has it.
TITLE = '<h1 data-pwn>Title</h1><a data-pwn href="http://127.0.0.1:9/x">link</a>'
DESCRIPTION = "<img data-pwn src=x><h2 data-pwn>Description</h2>"
PLACE = "<b data-pwn>Place</b>"
NAME = "<h1 data-pwn>Volunteer</h1>"
ORGANIZATION = "<i data-pwn>Organisation</i>"
REPLY = '<h1 data-pwn>Reply</h1> <a data-pwn href="http://127.0.0.1:9/y">y</a>'
INJECTED = "[data-pwn]"


def post(title: str, at: tuple[float, float]) -> int:
    data = IncidentIn.model_validate(
        {
            "kind": "flood",
            "title": title,
            "description": DESCRIPTION,
            "lat": at[0],
            "lon": at[1],
            "needs": [{"skill": None, "count": 1}],
        }
    )
    incident = incidents.report_incident(data, incidents.Placement(at[0], at[1], place=PLACE), reported_by=None)
    return incident.id


def assert_shown_as_text(page, *texts: str) -> None:
    assert page.locator(INJECTED).count() == 0, page.locator(INJECTED).first.evaluate("e => e.outerHTML")
    body = page.locator("body").inner_text()
    for text in texts:
        assert text in body, f"{text!r} is not shown as text on {page.url}"


def sign_in(page) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill("hostile@test.local")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/$"))


def test_hostile_text_is_text_on_every_page(open_page):
    person = volunteer(0.5, name=NAME, organization=ORGANIZATION, language="en")
    volunteer(0.5, origin=ALMATY, name=NAME, language="en")
    create_user("hostile@test.local", "coordinator", password=PASSWORD)
    astana = post(TITLE, ASTANA)
    post(TITLE + " (Almaty)", ALMATY)
    receive_sms("SMhostile0001", person.phone, REPLY)  # not understood: it goes to the inbox
    db.session.commit()  # SQLite: hold no transaction while the server works

    board, _ = open_page()
    board.goto("/")
    expect(board.locator("#incident-list .card")).to_have_count(2)
    expect(board.locator("#live-note")).to_contain_text("Updated")  # redrawn by status.js
    assert_shown_as_text(board, TITLE, PLACE)
    markers = board.locator("#status-map path.leaflet-interactive")
    expect(markers).to_have_count(2)
    for n in range(2):
        markers.nth(n).hover()
        tooltip = board.locator(".leaflet-tooltip:not(.city-label)")
        expect(tooltip).to_contain_text(TITLE)
        assert tooltip.locator(INJECTED).count() == 0
        board.mouse.move(0, 0)
        expect(tooltip).to_have_count(0)
    assert_shown_as_text(board, TITLE, PLACE)
    screenshot(board, "hostile-board")

    console, _ = open_page()
    sign_in(console)
    expect(console.locator("table")).to_contain_text(TITLE)
    assert_shown_as_text(console, TITLE)

    console.goto(f"/console/incidents/{astana}")
    expect(console.locator("#alerts .alert-sent").first).to_be_visible()  # the SMS went out
    assert console.title().startswith(TITLE)
    assert_shown_as_text(console, TITLE, DESCRIPTION, PLACE, NAME)

    console.goto("/console/inbox")
    assert_shown_as_text(console, REPLY, NAME)

    console.goto("/console/volunteers")
    assert_shown_as_text(console, NAME, ORGANIZATION)
    assert console.locator("#f-organization option", has_text=ORGANIZATION).count() == 1

    console.goto("/console/simulator/")
    assert_shown_as_text(console, NAME, TITLE)
    console.get_by_role("link", name=NAME).first.click()
    expect(console.locator("#thread")).to_contain_text(TITLE)  # the alert SMS carries the title
    console.get_by_label("Answer as this volunteer").fill(REPLY)
    console.get_by_role("button", name="Send SMS").click()
    expect(console.locator(".flash")).to_contain_text(f"Sent as {NAME}")
    assert_shown_as_text(console, NAME, TITLE, REPLY)
    screenshot(console, "hostile-simulator")
