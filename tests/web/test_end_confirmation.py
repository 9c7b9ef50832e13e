"""Closing or cancelling an incident texts every volunteer still involved and cannot be undone:
the console asks first, on a page of its own (no script), and the server ends an incident
only on that page's confirm=yes, so a stray click or a crafted post changes nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from dispatch import incidents, jobs
from dispatch.extensions import db
from dispatch.models import AuditEvent, Incident, OutboxMessage
from dispatch.schemas import IncidentIn
from dispatch.users import create_user
from tests.dispatch.factories import ASTANA, volunteer

from .conftest import PASSWORD, screenshot

ENDINGS = [
    ("close", "closed", "Close this incident?", "Yes, close the incident"),
    ("cancel", "cancelled", "Cancel this incident?", "Yes, cancel the incident"),
]


def alerted_incident(title: str = "Flooded cellar on Abay avenue") -> Incident:
    volunteer(0.5, name="Near One", language="en")
    data = IncidentIn.model_validate(
        {"kind": "flood", "title": title, "lat": ASTANA[0], "lon": ASTANA[1], "needs": [{"skill": None, "count": 1}]}
    )
    incident = incidents.report_incident(data, incidents.Placement(*ASTANA), reported_by=None)
    db.session.commit()
    return incident


def texts_of(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind))


def ended_events() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.event.in_(("incident_closed", "incident_cancelled")))
    )


@pytest.mark.parametrize(("path", "how", "question", "button"), ENDINGS)
def test_the_console_asks_before_ending_an_incident(console, sms, path, how, question, button):
    incident = alerted_incident()
    jobs.send_outbox()  # the alert went out: ending the incident will text this volunteer
    page = console.get(f"/console/incidents/{incident.id}/{path}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and question in html and button in html
    assert "Flooded cellar on Abay avenue" in html and incident.code in html
    assert "1 volunteer (those who accepted and those still asked) gets this SMS now" in html
    assert re.search(r'<span class="sms" id="end-sms" lang="en">[^<]*' + incident.code, html)  # the very SMS
    assert 'name="confirm" value="yes"' in html
    db.session.refresh(incident)
    assert incident.status == "dispatching" and texts_of(how) == 0


@pytest.mark.parametrize(("path", "how", "question", "button"), ENDINGS)
def test_a_post_without_confirm_is_asked_and_changes_nothing(console, sms, path, how, question, button):
    incident = alerted_incident()
    jobs.send_outbox()
    for data in ({}, {"confirm": "no"}, {"confirm": "YES "}):
        response = console.post_form(f"/console/incidents/{incident.id}/{path}", data)
        assert response.status_code == 200 and question in response.get_data(as_text=True)
    db.session.refresh(incident)
    assert incident.status == "dispatching" and incident.ended_at is None
    assert texts_of(how) == 0 and ended_events() == 0
    jobs.send_outbox()
    assert len(sms.sent) == 1  # the alert, and nothing since


@pytest.mark.parametrize(("path", "how", "question", "button"), ENDINGS)
def test_the_confirmation_ends_it_and_tells_the_volunteers(console, sms, path, how, question, button):
    incident = alerted_incident()
    jobs.send_outbox()
    response = console.post_form(f"/console/incidents/{incident.id}/{path}", {"confirm": "yes"})
    assert response.status_code == 302 and response.headers["Location"] == f"/console/incidents/{incident.id}"
    db.session.refresh(incident)
    assert incident.status == how and texts_of(how) == 1 and ended_events() == 1
    # Asking again about an ended incident goes back to its page, which says it has ended.
    again = console.get(f"/console/incidents/{incident.id}/{path}")
    assert again.status_code == 302 and again.headers["Location"] == f"/console/incidents/{incident.id}"
    assert "This incident has ended" in console.get(again.headers["Location"]).get_data(as_text=True)


def test_the_incident_page_has_no_one_click_ending(console):
    incident = alerted_incident()
    html = console.get(f"/console/incidents/{incident.id}").get_data(as_text=True)
    for path in ("close", "cancel"):
        assert f'href="/console/incidents/{incident.id}/{path}"' in html
        assert f'action="/console/incidents/{incident.id}/{path}"' not in html


def test_the_question_is_asked_in_the_pages_language(console):
    incident = alerted_incident()
    html = console.get(f"/console/incidents/{incident.id}/cancel?lang=kk").get_data(as_text=True)
    assert "Оқиғаны тоқтату керек пе?" in html and "Cancel this incident?" not in html
    assert "шақыру болдырылмады" in html  # the SMS in Kazakh


def test_an_unknown_incident_is_a_404_page(console):
    assert console.get("/console/incidents/999999/cancel").status_code == 404
    assert console.post_form("/console/incidents/999999/cancel", {"confirm": "yes"}).status_code == 404


@pytest.mark.browser
def test_cancelling_in_the_browser_takes_a_confirmation(open_page):
    incident = alerted_incident("Gas smell in block 7")
    incident_id = incident.id
    create_user("ender@test.local", "coordinator", password=PASSWORD)
    db.session.commit()  # SQLite: hold no transaction while the server works
    page, _ = open_page()
    page.goto("/login")
    page.get_by_label("Email").fill("ender@test.local")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/console/incidents/{incident_id}")

    page.get_by_role("link", name="Cancel: called out by mistake").click()
    expect(page.locator("h1")).to_have_text("Cancel this incident?")
    page.get_by_role("link", name="No, go back").click()
    expect(page).to_have_url(re.compile(rf"/console/incidents/{incident_id}$"))
    expect(page.locator("#incident-status")).to_have_text("Dispatching")

    page.get_by_role("link", name="Cancel: called out by mistake").click()
    screenshot(page, "cancel-confirmation")
    page.get_by_role("button", name="Yes, cancel the incident").click()
    expect(page).to_have_url(re.compile(rf"/console/incidents/{incident_id}$"))
    expect(page.locator(".flash")).to_contain_text("Incident cancelled")
    expect(page.locator("#incident-status")).to_have_text("Cancelled")
    db.session.refresh(incident)
    assert incident.status == "cancelled"
