"""The inline buttons of a Telegram call-out and the compact data each press sends back.

Callback data (at most 64 bytes, Telegram's limit) is versioned so that buttons already on
people's phones keep meaning what they meant after the format changes:

    "1a:<alert_id>:<eta_min>"   accept, coming in eta_min minutes
    "1a:<alert_id>"             accept, no ETA given
    "1d:<alert_id>"             decline

Numbers are plain decimal without leading zeros, so every answer has exactly one spelling.
The data is neither secret nor signed (a modified client can send any data): whoever handles
a press must check that the alert belongs to the volunteer linked to the pressing user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notifications.reply_lexer import MAX_ETA_MIN
from notifications.telegram import ContactRequestKeyboard, InlineButton, InlineKeyboard
from notifications.texts import resolve_language

__all__ = [
    "CALLBACK_VERSION",
    "ETA_CHOICES_MIN",
    "AlertAnswer",
    "CallbackDataError",
    "UnsupportedCallbackData",
    "accept_word",
    "callout_keyboard",
    "contact_request_keyboard",
    "decline_word",
    "decode_callback_data",
    "encode_callback_data",
]

CALLBACK_VERSION = "1"
ETA_CHOICES_MIN: tuple[int, ...] = (15, 30, 60)
MAX_ALERT_ID = 2**63 - 1  # a BIGINT primary key
_DATA = re.compile(r"^1(?P<action>[ad]):(?P<alert>[1-9][0-9]{0,18})(?::(?P<eta>[1-9][0-9]{0,3}))?$")
_VERSIONED = re.compile(r"^[0-9]+[a-z]:")

# The contract's words (API.md: buttons start with them), one per language; each is one of
# notifications.reply_words' ACCEPT_WORDS / DECLINE_WORDS, so typing it back means the same.
_ACCEPT = {"en": "YES", "ru": "ДА", "kk": "ИӘ"}
_DECLINE = {"en": "NO", "ru": "НЕТ", "kk": "ЖОҚ"}
_MINUTES = {"en": "min", "ru": "мин", "kk": "мин"}
_SHARE_PHONE = {
    "en": "Share my phone number",
    "ru": "Поделиться номером телефона",
    "kk": "Телефон нөмірімді бөлісу",
}


class CallbackDataError(ValueError):
    """Button data that is not one of ours, or not well formed."""


class UnsupportedCallbackData(CallbackDataError):
    """Data in a format version this code does not read (a button from an older release)."""


@dataclass(frozen=True)
class AlertAnswer:
    """What a button press says about an alert."""

    alert_id: int
    accept: bool
    eta_min: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.alert_id <= MAX_ALERT_ID:
            raise ValueError(f"alert_id out of range: {self.alert_id}")
        if self.eta_min is not None and (not self.accept or not 0 < self.eta_min <= MAX_ETA_MIN):
            raise ValueError(f"an ETA goes with an accept and is 1 to {MAX_ETA_MIN} minutes, got {self.eta_min}")


def encode_callback_data(answer: AlertAnswer) -> str:
    if not answer.accept:
        return f"{CALLBACK_VERSION}d:{answer.alert_id}"
    if answer.eta_min is None:
        return f"{CALLBACK_VERSION}a:{answer.alert_id}"
    return f"{CALLBACK_VERSION}a:{answer.alert_id}:{answer.eta_min}"


def decode_callback_data(data: str) -> AlertAnswer:
    """The answer a press carries; CallbackDataError when it is not ours or is garbled."""
    match = _DATA.match(data)
    if match is None:
        if _VERSIONED.match(data) and not data.startswith(CALLBACK_VERSION):
            raise UnsupportedCallbackData(f"callback data of another version: {data[:64]!r}")
        raise CallbackDataError(f"not an alert button: {data[:64]!r}")
    accept = match["action"] == "a"
    eta = match["eta"]
    if eta is not None and not accept:  # the pattern allows it, the format does not
        raise CallbackDataError(f"a decline carries no ETA: {data!r}")
    try:
        return AlertAnswer(int(match["alert"]), accept, int(eta) if eta else None)
    except ValueError as exc:
        raise CallbackDataError(str(exc)) from None


def accept_word(language: str | None) -> str:
    return _ACCEPT[resolve_language(language)]


def decline_word(language: str | None) -> str:
    return _DECLINE[resolve_language(language)]


def callout_keyboard(
    alert_id: int, language: str | None, eta_choices_min: tuple[int, ...] = ETA_CHOICES_MIN
) -> InlineKeyboard:
    """Accept buttons with ETA choices on one row ("ИӘ · 15 мин" ...), decline under them."""
    lang = resolve_language(language)
    accept = tuple(
        InlineButton(
            f"{_ACCEPT[lang]} · {eta} {_MINUTES[lang]}", encode_callback_data(AlertAnswer(alert_id, True, eta))
        )
        for eta in eta_choices_min
    ) or (InlineButton(_ACCEPT[lang], encode_callback_data(AlertAnswer(alert_id, True))),)
    decline = InlineButton(_DECLINE[lang], encode_callback_data(AlertAnswer(alert_id, False)))
    return InlineKeyboard((accept, (decline,)))


def contact_request_keyboard(language: str | None) -> ContactRequestKeyboard:
    """The one-button keyboard that shares the user's own number (linking by phone)."""
    return ContactRequestKeyboard(_SHARE_PHONE[resolve_language(language)])
