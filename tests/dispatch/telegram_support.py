"""Fixtures for the Telegram channel: the app sends through the real TelegramBotApi to a
FakeTelegram on loopback and takes its updates at /telegram/webhook with the fake's secret."""

from __future__ import annotations

import json
import secrets

import pytest

from dispatch import jobs
from dispatch.extensions import db
from dispatch.models import Volunteer
from dispatch.outbox import Pacer
from notifications.telegram import TelegramBotApi, TelegramChannel
from tests.fakes.telegram_server import FakeTelegram

WEBHOOK_URL = "https://dispatch.example.kz/telegram/webhook"


@pytest.fixture
def telegram(app):
    """A FakeTelegram behind the app's Telegram channel (TELEGRAM_* set as in production)."""
    names = ("TELEGRAM_ENABLED", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TELEGRAM_WEBHOOK_SECRET")
    saved_config = {name: app.config.get(name) for name in names}
    saved_ext = {name: app.extensions.get(name) for name in ("telegram_channel", "telegram_pacer")}
    with FakeTelegram() as fake:
        secret = secrets.token_urlsafe(32)
        api = TelegramBotApi(fake.token, base_url=fake.base_url, read_timeout_s=2.0)
        api.set_webhook(WEBHOOK_URL, secret_token=secret)
        app.config.update(
            TELEGRAM_ENABLED=True,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_BOT_USERNAME=fake.username,
            TELEGRAM_WEBHOOK_SECRET=secret,
        )
        app.extensions["telegram_channel"] = TelegramChannel(api)
        app.extensions["telegram_pacer"] = Pacer(10_000)
        try:
            yield fake
        finally:
            api.close()
            app.config.update(saved_config)
            for name, value in saved_ext.items():
                if value is None:
                    app.extensions.pop(name, None)
                else:
                    app.extensions[name] = value


@pytest.fixture
def tg_in(client, telegram):
    """tg_in(update) -> the webhook's response to an update posted as Telegram posts it."""

    def post(update: dict, headers: dict | None = None):
        return client.post("/telegram/webhook", data=json.dumps(update), headers=headers or telegram.webhook_headers())

    return post


@pytest.fixture
def run_telegram(telegram):
    def run() -> int:
        return jobs.send_telegram_outbox()

    return run


def link(volunteer: Volunteer, chat_id: int, fake: FakeTelegram) -> Volunteer:
    """Link a chat straight in the database (the linking itself is tested on its own)."""
    fake.add_chat(chat_id)
    volunteer.telegram_chat_id, volunteer.telegram_user_id = chat_id, chat_id
    volunteer.preferred_channel = "telegram"
    db.session.commit()
    return volunteer
