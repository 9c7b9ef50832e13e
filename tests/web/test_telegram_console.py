"""The console's Telegram parts: a link with a printable QR code for a volunteer, in the
coordinator's language; the channel of each alert on the incident page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import TelegramLinkCode
from tests.dispatch.factories import alert, incident, volunteer

TOKEN = "7000000001:FAKE-telegram-bot-token_0123456789"


@pytest.fixture
def telegram_on(app, monkeypatch):
    for name, value in (
        ("TELEGRAM_ENABLED", True),
        ("TELEGRAM_BOT_TOKEN", TOKEN),
        ("TELEGRAM_BOT_USERNAME", "dispatch_test_bot"),
        ("TELEGRAM_WEBHOOK_SECRET", "s" * 32),
    ):
        monkeypatch.setitem(app.config, name, value)


def test_link_page_shows_the_link_and_an_inline_qr_code(console, telegram_on):
    v = volunteer(1, name="Aigerim <b>Test</b>")
    html = console.get("/console/volunteers").get_data(as_text=True)
    assert f"/console/volunteers/{v.id}/telegram-link" in html
    response = console.post_form(f"/console/volunteers/{v.id}/telegram-link")
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    url = re.search(r"https://t\.me/dispatch_test_bot\?start=[A-Za-z0-9_-]{24}", page).group(0)
    assert "<svg" in page and "<script" not in page.split("<main", 1)[-1].split("</main>", 1)[0]
    assert "Aigerim &lt;b&gt;Test&lt;/b&gt;" in page  # a name is text, never markup
    assert db.session.scalar(select(TelegramLinkCode.volunteer_id)) == v.id
    assert url.rsplit("=", 1)[1] not in db.session.scalar(select(TelegramLinkCode.code_hash))


def test_link_page_in_russian_and_kazakh(console, telegram_on):
    v = volunteer(1)
    for lang, words in (("ru", "Ссылка действует один раз"), ("kk", "Сілтеме бір рет")):
        console.set_cookie("lang", lang)
        page = console.post_form(f"/console/volunteers/{v.id}/telegram-link", headers={"Accept-Language": lang})
        assert words in page.get_data(as_text=True), lang


def test_no_link_button_without_telegram(console):
    v = volunteer(1)
    assert "telegram-link" not in console.get("/console/volunteers").get_data(as_text=True)
    assert console.post_form(f"/console/volunteers/{v.id}/telegram-link").status_code == 409


def test_incident_page_shows_each_alerts_channel(console):
    v = volunteer(1, name="Via Telegram")
    inc = incident()
    a = alert(inc, v, status="delivered")
    from dispatch.models import OutboxMessage

    db.session.add(
        OutboxMessage(
            channel="telegram",
            to_phone="",
            to_chat_id=42,
            body="x",
            kind="alert",
            alert_id=a.id,
            incident_id=inc.id,
            volunteer_id=v.id,
            status="delivered",
            provider="telegram",
        )
    )
    db.session.commit()
    html = console.get(f"/console/incidents/{inc.id}").get_data(as_text=True)
    row = html.split("Via Telegram", 1)[1].split("</tr>", 1)[0]
    assert "Telegram:" in row
