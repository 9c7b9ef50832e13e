"""Talks to the Telegram Bot API: a small typed synchronous client and a channel for the outbox.

Why not python-telegram-bot or aiogram: both are asyncio libraries. Our outbox sends from plain
threads, and running an event loop per send (or one loop in a helper thread) to make seven
JSON POSTs adds a second concurrency model, a heavy dependency and its own retry and rate-limit
machinery that would fight the outbox's. The Bot API is plain JSON over HTTPS, so this is
`requests` with one keep-alive Session (TLS set up once, then reused by every send), no
automatic retries (the outbox owns retrying), and Telegram's answers mapped onto the same
failure classes as notifications.gateway so the outbox treats every channel alike:

- TelegramRetryable (an SmsRetryable): certainly not acted on; 429 carries `retry_after_s`,
  which the sender's pacer must wait out before the next send.
- TelegramAmbiguous (an SmsAmbiguous): 5xx, read timeout, connection lost mid-request. The
  outbox retries these too, but Telegram has NO idempotency key, so the retry may show the
  message twice; they are counted as ambiguous for that reason.
- TelegramChatOptedOut (an SmsPermanent, reason "chat_opted_out"): 403, the user blocked the
  bot or deleted their account: that channel is opted out (not the volunteer's SMS).
- TelegramPermanent (an SmsPermanent): other 4xx, wrong token (reason "auth_failed"), ...
  "message is not modified" on an edit is not an error: the message already reads as asked.

Texts are sent without parse_mode: whatever they contain is shown as text, never as markup.
The token is part of every URL, so it is scrubbed from every error message this module makes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from requests import exceptions as requests_errors
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from notifications.gateway import SendResult, SmsAmbiguous, SmsError, SmsPermanent, SmsRetryable

__all__ = [
    "DEFAULT_ALLOWED_UPDATES",
    "DEFAULT_API_BASE_URL",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_TEXT_CHARS",
    "PROVIDER",
    "BotUser",
    "ContactRequestKeyboard",
    "InlineButton",
    "InlineKeyboard",
    "RemoveKeyboard",
    "ReplyMarkup",
    "SentMessage",
    "TelegramAmbiguous",
    "TelegramBotApi",
    "TelegramChannel",
    "TelegramChatOptedOut",
    "TelegramError",
    "TelegramPermanent",
    "TelegramRetryable",
    "WebhookInfo",
    "message_ref",
    "parse_chat_id",
    "parse_message_ref",
]

_log = logging.getLogger(__name__)

PROVIDER = "telegram"
DEFAULT_API_BASE_URL = "https://api.telegram.org"
# What our webhook handles; everything else Telegram would send is never asked for.
DEFAULT_ALLOWED_UPDATES: tuple[str, ...] = ("message", "callback_query", "my_chat_member")
MAX_TEXT_CHARS = 4096  # a message's text, in UTF-16 code units as Telegram counts
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTON_TEXT_CHARS = 64  # not a documented limit; longer button texts are cut by clients
MAX_CALLBACK_ANSWER_CHARS = 200
MAX_LOCATION_ACCURACY_M = 1500
DEFAULT_RETRY_AFTER_S = 1  # a 429 without parameters.retry_after (never seen, but possible)
_MAX_DESCRIPTION_CHARS = 300
_BOT_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")
_MESSAGE_REF = re.compile(r"^tg:(-?[0-9]{1,16}):([0-9]{1,12})$")
_MAX_CHAT_ID = 2**53 - 1  # Telegram: chat ids fit in 52 bits plus sign


# --- Failures --------------------------------------------------------------------------------
class TelegramError(SmsError):
    """A Bot API call that did not do what was asked. code is Telegram's error_code."""

    method: str = ""
    description: str = ""


class TelegramRetryable(TelegramError, SmsRetryable):
    """Certainly not acted on: safe to retry, after retry_after_s when Telegram said so (429)."""

    def __init__(
        self, message: str, *, retry_after_s: int | None = None, code: int | None = None, status: int | None = None
    ):
        super().__init__(message, code=code, status=status)
        self.retry_after_s = retry_after_s


