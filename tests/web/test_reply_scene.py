"""The reply link page after an accept: I'm on scene, Done, I'm safe and HELP, by the same use
cases as ARRIVED, DONE, SAFE and HELP by SMS; buttons that fit the responder's state; a press
that does not fit (DONE before ARRIVED, a page left open) answered clearly, nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import Activity, Alert, AuditEvent, InboundMessage
from tests.web.test_reply_links import FORM_TOKEN, called_out, press
from tests.web.test_translated_messages import english_words

BUTTONS = ("arrived", "done", "safe", "help")


def page(client, token: str) -> str:
    response = client.get(f"/r/{token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def buttons(html: str) -> list[str]:
    return [b for b in BUTTONS if f'id="scene-{b}"' in html]


def scene_press(client, token: str, button: str):
    """A press of a scene button, with the form token of the page as it is now."""
    form_token = FORM_TOKEN.search(page(client, token)).group(1)
    return client.post(f"/r/{token}", data={"form_token": form_token, "scene": button})


def state(alert_id: int) -> tuple:
    alert = db.session.get(Alert, alert_id)
    db.session.refresh(alert)
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    records = db.session.scalar(select(func.count(Activity.id)))
    return alert.arrived_at, alert.left_at, alert.safe_at, alert.help_requested_at, events, records


@pytest.fixture
def accepted(client, auth):
    crowd, incident, alert, token = called_out(client, auth, language="ru")
    assert press(client, token, "accept", "15").status_code == 303
    return crowd[0], incident, alert.id, token


def test_arrived_done_safe_from_the_page(client, accepted):
    person, incident, alert_id, token = accepted
    html = page(client, token)
    assert buttons(html) == ["arrived"] and "Я на месте" in html and "<script" not in html
    arrived = scene_press(client, token, "arrived")
    assert arrived.status_code == 303 and arrived.headers["Location"].endswith("said=arrived")
    after = client.get(arrived.headers["Location"]).get_data(as_text=True)
    assert "Вы на месте с" in after and "координаторы знают, что вы на месте" in after
    assert buttons(after) == ["done", "safe", "help"]
    alert = db.session.get(Alert, alert_id)
    assert alert.arrived_at is not None and alert.left_at is None
    inbound = db.session.scalars(select(InboundMessage).where(InboundMessage.intent == "arrived")).one()
    assert inbound.channel == "link" and inbound.body == f"ПРИБЫЛ {incident['code']}"
    assert inbound.outcome == "arrived" and inbound.incident_id == incident["id"]
    # The register's record opened on ARRIVED, closed on DONE.
    assert scene_press(client, token, "done").status_code == 303
    record = db.session.scalar(select(Activity).where(Activity.volunteer_id == person.id))
    assert record.end_reason == "done" and record.ended_at is not None
    left = page(client, token)
    assert "Вы ушли с места в" in left and buttons(left) == ["safe"]
    assert scene_press(client, token, "safe").status_code == 303
    done = page(client, token)
    assert "Вы сообщили, что вы в безопасности." in done and buttons(done) == []
    events = {e for (e,) in db.session.execute(select(AuditEvent.event).where(AuditEvent.volunteer_id == person.id))}
    assert {"responder_arrived", "responder_left", "responder_safe"} <= events
    assert english_words(done, "ru") == []


def test_done_before_arrived_is_answered_and_changes_nothing(client, accepted):
    _person, _incident, alert_id, token = accepted
    before = state(alert_id)
    for button, words in (
        ("done", "Вы ещё не сообщили, что на месте"),
        ("help", "«Нужна помощь!» — для тех, кто на месте"),
    ):
        refused = scene_press(client, token, button)  # a page left open, or a forged form
        assert refused.status_code == 409
        html = refused.get_data(as_text=True)
        assert words in html and ("Ничего не изменилось" in html or button == "help")
        assert buttons(html) == ["arrived"]
        assert state(alert_id)[:4] == before[:4] and state(alert_id)[5] == before[5]
    unknown = scene_press(client, token, "teleport")
    assert unknown.status_code == 400 and state(alert_id)[:4] == before[:4]


def test_a_press_twice_changes_nothing_the_second_time(client, accepted):
    _person, _incident, alert_id, token = accepted
    form_token = FORM_TOKEN.search(page(client, token)).group(1)  # one page, pressed twice
    assert client.post(f"/r/{token}", data={"form_token": form_token, "scene": "arrived"}).status_code == 303
    first = db.session.get(Alert, alert_id).arrived_at
    again = client.post(f"/r/{token}", data={"form_token": form_token, "scene": "arrived"})
    assert again.status_code == 409 and "Вы уже сообщили, что на месте." in again.get_data(as_text=True)
    db.session.refresh(db.session.get(Alert, alert_id))
    assert db.session.get(Alert, alert_id).arrived_at == first
    assert db.session.scalar(select(func.count(Activity.id))) == 1


def test_help_from_the_page_alerts_at_once(client, auth, accepted):
    _person, incident, alert_id, token = accepted
    scene_press(client, token, "arrived")
    helped = scene_press(client, token, "help")
    assert helped.status_code == 303
    assert "Координаторы оповещены" in client.get(helped.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Alert, alert_id).help_requested_at is not None
    body = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth("viewer")).get_json()
    assert body["help_requested"] == [_person.id]


def test_after_the_incident_ends_the_welfare_check_is_answered_on_the_page(client, auth, accepted):
    _person, incident, alert_id, token = accepted
    scene_press(client, token, "arrived")
    closed = client.post(f"/api/v1/incidents/{incident['id']}/close", headers=auth("coordinator"))
    assert closed.status_code == 200
    html = page(client, token)
    assert buttons(html) == ["safe", "help"]
    assert db.session.get(Alert, alert_id).welfare_due_at is not None
    assert scene_press(client, token, "safe").status_code == 303
    alert = db.session.get(Alert, alert_id)
    db.session.refresh(alert)
    assert alert.welfare_due_at is None and alert.safe_at is not None
    assert buttons(page(client, token)) == []
    body = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth("viewer")).get_json()
    assert body["welfare_overdue"] == []


@pytest.mark.parametrize(
    ("language", "on_scene", "word"),
    [("kk", "Мен оқиға орнындамын", "КЕЛДІМ"), ("en", "I'm on scene", "ARRIVED")],
)
def test_the_buttons_speak_the_volunteers_language(client, auth, language, on_scene, word):
    _crowd, incident, _alert, token = called_out(client, auth, language=language)
    press(client, token, "accept")
    html = page(client, token)
    assert on_scene in html.replace("&#39;", "'")
    if language == "kk":
        assert english_words(html, "kk") == []
    assert scene_press(client, token, "arrived").status_code == 303
    inbound = db.session.scalars(select(InboundMessage).where(InboundMessage.intent == "arrived")).one()
    assert inbound.body == f"{word} {incident['code']}"
