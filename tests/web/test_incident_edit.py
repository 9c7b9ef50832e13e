"""The console edits an incident (CSRF, only what changed is sent, server-side limits, errors by
field in the page's language, the changes shown from the audit) and sends standby notices; the
last test edits an incident in a real browser and sees the new alerts queued."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Alert, AuditEvent, Incident, Need, OutboxMessage
from dispatch.users import create_user
from tests.dispatch.factories import ASTANA, incident, swimmers, volunteer

from .conftest import PASSWORD, screenshot


def posted_incident(console, needs_count: int = 1) -> Incident:
    response = console.post_form(
        "/console/incidents/new",
        {
            "kind": "flood",
            "title": "Flood on the Ishim",
            "severity": "severe",
            "lat": str(ASTANA[0]),
            "lon": str(ASTANA[1]),
            "radius_km": "10",
            "max_radius_km": "10",
            "need_skill_0": "water_rescue",
            "need_count_0": str(needs_count),
            "action": "preview",
        },
    )
    digest = re.search(r'name="previewed" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    response = console.post_form(
        "/console/incidents/new",
        {
            "kind": "flood",
            "title": "Flood on the Ishim",
            "severity": "severe",
            "lat": str(ASTANA[0]),
            "lon": str(ASTANA[1]),
            "radius_km": "10",
            "max_radius_km": "10",
            "need_skill_0": "water_rescue",
            "need_count_0": str(needs_count),
            "action": "send",
            "previewed": digest,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()


def edit_values(page: str) -> dict:
    """The edit form's fields as the browser would post them back untouched."""
    fields = dict(re.findall(r'<input id="([a-z_0-9]+)" name="\1"[^>]*?value="([^"]*)"', page))
    fields["description"] = re.search(r'name="description"[^>]*>([^<]*)</textarea>', page).group(1)
    fields["area"] = re.search(r'name="area"[^>]*>([^<]*)</textarea>', page).group(1)
    fields["severity"] = re.search(r'<option value="(\w+)" selected>', page).group(1)
    return fields


def test_an_untouched_form_changes_nothing_and_a_raised_count_alerts_more(console, sms):
    swimmers(8)
    posted = posted_incident(console)
    assert len(db.session.scalars(select(Alert)).all()) == 3
    page = console.get(f"/console/incidents/{posted.id}/edit").get_data(as_text=True)
    values = edit_values(page)
    assert values["title"] == "Flood on the Ishim" and values["count_0"] == "1" and values["lat"] == str(ASTANA[0])
    # Without the CSRF token: refused.
    assert console.post(f"/console/incidents/{posted.id}/edit", data={**values, "count_0": "2"}).status_code == 400
    untouched = console.post_form(f"/console/incidents/{posted.id}/edit", values)
    assert untouched.status_code == 302
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.event == "incident_changed")).all() == []
    raised = console.post_form(f"/console/incidents/{posted.id}/edit", {**values, "count_0": "2"})
    assert raised.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Need.count)) == 2
    assert len(db.session.scalars(select(Alert)).all()) == 6  # ceil(2 / 0.35)
    shown = console.get(f"/console/incidents/{posted.id}").get_data(as_text=True)
    assert "New alerts: 3" in shown
    assert 'id="changes"' in shown and "Water rescue 1 → Water rescue 2" in shown.replace("\n", " ")


def test_errors_are_shown_by_field_in_the_language_and_change_nothing(console, sms):
    crew = swimmers(3)
    posted = posted_incident(console)
    from dispatch import inbox

    inbox.receive_sms("SMedit1", crew[0].phone, f"YES {posted.code}")
    values = edit_values(console.get(f"/console/incidents/{posted.id}/edit").get_data(as_text=True))
    too_long = console.post_form(f"/console/incidents/{posted.id}/edit?lang=ru", {**values, "title": "x" * 201})
    assert too_long.status_code == 400 and "не больше 200 символов" in too_long.get_data(as_text=True)
    below = console.post_form(f"/console/incidents/{posted.id}/edit?lang=ru", {**values, "count_0": "0"})
    text = below.get_data(as_text=True)
    assert (
        below.status_code == 400 and "не может быть меньше числа занятых мест" in text and "cannot go below" not in text
    )
    not_number = console.post_form(f"/console/incidents/{posted.id}/edit?lang=kk", {**values, "radius_km": "far"})
    assert not_number.status_code == 400 and "must be a number" not in not_number.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Incident, posted.id).title == "Flood on the Ishim"
    assert db.session.scalar(select(Need.count)) == 1