class TelegramAmbiguous(TelegramError, SmsAmbiguous):
    """May have been acted on (5xx, no answer in time); a retried send may show twice."""


class TelegramPermanent(TelegramError, SmsPermanent):
    """Will never work as asked; reason says why (auth_failed, chat_not_found, rejected, ...)."""


class TelegramChatOptedOut(TelegramPermanent):
    """403: the user blocked the bot or is deactivated. Treat as an opt-out of this channel."""

    def __init__(self, message: str, *, why: str, code: int | None = None, status: int | None = None):
        super().__init__(message, reason="chat_opted_out", code=code, status=status)
        self.why = why  # blocked | deactivated | forbidden


def _annotate(error: TelegramError, method: str, description: str) -> TelegramError:
    error.method, error.description = method, description
    return error


# Telegram's 400 descriptions that mean something the caller may act on.
_BAD_REQUEST_REASONS = (
    ("message is not modified", "not_modified"),
    ("chat not found", "chat_not_found"),
    ("message to edit not found", "message_not_found"),
    ("message can't be edited", "message_not_editable"),
    ("query is too old", "query_expired"),
    ("query id is invalid", "query_expired"),
    ("message is too long", "too_long"),
    ("message text is empty", "empty_text"),
    ("button_data_invalid", "bad_button"),
    ("group chat was upgraded", "chat_migrated"),
)


