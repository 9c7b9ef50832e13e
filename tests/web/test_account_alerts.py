"""The account page: the language chosen there is also that of the alerts to the coordinator's
phone and Telegram; "Link Telegram" gives a single-use link with an inline QR code; unlinking."""

from __future__ import annotations

import re

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import TelegramLinkCode, User
from tests.web.test_telegram_console import telegram_on  # noqa: F401  (a fixture)
from tests.web.test_translated_messages import english_words

from .conftest import csrf_token


def test_saving_preferences_sets_the_alert_language(console, coordinator):
    page = console.get("/preferences?lang=kk").get_data(as_text=True)
    assert 'id="alert-language-note"' in page and 'id="telegram"' not in page  # no bot: no Telegram part
    response = console.post_form("/preferences", {"language": "kk", "timezone": "Asia/Almaty"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, coordinator.id).language == "kk"
    bad = console.post_form("/preferences", {"language": "de", "timezone": "Asia/Almaty"})
    assert bad.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, coordinator.id).language == "kk"


def test_link_telegram_from_the_account_page(console, coordinator, telegram_on):  # noqa: F811
    page = console.get("/preferences?lang=ru").get_data(as_text=True)
    section = page.split('id="telegram"', 1)[1].split("</section>", 1)[0]  # (time zones keep their names)
    assert "Связать Telegram" in section and english_words(section, "ru") == []
    response = console.post_form("/preferences/telegram-link")
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    url = re.search(r"https://t\.me/dispatch_test_bot\?start=([A-Za-z0-9_-]{24})", html)
    # Telegram's own button and the zone, as the volunteers' link page names them.
    assert url and "<svg" in html and english_words(html, "ru", {"Start", "UTC"}) == []
    row = db.session.scalar(select(TelegramLinkCode))
    assert row.user_id == coordinator.id and row.volunteer_id is None and url.group(1) not in row.code_hash
    # Linked (as /start would), the page says so and offers to unlink.
    user = db.session.get(User, coordinator.id)
    user.telegram_chat_id = 4242
    db.session.commit()
    linked = console.get("/preferences").get_data(as_text=True)
    assert 'id="telegram-unlink"' in linked
    assert console.post_form("/preferences/telegram-unlink").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, coordinator.id).telegram_chat_id is None


def test_the_link_needs_the_csrf_token_and_a_sign_in(client, coordinator, telegram_on):  # noqa: F811
    # Signed out: no link (the CSRF check refuses the post before anything else).
    assert client.post("/preferences/telegram-link").status_code in (302, 400, 401)
    token = csrf_token(client, "/login")
    assert client.post("/preferences/telegram-link", data={"csrf_token": token}).status_code in (302, 401)
    assert db.session.scalar(select(TelegramLinkCode.id)) is None