def test_a_place_change_is_shown_and_texted_and_hostile_text_stays_text(console, sms):
    crew = swimmers(3, language="en")
    posted = posted_incident(console)
    from dispatch import inbox

    inbox.receive_sms("SMedit2", crew[0].phone, f"YES {posted.code}")
    values = edit_values(console.get(f"/console/incidents/{posted.id}/edit").get_data(as_text=True))
    hostile = '<img src=x onerror="alert(1)"> Gate 3'
    done = console.post_form(f"/console/incidents/{posted.id}/edit", {**values, "meeting_point": hostile})
    assert done.status_code == 302
    page = console.get(f"/console/incidents/{posted.id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x" in page
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "place_changed")).all()
    assert [m.volunteer_id for m in told] == [crew[0].id] and "Gate 3" in told[0].body
    assert "Told the new place: 1" in page


def test_ended_incidents_have_no_edit_form(console):
    ended = incident(status="closed")
    assert console.get(f"/console/incidents/{ended.id}/edit").status_code == 409
    assert console.post_form(f"/console/incidents/{ended.id}/edit", {"title": "x"}).status_code == 409
    assert console.post_form(f"/console/incidents/{ended.id}/standby").status_code == 409
    page = console.get(f"/console/incidents/{ended.id}").get_data(as_text=True)
    assert "/edit" not in page and "standby-form" not in page


def test_the_standby_button_tells_once_and_the_page_counts(console, sms):
    volunteer(km=1)
    volunteer(km=2)
    draft = incident(code="", status="draft", radius_km=5.0, current_radius_km=5.0)
    assert console.post(f"/console/incidents/{draft.id}/standby").status_code == 400  # no CSRF token
    first = console.post_form(f"/console/incidents/{draft.id}/standby")
    assert first.status_code == 302
    page = console.get(f"/console/incidents/{draft.id}").get_data(as_text=True)
    assert "Standby notices queued: 2" in page and "Told to stand by so far: 2" in page
    console.post_form(f"/console/incidents/{draft.id}/standby?lang=ru")
    page = console.get(f"/console/incidents/{draft.id}").get_data(as_text=True)
    assert "Уже уведомлены: 2" in page and "Уже попросили быть наготове: 2" in page
    assert "Standby" not in page and "Told to stand by" not in page
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 2


@pytest.mark.browser
def test_editing_an_incident_in_a_browser_queues_the_new_alerts(open_page, live_server, client, auth):
    swimmers(8, language="en")
    create_user("editor@test.local", "coordinator", password=PASSWORD)
    db.session.commit()
    body = {
        "kind": "flood",
        "title": "Flood on the Ishim",
        "lat": ASTANA[0],
        "lon": ASTANA[1],
        "needs": [{"skill": "water_rescue", "count": 1}],
    }
    posted = client.post("/api/v1/incidents", json=body, headers=auth("coordinator")).get_json()
    db.session.commit()

    page, _watch = open_page()
    page.goto("/login")
    page.get_by_label("Email").fill("editor@test.local")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/console/incidents/{posted['id']}")
    page.get_by_role("link", name="Edit the incident").click()
    expect(page).to_have_url(re.compile(rf"/console/incidents/{posted['id']}/edit$"))
    page.fill("#count_0", "2")
    page.fill("#meeting_point", "School 12 gate")
    screenshot(page, "incident-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(rf"/console/incidents/{posted['id']}$"))
    expect(page.locator("body")).to_contain_text("New alerts: 3")
    expect(page.locator("#changes")).to_contain_text("School 12 gate")
    expect(page.locator("#alerts tbody tr")).to_have_count(6)
    db.session.expire_all()
    assert len(db.session.scalars(select(Alert).where(Alert.incident_id == posted["id"])).all()) == 6