def _from_answer(
    method: str, status: int, payload: Mapping[str, Any] | None, retry_after_header: str | None
) -> TelegramError:
    """The failure an unsuccessful Bot API answer means."""
    if payload is None:  # not the Bot API speaking: a proxy's error page, a broken answer
        text = f"Telegram {method}: HTTP {status} without a Bot API answer"
        if status == 429:
            return TelegramRetryable(text, retry_after_s=_retry_after(None, retry_after_header), status=status)
        if status >= 500:
            return TelegramAmbiguous(text, status=status)
        return TelegramPermanent(text, reason="bad_answer", status=status)
    raw_code = payload.get("error_code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else status
    description = str(payload.get("description") or "")[:_MAX_DESCRIPTION_CHARS]
    parameters = payload.get("parameters")
    parameters = parameters if isinstance(parameters, Mapping) else {}
    text = f"Telegram {method}: {code} {description}".rstrip()
    lowered = description.lower()
    error: TelegramError
    if code == 429:
        error = TelegramRetryable(
            text, retry_after_s=_retry_after(parameters, retry_after_header), code=code, status=status
        )
    elif code == 403:
        why = "blocked" if "blocked" in lowered else "deactivated" if "deactivated" in lowered else "forbidden"
        error = TelegramChatOptedOut(text, why=why, code=code, status=status)
    elif code == 401:
        error = TelegramPermanent(text, reason="auth_failed", code=code, status=status)
    elif code == 404:  # a malformed token or an unknown method: our configuration
        error = TelegramPermanent(text, reason="config", code=code, status=status)
    elif code == 409:  # another getUpdates poller or a webhook is in the way
        error = TelegramPermanent(text, reason="conflict", code=code, status=status)
    elif code >= 500:
        error = TelegramAmbiguous(text, code=code, status=status)
    else:
        reason = next((r for words, r in _BAD_REQUEST_REASONS if words in lowered), "rejected")
        if "migrate_to_chat_id" in parameters:
            reason = "chat_migrated"
        error = TelegramPermanent(text, reason=reason, code=code, status=status)
    return _annotate(error, method, description)


def _retry_after(parameters: Mapping[str, Any] | None, header: str | None) -> int:
    value: object = (parameters or {}).get("retry_after")
    if value is None and header is not None:
        value = header.strip()
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return DEFAULT_RETRY_AFTER_S
    try:
        seconds = int(value)
    except ValueError:
        return DEFAULT_RETRY_AFTER_S
    return min(max(seconds, 1), 24 * 3600)


def _connection_never_opened(exc: requests_errors.ConnectionError) -> bool:
    """Refused, unresolvable or timed out while connecting: no byte of the request left."""
    if isinstance(exc, (requests_errors.ConnectTimeout, requests_errors.SSLError)):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one


def _from_transport(method: str, exc: requests_errors.RequestException, scrub: str) -> TelegramError:
    detail = str(exc).replace(scrub, "<token>") if scrub else str(exc)
    error: TelegramError
    if isinstance(exc, requests_errors.ConnectionError) and _connection_never_opened(exc):
        error = TelegramRetryable(f"Telegram {method}: could not connect: {detail}")
    elif isinstance(
        exc,
        (
            requests_errors.ConnectionError,
            requests_errors.Timeout,
            requests_errors.ChunkedEncodingError,
            requests_errors.ContentDecodingError,
        ),
    ):
        error = TelegramAmbiguous(f"Telegram {method}: no complete answer: {detail}")
    else:  # InvalidURL, MissingSchema: our configuration, not the network
        error = TelegramPermanent(f"Telegram {method}: request could not be made: {detail}", reason="config")
    return _annotate(error, method, "")


# --- What we send ----------------------------------------------------------------------------
def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class InlineButton:
    """A button under a message; pressing it sends callback_data back in a callback_query."""

    text: str
    callback_data: str

    def __post_init__(self) -> None:
        if not self.text.strip() or len(self.text) > MAX_BUTTON_TEXT_CHARS:
            raise ValueError(f"button text must be 1 to {MAX_BUTTON_TEXT_CHARS} characters")
        size = len(self.callback_data.encode("utf-8"))
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise ValueError(f"callback_data must be 1 to {MAX_CALLBACK_DATA_BYTES} bytes, got {size}")

    def to_json(self) -> dict[str, str]:
        return {"text": self.text, "callback_data": self.callback_data}


@dataclass(frozen=True)
class InlineKeyboard:
    """Rows of inline buttons (an InlineKeyboardMarkup)."""

    rows: tuple[tuple[InlineButton, ...], ...]

    def __post_init__(self) -> None:
        if not self.rows or any(not row for row in self.rows):
            raise ValueError("an inline keyboard needs at least one button in every row")

    @property
    def buttons(self) -> tuple[InlineButton, ...]:
        return tuple(button for row in self.rows for button in row)

    def to_json(self) -> dict[str, Any]:
        return {"inline_keyboard": [[b.to_json() for b in row] for row in self.rows]}


@dataclass(frozen=True)
class ContactRequestKeyboard:
    """A reply keyboard with one button that shares the user's own phone number."""

    button_text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "keyboard": [[{"text": self.button_text, "request_contact": True}]],
            "one_time_keyboard": True,
            "resize_keyboard": True,
        }


@dataclass(frozen=True)
class RemoveKeyboard:
    """Takes a reply keyboard (e.g. the contact request) away."""

    def to_json(self) -> dict[str, Any]:
        return {"remove_keyboard": True}


ReplyMarkup = InlineKeyboard | ContactRequestKeyboard | RemoveKeyboard


# --- What Telegram answers -------------------------------------------------------------------
@dataclass(frozen=True)
class SentMessage:
    chat_id: int
    message_id: int
    date: int  # Unix time, as Telegram gives it


@dataclass(frozen=True)
class BotUser:
    id: int
    username: str | None
    first_name: str
    is_bot: bool


@dataclass(frozen=True)
class WebhookInfo:
    url: str  # "" when no webhook is set
    has_custom_certificate: bool
    pending_update_count: int
    last_error_date: int | None
    last_error_message: str | None
    max_connections: int | None
    allowed_updates: tuple[str, ...] | None
    ip_address: str | None


class _BadAnswer(ValueError):
    pass


