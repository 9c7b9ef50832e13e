"""Warnings in the console: drafts listed apart under "Warnings to review", a draft's page with
its sender shown as stated and its text as text, dispatched with needs in one step (CSRF), or
dismissed; the public board never shows a draft. The last test is the same in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch import warnings_in
from dispatch.extensions import db
from dispatch.models import Alert, Incident
from dispatch.users import create_user
from tests.dispatch.factories import volunteer

from .conftest import PASSWORD, screenshot

HOSTILE = '<h1 data-pwn>Flood</h1><img data-pwn src="http://127.0.0.1:9/x">'


def warning(identifier: str = "W-1", headline: str = "Flood on the Ishim near Astana") -> bytes:
    return (
        '<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{identifier}</identifier><sender>warnings@kazhydromet.example.kz</sender>"
        "<sent>2036-04-11T08:00:00+05:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"
        "<info><language>ru-RU</language><category>Met</category><event>Паводок</event><urgency>Expected</urgency>"
        "<severity>Severe</severity><certainty>Likely</certainty><expires>2036-04-14T20:00:00+05:00</expires>"
        f"<headline>{headline}</headline><description>Line one.\nLine two.</description>"
        "<area><areaDesc>Ishim bank</areaDesc>"
        "<polygon>51.15,71.40 51.15,71.48 51.19,71.48 51.19,71.40 51.15,71.40</polygon></area></info></alert>"
    ).encode()


def escaped(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").encode()


def test_drafts_are_listed_apart_and_never_on_the_public_board(console):
    draft = warnings_in.ingest(warning(), None).incidents[0]
    page = console.get("/console/").get_data(as_text=True)
    assert "Warnings to review" in page and draft.title in page
    board = console.get("/api/v1/status").get_json()
    assert board["incidents"] == []
    ru = console.get("/console/?lang=ru").get_data(as_text=True)
    assert "Предупреждения на рассмотрении" in ru and "Warnings to review" not in ru


def test_a_draft_page_shows_the_sender_as_stated_and_its_text_as_text(console):
    draft = warnings_in.ingest(warning(headline=escaped(HOSTILE).decode()), None).incidents[0]
    assert draft.title == HOSTILE
    page = console.get(f"/console/incidents/{draft.id}").get_data(as_text=True)
    assert "as stated by the sender, not verified" in page and "warnings@kazhydromet.example.kz" in page
    assert "data-pwn>" not in page and "&lt;h1 data-pwn&gt;" in page
    assert f'action="/console/incidents/{draft.id}/dispatch"' in page


def test_a_draft_is_dispatched_with_needs_in_one_step(console, sms):
    near = volunteer(km=1, skills=("first_aid",))
    draft = warnings_in.ingest(warning(), None).incidents[0]
    url = f"/console/incidents/{draft.id}/dispatch"
    # Without the CSRF token: refused, nothing changes.
    assert console.post(url, data={"need_skill_0": "first_aid", "need_count_0": "1"}).status_code == 400
    bad = console.post_form(url, {"need_count_0": "two"})
    assert bad.status_code == 400 and db.session.get(Incident, draft.id).status == "draft"
    done = console.post_form(url, {"need_skill_0": "first_aid", "need_count_0": "1", "radius_km": "5"})
    assert done.status_code == 302
    db.session.expire_all()
    incident = db.session.get(Incident, draft.id)
    assert incident.status == "dispatching" and incident.radius_km == 5
    assert [a.volunteer_id for a in db.session.scalars(select(Alert))] == [near.id]
    assert console.post_form(url, {"need_count_0": "1"}).status_code == 409


def test_a_draft_is_dismissed(console):
    draft = warnings_in.ingest(warning(), None).incidents[0]
    asked = console.get(f"/console/incidents/{draft.id}/cancel")
    assert asked.status_code == 200
    console.post_form(f"/console/incidents/{draft.id}/cancel", {"confirm": "yes"})
    db.session.expire_all()
    assert db.session.get(Incident, draft.id).status == "cancelled"


@pytest.mark.browser
def test_reviewing_and_dispatching_a_warning_in_a_browser(open_page, live_server, client, auth):
    volunteer(km=1, skills=("first_aid",), name="Aidana", language="en")
    create_user("warnings@test.local", "coordinator", password=PASSWORD)
    db.session.commit()
    response = client.post(
        "/api/v1/cap", data=warning(), headers={**auth("coordinator"), "Content-Type": "application/cap+xml"}
    )
    assert response.status_code == 201
    draft_id = response.get_json()["incidents"][0]["id"]
    db.session.commit()

    page, _watch = open_page()
    page.goto("/login")
    page.get_by_label("Email").fill("warnings@test.local")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/$"))
    drafts = page.locator("section.drafts")
    expect(drafts).to_contain_text("Warnings to review")
    drafts.get_by_role("link", name="Flood on the Ishim near Astana").click()
    expect(page).to_have_url(re.compile(rf"/console/incidents/{draft_id}$"))
    expect(page.locator("#warning-source")).to_contain_text("not verified")
    # The warning's area is drawn on the map.
    expect(page.locator("#incident-map path[data-area]")).to_have_count(1)
    screenshot(page, "cap-draft-review")
    page.select_option("#need_skill_0", "first_aid")
    page.fill("#need_count_0", "1")
    page.get_by_role("button", name="Dispatch: start alerting").click()
    expect(page.locator(".card-kicker")).to_contain_text("reply code")
    expect(page.locator("body")).to_contain_text("Warning dispatched")
    db.session.expire_all()
    assert db.session.get(Incident, draft_id).status in ("dispatching", "staffed", "unfilled")
