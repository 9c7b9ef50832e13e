"""Finding a place on the incident form: the same-origin JSON the page asks, the form without
JavaScript, and in a real browser the search, the pick and the low-zoom click."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dispatch.extensions import db
from dispatch.users import create_user

from .conftest import PASSWORD, screenshot

KARAGANDA = (49.80187, 73.10211)


# -- the page's JSON and the form without JavaScript ------------------------------------------------


def test_places_json_answers_a_signed_in_page_in_its_language(console):
    items = console.get("/console/places.json?q=караг&lang=kk").get_json()["items"]
    assert items[0]["name"] == "Қарағанды"
    assert items[0]["names"]["en"] == "Karagandy" and items[0]["region"] == "KZ-35"
    assert (items[0]["lat"], items[0]["lon"]) == KARAGANDA
    items = console.get("/console/places.json?q=Oskemen&lang=ru").get_json()["items"]
    assert items[0]["name"] == "Усть-Каменогорск"
    assert console.get("/console/places.json?q=").get_json() == {"items": []}
    assert console.get("/console/places.json").get_json() == {"items": []}
    assert len(console.get("/console/places.json?q=a").get_json()["items"]) == 8


def test_places_json_is_for_coordinators_only(client, app):
    response = client.get("/console/places.json?q=Astana")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_without_javascript_the_search_stays_hidden_and_coordinates_are_typed(console):
    html = console.get("/console/incidents/new?lang=ru").get_data(as_text=True)
    assert re.search(r'<div class="place-search" id="place-search" hidden>', html)
    assert 'id="lat" name="lat"' in html and 'id="lon" name="lon"' in html
    assert "Найти город или село" in html
    assert "Find a town" not in html


# -- in a browser ---------------------------------------------------------------------------------


def sign_in_and_open_the_form(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    page.goto("/console/incidents/new")


def marker_is_at_the_map_centre(page) -> bool:
    """The incident marker (Leaflet's circle marker path) sits in the middle of the map."""
    box = page.locator("#incident-map").bounding_box()
    marker = page.locator("#incident-map path.leaflet-interactive").first.bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    at = (marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] / 2)
    return abs(centre[0] - at[0]) < 3 and abs(centre[1] - at[1]) < 3


@pytest.mark.browser
@pytest.mark.parametrize("typed", ["караг", "Қарағанды"])
def test_typing_a_name_and_picking_it_centres_the_map_and_fills_the_coordinates(open_page, live_server, typed):
    create_user(f"places-{len(typed)}@test.local", "coordinator", password=PASSWORD)
    db.session.commit()  # SQLite: hold no transaction while the server works
    page, watch = open_page()
    sign_in_and_open_the_form(page, f"places-{len(typed)}@test.local")
    search = page.get_by_label("Find a town or village")
    expect(search).to_be_visible()
    search.fill(typed)
    option = page.locator("#place-results").get_by_role("option").first
    expect(option).to_contain_text("Karagandy")
    expect(option).to_contain_text("Қарағанды")
    option.click()
    expect(page.locator("#lat")).to_have_value("49.80187")
    expect(page.locator("#lon")).to_have_value("73.10211")
    expect(page.locator("#place-note")).to_be_visible()
    expect(page.locator("#place-note")).to_contain_text("Placed at the centre of Karagandy")
    expect(page.locator("#place-results")).to_be_hidden()
    page.wait_for_timeout(400)  # Leaflet's pan animation
    assert marker_is_at_the_map_centre(page)
    screenshot(page, f"place-search-{len(typed)}")
    assert watch.outside_requests() == []


@pytest.mark.browser
def test_enter_picks_the_first_place_without_submitting_the_form(open_page, live_server):
    create_user("places-enter@test.local", "coordinator", password=PASSWORD)
    db.session.commit()
    page, _ = open_page()
    sign_in_and_open_the_form(page, "places-enter@test.local")
    search = page.get_by_label("Find a town or village")
    search.fill("Oskemen")
    expect(page.locator("#place-results").get_by_role("option").first).to_contain_text("Ust-Kamenogorsk")
    search.press("Enter")
    expect(page.locator("#lat")).to_have_value("49.97143")
    expect(page).to_have_url(re.compile(r"/console/incidents/new$"))
    expect(page.locator(".field-error, .error")).to_have_count(0)


@pytest.mark.browser
def test_a_click_at_low_zoom_zooms_in_with_a_note_and_places_nothing(open_page, live_server):
    create_user("places-zoom@test.local", "coordinator", password=PASSWORD)
    db.session.commit()
    page, _ = open_page()
    # No volunteers: the map opens on the whole country, far too far out to place anything.
    sign_in_and_open_the_form(page, "places-zoom@test.local")
    the_map = page.locator("#incident-map")
    box = the_map.bounding_box()
    the_map.click(position={"x": box["width"] * 0.6, "y": box["height"] * 0.45})
    note = page.locator("#place-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Zoomed in where you clicked")
    expect(page.locator("#lat")).to_have_value("")
    expect(page.locator("#lon")).to_have_value("")
    page.wait_for_timeout(400)
    # Now close enough: a click places the incident, and the note goes.
    the_map.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    expect(page.locator("#lat")).not_to_have_value("")
    expect(note).to_be_hidden()
    lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
    assert 40 < lat < 56 and 46 < lon < 88
    screenshot(page, "place-low-zoom")