def _field(result: Mapping[str, Any], name: str, kind: type) -> Any:
    value = result.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _BadAnswer(f"{name} missing or not {kind.__name__}")
    return value


def _optional(result: Mapping[str, Any], name: str, kind: type) -> Any:
    value = result.get(name)
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _sent_message(result: Any) -> SentMessage:
    if not isinstance(result, Mapping) or not isinstance(result.get("chat"), Mapping):
        raise _BadAnswer("not a Message")
    return SentMessage(
        chat_id=_field(result["chat"], "id", int),
        message_id=_field(result, "message_id", int),
        date=_optional(result, "date", int) or 0,
    )


def _bot_user(result: Any) -> BotUser:
    if not isinstance(result, Mapping):
        raise _BadAnswer("not a User")
    return BotUser(
        id=_field(result, "id", int),
        username=_optional(result, "username", str),
        first_name=_optional(result, "first_name", str) or "",
        is_bot=result.get("is_bot") is True,
    )


def _webhook_info(result: Any) -> WebhookInfo:
    if not isinstance(result, Mapping):
        raise _BadAnswer("not a WebhookInfo")
    allowed = result.get("allowed_updates")
    return WebhookInfo(
        url=_optional(result, "url", str) or "",
        has_custom_certificate=result.get("has_custom_certificate") is True,
        pending_update_count=_optional(result, "pending_update_count", int) or 0,
        last_error_date=_optional(result, "last_error_date", int),
        last_error_message=_optional(result, "last_error_message", str),
        max_connections=_optional(result, "max_connections", int),
        allowed_updates=tuple(str(u) for u in allowed) if isinstance(allowed, list) else None,
        ip_address=_optional(result, "ip_address", str),
    )


# --- The client ------------------------------------------------------------------------------
def _no_retry_adapter(pool_size: int) -> HTTPAdapter:
    # Spelled out so a change of library defaults cannot resend POSTs behind the outbox's back.
    return HTTPAdapter(
        pool_connections=1,
        pool_maxsize=pool_size,
        max_retries=Retry(
            total=0,
            connect=0,
            read=False,
            redirect=0,
            status=0,
            other=0,
            raise_on_redirect=False,
            raise_on_status=False,
        ),
    )


