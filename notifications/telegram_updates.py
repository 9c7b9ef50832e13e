"""Reads what Telegram posts to our webhook: the secret header check and typed updates.

Check the secret (verify_webhook_secret) on the raw request before anything is parsed, then
parse_update(raw_body). Only what the channel acts on is kept, each piece bounded; whatever
else Telegram may send becomes an UnknownUpdate, never an error, so the webhook can answer it
2xx (Telegram re-delivers anything else forever).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_UPDATE_BYTES",
    "CallbackQuery",
    "ChatMemberChange",
    "Contact",
    "MalformedUpdate",
    "Message",
    "MessageRef",
    "UnknownUpdate",
    "Update",
    "UpdateError",
    "UpdateTooLarge",
    "parse_update",
    "verify_webhook_secret",
]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A text message is at most 4096 characters, \u-escaped at most 6 bytes each, plus its
# entities and a quoted reply: 64 KiB is ample; anything bigger is not an update we want.
MAX_UPDATE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 4096  # Telegram's own limit, in UTF-16 code units
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ID_CHARS = 64
MAX_PHONE_CHARS = 32
MAX_LANGUAGE_CHARS = 35  # an IETF language tag
MAX_STATUS_CHARS = 32
_MAX_ID = 2**53 - 1  # Telegram promises 52 significant bits for ids


class UpdateError(ValueError):
    """The body is not an update we can read. The message says what is wrong, never the body."""


class MalformedUpdate(UpdateError):
    pass


class UpdateTooLarge(UpdateError):
    pass


def verify_webhook_secret(header_value: str | None, expected: str) -> bool:
    """The X-Telegram-Bot-Api-Secret-Token header equals our secret (constant time).

    An empty configured secret never matches: no secret must never mean "anyone"."""
    if not expected or header_value is None:
        return False
    return hmac.compare_digest(header_value.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


# --- The typed updates -----------------------------------------------------------------------
@dataclass(frozen=True)
class Contact:
    """A shared contact. user_id is the Telegram user it belongs to, when it is one."""

    phone_number: str
    user_id: int | None


@dataclass(frozen=True)
class Message:
    update_id: int
    message_id: int
    chat_id: int
    chat_type: str  # "private" for a volunteer talking to the bot
    from_id: int | None  # absent for messages sent on behalf of a channel
    language_code: str | None  # the sender's Telegram app language, e.g. "ru"
    text: str | None
    contact: Contact | None
    date: int

    @property
    def own_phone(self) -> str | None:
        """The phone number the sender proved is theirs: a shared contact counts only when it
        is the sender's own (contact.user_id == from.id), never someone else's card."""
        if self.contact is not None and self.from_id is not None and self.contact.user_id == self.from_id:
            return self.contact.phone_number
        return None

    @property
    def start_payload(self) -> str | None:
        """The code after /start (a deep link t.me/<bot>?start=<code>), or None."""
        if self.text is None:
            return None
        command, _, rest = self.text.strip().partition(" ")
        if command.split("@", 1)[0] != "/start":
            return None
        return rest.strip() or None


@dataclass(frozen=True)
class MessageRef:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class CallbackQuery:
    """A press on one of our inline buttons. Answer it (answerCallbackQuery) or it spins."""

    update_id: int
    callback_query_id: str
    from_id: int
    message: MessageRef | None  # None for inline-mode messages, which we never send
    data: str | None


@dataclass(frozen=True)
class ChatMemberChange:
    """The bot's membership in a chat changed: "kicked" in a private chat is a block."""

    update_id: int
    chat_id: int
    from_id: int
    old_status: str
    new_status: str

    @property
    def blocked(self) -> bool:
        return self.new_status == "kicked"

    @property
    def unblocked(self) -> bool:
        return self.old_status == "kicked" and self.new_status == "member"


@dataclass(frozen=True)
class UnknownUpdate:
    """An update of a kind we do not act on (edited_message, poll, ...): acknowledge, ignore."""

    update_id: int
    kind: str


Update = Message | CallbackQuery | ChatMemberChange | UnknownUpdate


# --- Parsing ---------------------------------------------------------------------------------
def _reject_constant(name: str) -> None:
    raise MalformedUpdate(f"not JSON: {name} is not a number")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedUpdate(f"{where} must be an object")
    return value


def _id(obj: Mapping[str, Any], name: str, where: str, *, positive: bool = False) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedUpdate(f"{where}.{name} must be an integer")
    if abs(value) > _MAX_ID or (positive and value <= 0) or value == 0:
        raise MalformedUpdate(f"{where}.{name} is out of range")
    return value


def _optional_id(obj: Mapping[str, Any], name: str, where: str) -> int | None:
    return None if obj.get(name) is None else _id(obj, name, where)


def _string(obj: Mapping[str, Any], name: str, where: str, *, max_chars: int, utf16: bool = False) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedUpdate(f"{where}.{name} must be a string")
    size = len(value.encode("utf-16-le", "surrogatepass")) // 2 if utf16 else len(value)
    if size > max_chars:
        raise MalformedUpdate(f"{where}.{name} is longer than {max_chars} characters")
    if "\x00" in value:
        raise MalformedUpdate(f"{where}.{name} contains a NUL character")
    return value


