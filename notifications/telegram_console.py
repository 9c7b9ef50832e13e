"""A simulated Telegram for development: the outbox's Telegram channel without a bot.

ConsoleTelegram has the methods the outbox and the webhook handler use on TelegramChannel
(send, send_pin, close_buttons, answer_button) and, like ConsoleGateway for SMS, logs each of
them instead of calling the Bot API; it also keeps every chat (messages, edits, pins, button
markup and button notices) in memory, so the console's simulator can show it. The other side,
the volunteer, is played by the simulator: user_text() and user_press() record what they did
and return the update exactly as Telegram would post it to our webhook, for the caller to
pass through the webhook's own handler.

Like Telegram it refuses what cannot happen: an edit of a message it never sent, a press on a
button that is not (or no longer) under a message. Message and update ids start from the
clock, so ids made after a restart never repeat those of an earlier run (the outbox keeps
provider ids unique, and the inbox deduplicates on update ids).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import count
from typing import Any, Literal

from notifications.gateway import SendResult
from notifications.telegram import (
    MAX_CALLBACK_ANSWER_CHARS,
    ContactRequestKeyboard,
    InlineKeyboard,
    ReplyMarkup,
    TelegramPermanent,
    message_ref,
    parse_chat_id,
    parse_message_ref,
)
from notifications.texts import one_line

__all__ = ["MAX_MESSAGES_PER_CHAT", "ButtonGone", "ChatEntry", "ConsoleTelegram"]

_log = logging.getLogger(__name__)

MAX_MESSAGES_PER_CHAT = 300  # older ones are forgotten: this is a development aid, not a store

EntryKind = Literal["text", "pin", "press", "notice"]


class ButtonGone(LookupError):
    """A press on a button that is not under that message (never was, or was taken away)."""


@dataclass(frozen=True)
class ChatEntry:
    """One thing in a chat, as its user would see it.

    text     a message (from the bot, or typed by the user)
    pin      a map pin from the bot: latitude, longitude, accuracy_m
    press    the user pressed the button whose text is `text`
    notice   the bot's short answer to a press (the toast a Telegram client shows)
    """

    message_id: int
    kind: EntryKind
    from_bot: bool
    text: str
    sent_at: float  # Unix time
    buttons: InlineKeyboard | None = None  # inline buttons under it; None when none or removed
    keyboard: ContactRequestKeyboard | None = None  # a reply keyboard shown with it
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    edited: bool = False


def _clock_ids(now_s: float, scale: float) -> Iterator[int]:
    return count(int(now_s * scale))


class ConsoleTelegram:
    """The simulated Telegram: a channel for the outbox and the chats it wrote to. Thread-safe."""

    provider = "telegram"
    simulated = True

    def __init__(self, log: logging.Logger | None = None, clock: Callable[[], float] = time.time) -> None:
        self.log = log or _log
        self._clock = clock
        self._lock = threading.Lock()
        self._chats: dict[int, list[ChatEntry]] = {}
        # Twelve digits at most (a provider id holds them); a tenth of a second apart per run.
        self._message_ids = _clock_ids(clock(), 10)
        self._update_ids = _clock_ids(clock(), 1000)
        self._open_queries: dict[str, int] = {}  # callback_query_id -> chat it came from

    # --- what the outbox calls (as on TelegramChannel) -------------------------------------

    def send(
        self,
        to: str,
        body: str,
        *,
        buttons: ReplyMarkup | None = None,
        idempotency_key: str | None = None,
        status_callback: str | None = None,
        validity_s: int | None = None,
    ) -> SendResult:
        chat_id = _chat(to)
        if not body.strip():
            raise TelegramPermanent("Telegram sendMessage: 400 Bad Request: message text is empty", reason="empty_text")
        inline = buttons if isinstance(buttons, InlineKeyboard) else None
        keyboard = buttons if isinstance(buttons, ContactRequestKeyboard) else None
        with self._lock:
            entry = self._add(chat_id, kind="text", from_bot=True, text=body, buttons=inline, keyboard=keyboard)
        shown = f" [{' | '.join(b.text for b in inline.buttons)}]" if inline else ""
        self.log.info("Telegram (simulated) to chat %s: %s%s", chat_id, one_line(body), one_line(shown))
        return SendResult(provider_id=message_ref(chat_id, entry.message_id), status="delivered")

    def send_pin(self, to: str, latitude: float, longitude: float, *, accuracy_m: float | None = None) -> SendResult:
        chat_id = _chat(to)
        if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
            raise ValueError(f"not a place on Earth: {latitude}, {longitude}")
        with self._lock:
            entry = self._add(
                chat_id,
                kind="pin",
                from_bot=True,
                text="",
                latitude=latitude,
                longitude=longitude,
                accuracy_m=accuracy_m,
            )
        self.log.info("Telegram (simulated) pin to chat %s: %.5f, %.5f", chat_id, latitude, longitude)
        return SendResult(provider_id=message_ref(chat_id, entry.message_id), status="delivered")

    def close_buttons(self, provider_id: str, text: str | None = None) -> bool:
        """Rewrite the message (if text) and take its buttons away; False when it already read so."""
        chat_id, message_id = parse_message_ref(provider_id)
        with self._lock:
            entries = self._chats.get(chat_id, [])
            index = next((i for i, e in enumerate(entries) if e.message_id == message_id and e.from_bot), None)
            if index is None:
                raise TelegramPermanent(
                    "Telegram editMessageText: 400 Bad Request: message to edit not found", reason="message_not_found"
                )
            old = entries[index]
            new_text = old.text if text is None else text
            if new_text == old.text and old.buttons is None:
                return False  # "message is not modified"
            entries[index] = replace(old, text=new_text, buttons=None, edited=old.edited or new_text != old.text)
        self.log.info("Telegram (simulated) message %s in chat %s edited, buttons removed", message_id, chat_id)
        return True

    def answer_button(self, callback_query_id: str, text: str | None = None) -> bool:
        """The notice a press gets; shown in the chat that pressed."""
        with self._lock:
            chat_id = self._open_queries.pop(callback_query_id, None)
            if chat_id is None:
                raise TelegramPermanent(
                    "Telegram answerCallbackQuery: 400 Bad Request: query is too old and response timeout expired "
                    "or query ID is invalid",
                    reason="query_expired",
                )
            if text:
                self._add(chat_id, kind="notice", from_bot=True, text=text[:MAX_CALLBACK_ANSWER_CHARS])
        return True

    # --- what the simulator reads and does ---------------------------------------------

    def chat(self, chat_id: int) -> list[ChatEntry]:
        """The chat's entries, oldest first."""
        with self._lock:
            return list(self._chats.get(chat_id, ()))

    def chat_ids(self) -> list[int]:
        """Chats that have anything in them, the most recently active first."""
        with self._lock:
            return sorted(self._chats, key=lambda c: self._chats[c][-1].sent_at if self._chats[c] else 0, reverse=True)

    def user_text(self, chat_id: int, text: str, *, language_code: str | None = None) -> bytes:
        """The user (user id == chat id, a private chat) writes text: the update Telegram would post."""
        chat_id = parse_chat_id(chat_id)
        with self._lock:
            entry = self._add(chat_id, kind="text", from_bot=False, text=text)
            update_id = next(self._update_ids)
        message = {
            "message_id": entry.message_id,
            "from": _user(chat_id, language_code),
            "chat": {"id": chat_id, "type": "private", "first_name": "Volunteer"},
            "date": int(entry.sent_at),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(" ", 1)[0]
            message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
        return _update(update_id, "message", message)

    def user_press(
        self, chat_id: int, message_id: int, callback_data: str, *, language_code: str | None = None
    ) -> bytes:
        """The user presses the button with this data under message_id: the callback_query update.

        ButtonGone when no such button is under that message now (a Telegram client cannot press
        a button that is not shown)."""
        chat_id = parse_chat_id(chat_id)
        with self._lock:
            shown = next((e for e in self._chats.get(chat_id, ()) if e.message_id == message_id and e.from_bot), None)
            button = next(
                (
                    b
                    for b in (shown.buttons.buttons if shown and shown.buttons else ())
                    if b.callback_data == callback_data
                ),
                None,
            )
            if shown is None or button is None:
                raise ButtonGone(f"no such button under message {message_id} in chat {chat_id}")
            self._add(chat_id, kind="press", from_bot=False, text=button.text)
            update_id = next(self._update_ids)
            query_id = str(update_id)
            self._open_queries[query_id] = chat_id
        query = {
            "id": query_id,
            "from": _user(chat_id, language_code),
            "message": {
                "message_id": shown.message_id,
                "date": int(shown.sent_at),
                "chat": {"id": chat_id, "type": "private", "first_name": "Volunteer"},
                "text": shown.text,
            },
            "chat_instance": str(chat_id),
            "data": callback_data,
        }
        return _update(update_id, "callback_query", query)

    # --- inside -------------------------------------------------------------------------

    def _add(self, chat_id: int, **fields: Any) -> ChatEntry:
        """Append an entry to a chat (the caller holds the lock)."""
        entry = ChatEntry(message_id=next(self._message_ids), sent_at=float(self._clock()), **fields)
        entries = self._chats.setdefault(chat_id, [])
        entries.append(entry)
        del entries[:-MAX_MESSAGES_PER_CHAT]
        return entry


def _chat(to: str | int) -> int:
    try:
        return parse_chat_id(to)
    except ValueError:
        raise TelegramPermanent(f"not a Telegram chat id: {str(to)[:40]!r}", reason="invalid_chat") from None


def _user(user_id: int, language_code: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Volunteer"}
    if language_code:
        user["language_code"] = language_code
    return user


def _update(update_id: int, kind: str, content: dict[str, Any]) -> bytes:
    return json.dumps({"update_id": update_id, kind: content}, ensure_ascii=False).encode("utf-8")