class TelegramBotApi:
    """The Bot API methods the channel needs; one HTTP attempt a call, over one Session.

    Thread-safe: the outbox's sender threads share one instance (and its connection pool).
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_API_BASE_URL,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 10.0,
        pool_size: int = 4,
    ) -> None:
        if not _BOT_TOKEN.match(token):
            raise ValueError("a bot token looks like 123456789:AA... (digits, a colon, 20+ characters)")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or netrc from the environment for a token URL
        adapter = _no_retry_adapter(pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def __repr__(self) -> str:  # never the token
        return f"TelegramBotApi(base_url={self.base_url!r}, bot_id={self.bot_id})"

    @property
    def bot_id(self) -> int:
        """The bot's user id: the digits before the colon of its token (not secret)."""
        return int(self._token.split(":", 1)[0])

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> TelegramBotApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """POST one Bot API method with JSON params; its `result`, or a TelegramError."""
        url = f"{self.base_url}/bot{self._token}/{method}"
        try:
            response = self.session.post(url, json=dict(params or {}), timeout=self.timeout)
        except requests_errors.RequestException as exc:
            raise _from_transport(method, exc, self._token) from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("ok"), bool):
            payload = None
        if payload is not None and payload["ok"] is True and response.status_code == 200:
            return payload.get("result")
        raise _from_answer(method, response.status_code, payload, response.headers.get("Retry-After"))

    def _typed(self, method: str, params: Mapping[str, Any], parse: Any) -> Any:
        result = self.call(method, params)
        try:
            return parse(result)
        except _BadAnswer as exc:
            # Acted on, but we cannot tell what came of it: do not resend blindly.
            error = TelegramPermanent(f"Telegram {method}: unexpected answer: {exc}", reason="bad_answer", status=200)
            raise _annotate(error, method, "") from None

    def _edit(self, method: str, params: dict[str, Any]) -> bool:
        try:
            self.call(method, params)
        except TelegramPermanent as exc:
            if exc.reason == "not_modified":
                return False  # it already reads as asked: nothing to do
            raise
        return True

    # --- messages ----------------------------------------------------------------------

    def send_message(
        self, chat_id: int, text: str, *, reply_markup: ReplyMarkup | None = None, disable_link_preview: bool = True
    ) -> SentMessage:
        """sendMessage as plain text (no parse_mode); link previews off unless asked."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if disable_link_preview:
            params["link_preview_options"] = {"is_disabled": True}
        if reply_markup is not None:
            params["reply_markup"] = reply_markup.to_json()
        sent: SentMessage = self._typed("sendMessage", params, _sent_message)
        return sent

    def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboard | None = None,
        disable_link_preview: bool = True,
    ) -> bool:
        """Rewrite a message; without reply_markup its inline buttons are removed.

        False when it already read exactly so ("message is not modified")."""
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text}
        if disable_link_preview:
            params["link_preview_options"] = {"is_disabled": True}
        if reply_markup is not None:
            params["reply_markup"] = reply_markup.to_json()
        return self._edit("editMessageText", params)

    def edit_message_reply_markup(
        self, chat_id: int, message_id: int, reply_markup: InlineKeyboard | None = None
    ) -> bool:
        """Replace a message's buttons; None removes them. False when nothing changed."""
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id}
        if reply_markup is not None:
            params["reply_markup"] = reply_markup.to_json()
        return self._edit("editMessageReplyMarkup", params)

    def send_location(
        self, chat_id: int, latitude: float, longitude: float, *, horizontal_accuracy_m: float | None = None
    ) -> SentMessage:
        """A map pin; horizontal_accuracy_m (0-1500) draws it as an approximate place."""
        _check_point(latitude, longitude)
        params: dict[str, Any] = {"chat_id": chat_id, "latitude": latitude, "longitude": longitude}
        if horizontal_accuracy_m is not None:
            params["horizontal_accuracy"] = min(max(float(horizontal_accuracy_m), 0.0), float(MAX_LOCATION_ACCURACY_M))
        sent: SentMessage = self._typed("sendLocation", params, _sent_message)
        return sent

    def send_venue(self, chat_id: int, latitude: float, longitude: float, title: str, address: str) -> SentMessage:
        """A map pin with a title and an address under it."""
        _check_point(latitude, longitude)
        params = {"chat_id": chat_id, "latitude": latitude, "longitude": longitude, "title": title, "address": address}
        sent: SentMessage = self._typed("sendVenue", params, _sent_message)
        return sent

    def answer_callback_query(
        self, callback_query_id: str, *, text: str | None = None, show_alert: bool = False
    ) -> bool:
        """Stop the pressed button's spinner, optionally with a short notice (200 characters)."""
        params: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            params["text"] = text[:MAX_CALLBACK_ANSWER_CHARS]
        if show_alert:
            params["show_alert"] = True
        return self.call("answerCallbackQuery", params) is True

    # --- set-up ------------------------------------------------------------------------

    def set_webhook(
        self,
        url: str,
        *,
        secret_token: str,
        allowed_updates: Sequence[str] = DEFAULT_ALLOWED_UPDATES,
        drop_pending_updates: bool = False,
        max_connections: int | None = None,
    ) -> bool:
        params: dict[str, Any] = {
            "url": url,
            "secret_token": secret_token,
            "allowed_updates": list(allowed_updates),
            "drop_pending_updates": drop_pending_updates,
        }
        if max_connections is not None:
            params["max_connections"] = max_connections
        return self.call("setWebhook", params) is True

    def delete_webhook(self, *, drop_pending_updates: bool = False) -> bool:
        return self.call("deleteWebhook", {"drop_pending_updates": drop_pending_updates}) is True

    def get_webhook_info(self) -> WebhookInfo:
        info: WebhookInfo = self._typed("getWebhookInfo", {}, _webhook_info)
        return info

    def get_me(self) -> BotUser:
        me: BotUser = self._typed("getMe", {}, _bot_user)
        return me