def _required_string(obj: Mapping[str, Any], name: str, where: str, *, max_chars: int) -> str:
    value = _string(obj, name, where, max_chars=max_chars)
    if not value:
        raise MalformedUpdate(f"{where}.{name} is required")
    return value


def _from_id(obj: Mapping[str, Any], where: str) -> tuple[int | None, str | None]:
    sender = obj.get("from")
    if sender is None:
        return None, None
    sender = _object(sender, f"{where}.from")
    return (
        _id(sender, "id", f"{where}.from", positive=True),
        _string(sender, "language_code", f"{where}.from", max_chars=MAX_LANGUAGE_CHARS),
    )


def _message(update_id: int, raw: Any) -> Message:
    obj = _object(raw, "message")
    chat = _object(obj.get("chat"), "message.chat")
    from_id, language = _from_id(obj, "message")
    contact = None
    if obj.get("contact") is not None:
        raw_contact = _object(obj["contact"], "message.contact")
        contact = Contact(
            phone_number=_required_string(raw_contact, "phone_number", "message.contact", max_chars=MAX_PHONE_CHARS),
            user_id=_optional_id(raw_contact, "user_id", "message.contact"),
        )
    date = obj.get("date")
    return Message(
        update_id=update_id,
        message_id=_id(obj, "message_id", "message", positive=True),
        chat_id=_id(chat, "id", "message.chat"),
        chat_type=_string(chat, "type", "message.chat", max_chars=MAX_STATUS_CHARS) or "",
        from_id=from_id,
        language_code=language,
        text=_string(obj, "text", "message", max_chars=MAX_TEXT_CHARS, utf16=True),
        contact=contact,
        date=date if isinstance(date, int) and not isinstance(date, bool) else 0,
    )


def _callback_query(update_id: int, raw: Any) -> CallbackQuery:
    obj = _object(raw, "callback_query")
    from_id, _ = _from_id(obj, "callback_query")
    if from_id is None:
        raise MalformedUpdate("callback_query.from is required")
    ref = None
    if obj.get("message") is not None:
        message = _object(obj["message"], "callback_query.message")
        chat = _object(message.get("chat"), "callback_query.message.chat")
        ref = MessageRef(
            chat_id=_id(chat, "id", "callback_query.message.chat"),
            message_id=_id(message, "message_id", "callback_query.message", positive=True),
        )
    data = obj.get("data")
    if data is not None:
        if not isinstance(data, str):
            raise MalformedUpdate("callback_query.data must be a string")
        if len(data.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_DATA_BYTES:
            raise MalformedUpdate(f"callback_query.data is longer than {MAX_CALLBACK_DATA_BYTES} bytes")
    return CallbackQuery(
        update_id=update_id,
        callback_query_id=_required_string(obj, "id", "callback_query", max_chars=MAX_CALLBACK_ID_CHARS),
        from_id=from_id,
        message=ref,
        data=data,
    )


def _chat_member(update_id: int, raw: Any) -> ChatMemberChange:
    obj = _object(raw, "my_chat_member")
    chat = _object(obj.get("chat"), "my_chat_member.chat")
    from_id, _ = _from_id(obj, "my_chat_member")
    if from_id is None:
        raise MalformedUpdate("my_chat_member.from is required")

    def status(name: str) -> str:
        member = _object(obj.get(name), f"my_chat_member.{name}")
        return _required_string(member, "status", f"my_chat_member.{name}", max_chars=MAX_STATUS_CHARS)

    return ChatMemberChange(
        update_id=update_id,
        chat_id=_id(chat, "id", "my_chat_member.chat"),
        from_id=from_id,
        old_status=status("old_chat_member"),
        new_status=status("new_chat_member"),
    )


def parse_update(raw: bytes | str) -> Update:
    """The typed update in a webhook body; UpdateTooLarge or MalformedUpdate when it is none."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_UPDATE_BYTES:
        raise UpdateTooLarge(f"update is larger than {MAX_UPDATE_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise MalformedUpdate("not UTF-8") from None
    except RecursionError:
        raise MalformedUpdate("not JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise MalformedUpdate(f"not JSON: {exc.msg} at character {exc.pos}") from None
    update = _object(document, "update")
    update_id = _id(update, "update_id", "update", positive=True)
    kinds = [key for key in update if key != "update_id"]
    if len(kinds) != 1:
        # Telegram sends exactly one optional field per update.
        raise MalformedUpdate("an update carries exactly one kind of content")
    kind = kinds[0]
    if kind == "message":
        return _message(update_id, update[kind])
    if kind == "callback_query":
        return _callback_query(update_id, update[kind])
    if kind == "my_chat_member":
        return _chat_member(update_id, update[kind])
    # Bounded like the rest: the kind name is echoed in logs and audits.
    return UnknownUpdate(update_id=update_id, kind=kind[:MAX_STATUS_CHARS])
