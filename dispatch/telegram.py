"""The Telegram channel this app sends through and its pacer: the Bot API when TELEGRAM_BOT_TOKEN
is set, or in development (SMS_BACKEND=console, no token) the simulated Telegram, whose chats the
console's simulator shows (notifications/telegram_console.py, config TELEGRAM_SIMULATED)."""

from __future__ import annotations

from flask import Flask, current_app

from notifications.telegram import TelegramBotApi, TelegramChannel
from notifications.telegram_console import ConsoleTelegram

from .outbox import Pacer

# Telegram's limit is about 30 messages a second across chats (and 1 a second per chat, which
# one call-out, its pin and an answer stay within); keep a little under it.
MESSAGES_PER_SECOND = 25.0
# Simulated chats: private chats (chat id == user id) out of the way of small test ids, one per
# volunteer, so seed-demo and the simulator's one-click link give a volunteer the same chat.
SIMULATED_CHAT_BASE = 10**12


def register_telegram(app: Flask) -> None:
    if not app.config["TELEGRAM_ENABLED"]:
        return
    if app.config["TELEGRAM_SIMULATED"]:
        app.extensions["telegram_channel"] = ConsoleTelegram()
    else:
        api = TelegramBotApi(app.config["TELEGRAM_BOT_TOKEN"], base_url=app.config["TELEGRAM_API_BASE_URL"])
        app.extensions["telegram_channel"] = TelegramChannel(api)
    app.extensions["telegram_pacer"] = Pacer(MESSAGES_PER_SECOND)


def enabled() -> bool:
    return bool(current_app.config["TELEGRAM_ENABLED"]) and "telegram_channel" in current_app.extensions


def simulated() -> ConsoleTelegram | None:
    """The simulated Telegram when that is what this app sends through, else None."""
    found = current_app.extensions.get("telegram_channel") if enabled() else None
    return found if isinstance(found, ConsoleTelegram) else None


def has_bot() -> bool:
    """A real bot behind the channel (not the simulated Telegram)."""
    return enabled() and isinstance(current_app.extensions["telegram_channel"], TelegramChannel)


def channel() -> TelegramChannel | ConsoleTelegram:
    return current_app.extensions["telegram_channel"]


def bot_api() -> TelegramBotApi:
    found = channel()
    assert isinstance(found, TelegramChannel), "no Bot API behind the simulated Telegram"
    return found.api


def simulated_chat_id(volunteer_id: int) -> int:
    return SIMULATED_CHAT_BASE + volunteer_id


def pacer() -> Pacer:
    return current_app.extensions["telegram_pacer"]