def _check_point(latitude: float, longitude: float) -> None:
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        raise ValueError(f"not a place on Earth: {latitude}, {longitude}")


# --- The channel -----------------------------------------------------------------------------
def message_ref(chat_id: int, message_id: int) -> str:
    """The provider id of a sent message: "tg:<chat_id>:<message_id>", all an edit needs."""
    return f"tg:{chat_id}:{message_id}"


def parse_message_ref(provider_id: str) -> tuple[int, int]:
    """ "tg:123:45" -> (123, 45); ValueError for anything else."""
    match = _MESSAGE_REF.match(provider_id)
    if match is None:
        raise ValueError(f"not a Telegram message id: {provider_id!r}")
    return int(match[1]), int(match[2])


def parse_chat_id(to: str | int) -> int:
    """A chat id as stored ("123456789", "-100..."); ValueError for anything else."""
    if isinstance(to, bool):
        raise ValueError("not a chat id")
    value = to if isinstance(to, int) else int(str(to).strip(), 10)
    if value == 0 or abs(value) > _MAX_CHAT_ID:
        raise ValueError(f"not a chat id: {to!r}")
    return value


def _chat(to: str | int) -> int:
    try:
        return parse_chat_id(to)
    except ValueError:
        raise TelegramPermanent(f"not a Telegram chat id: {str(to)[:40]!r}", reason="invalid_chat") from None


class TelegramChannel:
    """The outbox's view of Telegram: the gateway protocol's send(), plus pins and edits.

    send() takes the same arguments as an SMS gateway so the outbox can call every channel
    alike; status_callback and validity_s have no Telegram counterpart and are ignored.
    Telegram has no idempotency key either: idempotency_key is accepted for the protocol's
    sake and only logged, so a send retried after a TelegramAmbiguous may show twice.
    A message the Bot API accepted counts as delivered (API.md, Channels).
    """

    provider = PROVIDER

    def __init__(self, api: TelegramBotApi) -> None:
        self.api = api

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
        """A message with inline buttons, or with a reply keyboard (the contact request) or its removal."""
        chat_id = _chat(to)
        try:
            sent = self.api.send_message(chat_id, body, reply_markup=buttons)
        except TelegramError as exc:
            _log.warning("Telegram message to chat %s failed (%s): %s", chat_id, type(exc).__name__, exc)
            raise
        _log.info("Telegram message %s to chat %s sent (key %s)", sent.message_id, chat_id, idempotency_key or "-")
        return SendResult(provider_id=message_ref(sent.chat_id, sent.message_id), status="delivered")

    def send_pin(self, to: str, latitude: float, longitude: float, *, accuracy_m: float | None = None) -> SendResult:
        """A map pin of the (approximate) place, sent right after a call-out."""
        sent = self.api.send_location(_chat(to), latitude, longitude, horizontal_accuracy_m=accuracy_m)
        return SendResult(provider_id=message_ref(sent.chat_id, sent.message_id), status="delivered")

    def close_buttons(self, provider_id: str, text: str | None = None) -> bool:
        """When an alert ends: rewrite the call-out (if text) and take its buttons away, so a
        press cannot come after it matters. False when it already read so."""
        chat_id, message_id = parse_message_ref(provider_id)
        if text is None:
            return self.api.edit_message_reply_markup(chat_id, message_id, None)
        return self.api.edit_message_text(chat_id, message_id, text)

    def answer_button(self, callback_query_id: str, text: str | None = None) -> bool:
        """Stop a pressed button's spinner, with a short notice."""
        return self.api.answer_callback_query(callback_query_id, text=text)
