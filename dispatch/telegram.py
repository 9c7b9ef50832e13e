"""The Telegram channel this app sends through and its pacer, when TELEGRAM_BOT_TOKEN is set."""

from __future__ import annotations

from flask import Flask, current_app

from notifications.telegram import TelegramBotApi, TelegramChannel

from .outbox import Pacer

# Telegram's limit is about 30 messages a second across chats (and 1 a second per chat, which
# one call-out, its pin and an answer stay within); keep a little under it.
MESSAGES_PER_SECOND = 25.0


def register_telegram(app: Flask) -> None:
    if not app.config["TELEGRAM_ENABLED"]:
        return
    api = TelegramBotApi(app.config["TELEGRAM_BOT_TOKEN"], base_url=app.config["TELEGRAM_API_BASE_URL"])
    app.extensions["telegram_channel"] = TelegramChannel(api)
    app.extensions["telegram_pacer"] = Pacer(MESSAGES_PER_SECOND)


def enabled() -> bool:
    return bool(current_app.config["TELEGRAM_ENABLED"]) and "telegram_channel" in current_app.extensions


def channel() -> TelegramChannel:
    return current_app.extensions["telegram_channel"]


def pacer() -> Pacer:
    return current_app.extensions["telegram_pacer"]
