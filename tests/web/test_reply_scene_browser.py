"""The on-scene buttons of the reply link page in a real browser with JavaScript off: accept,
I'm on scene, Done, I'm safe, each a plain form post; the incident then shows the responder
left and safe. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import Activity, Alert, OutboxMessage
from tests.dispatch.factories import ASTANA, volunteer

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_on_scene_done_and_safe_from_the_page_without_javascript(browser, live_server, client, auth):
    person = volunteer(0.8, name="Бота Серікқызы", language="ru")
    person_id = person.id
    response = client.post(
        "/api/v1/incidents",
        headers=auth("coordinator"),
        json={
            "kind": "flood",
            "title": "Подтопление двора на Кенесары",
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "needs": [{"skill": None, "count": 1}],
        },
    )
    assert response.status_code == 201
    body = db.session.scalar(select(OutboxMessage.body).where(OutboxMessage.kind == "alert"))
    token = re.search(r"/r/([A-Za-z0-9_-]{22})$", body).group(1)
    db.session.commit()  # SQLite: hold no transaction while the server works

    context = browser.new_context(
        java_script_enabled=False,
        base_url=live_server.url,
        locale="kk-KZ",
        viewport={"width": 360, "height": 740},
        timezone_id="Asia/Almaty",
    )
    try:
        phone = context.new_page()
        phone.set_default_timeout(10_000)
        phone.goto(f"/r/{token}")
        phone.get_by_role("button", name="15 мин").click()
        expect(phone.locator("#scene-state")).to_contain_text("Когда прибудете")
        expect(phone.get_by_role("button")).to_have_count(1)
        phone.get_by_role("button", name="Я на месте").click()
        expect(phone).to_have_url(re.compile(rf"/r/{token}\?said=arrived$"))
        expect(phone.locator("#said")).to_contain_text("координаторы знают, что вы на месте")
        expect(phone.locator("#scene-state")).to_contain_text("Вы на месте с")
        expect(phone.get_by_role("button")).to_have_count(3)
        screenshot(phone, "reply-scene-1-on-scene")
        phone.get_by_role("button", name="Готово: работа на месте закончена").click()
        expect(phone.locator("#scene-state")).to_contain_text("Вы ушли с места в")
        phone.get_by_role("button", name="Я в безопасности").click()
        expect(phone.locator("#scene-state")).to_have_text("Вы сообщили, что вы в безопасности.")
        expect(phone.get_by_role("button")).to_have_count(0)
        screenshot(phone, "reply-scene-2-safe")
        overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
    finally:
        context.close()

    db.session.expire_all()
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == person_id))
    assert alert.arrived_at and alert.left_at and alert.safe_at >= alert.left_at
    record = db.session.scalar(select(Activity).where(Activity.volunteer_id == person_id))
    assert record.end_reason == "done" and record.verified
    db.session.commit()
