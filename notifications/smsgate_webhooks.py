"""SMSGate webhook events: check the signature over the raw bytes, then parse into dataclasses.

The phone POSTs JSON `{"id", "event", "deviceId", "webhookId", "payload": {...}}` with headers
`X-Signature` (hex HMAC-SHA256 of the raw body followed by the `X-Timestamp` string, keyed with
the signing key set in the app) and `X-Timestamp` (Unix seconds). Call verify_signature on the
exact bytes received before parsing anything, then parse_event.

Deduplicate on the event's `id`: the app retries a webhook that gets no 2xx (at least once,
possibly late and out of order), and a received SMS's `payload.messageId` is derived from its
content, so two identical texts share it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from notifications.phones import InvalidPhone, normalize_phone

__all__ = [
    "EVENT_DELIVERED",
    "EVENT_FAILED",
    "EVENT_RECEIVED",
    "EVENT_SENT",
    "EVENT_UNKNOWN",
    "MAX_EVENT_BYTES",
    "MAX_ID_CHARS",
    "MAX_SKEW_S",
    "MAX_TEXT_CHARS",
    "DeliveryReport",
    "MalformedEvent",
    "ReceivedSms",
    "SignatureInvalid",
    "SmsGateEvent",
    "SmsGateWebhookError",
    "normalize_reported_phone",
    "parse_event",
    "sign",
    "verify_signature",
]

EVENT_RECEIVED = "sms:received"
EVENT_SENT = "sms:sent"
EVENT_DELIVERED = "sms:delivered"
EVENT_FAILED = "sms:failed"
EVENT_UNKNOWN = "unknown"  # system:ping, MMS and data-SMS events, anything newer
_DELIVERY_EVENTS = {EVENT_SENT: "sentAt", EVENT_DELIVERED: "deliveredAt", EVENT_FAILED: "failedAt"}

MAX_SKEW_S = 300  # a timestamp more than 5 minutes from now is a replay (or a wrong clock)
MAX_EVENT_BYTES = 64 * 1024  # one SMS event is well under 4 KiB; the route's body limit too
MAX_ID_CHARS = 64  # event ids, message ids, device and webhook ids (nanoids/UUIDs: 21-36)
MAX_PHONE_CHARS = 64  # a sender may be a short code or a name ("Kcell"), never long
MAX_TEXT_CHARS = 1600  # longer texts are cut (and flagged): what the inbox stores
_MAX_REASON_CHARS = 300
_MAX_TIMESTAMP_DIGITS = 12
_SIGNATURE_HEX_CHARS = 64


class SmsGateWebhookError(ValueError):
    """A webhook request to refuse; `reason` is a short machine word for the audit log."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class SignatureInvalid(SmsGateWebhookError):
    """Not from the phone, or too old/new: reason is missing | malformed | mismatch | stale | future."""


class MalformedEvent(SmsGateWebhookError):
    """Signed but unusable: reason is too_large | not_json | not_object | missing | invalid;
    `field` names the offending field when there is one."""

    def __init__(self, message: str, *, reason: str, field: str | None = None):
        super().__init__(message, reason=reason)
        self.field = field


# --- signature ---------------------------------------------------------------------------


def sign(body: bytes, timestamp: str, signing_key: str) -> str:
    """The X-Signature the app sends: hex HMAC-SHA256 of body + timestamp (fakes use this)."""
    return hmac.new(signing_key.encode("utf-8"), body + timestamp.encode("ascii"), hashlib.sha256).hexdigest()


def verify_signature(
    body: bytes,
    *,
    signature: str | None,
    timestamp: str | None,
    signing_key: str,
    now: float,
    max_skew_s: int = MAX_SKEW_S,
) -> int:
    """Raise SignatureInvalid unless the headers sign exactly these bytes within the window.

    `now` is Unix seconds. Returns the timestamp. The MAC is checked (in constant time) before
    the window, so a forged request is reported as forged whatever its timestamp says.
    """
    if not signing_key:
        # An empty key would make every forger's job trivial: refuse, never accept.
        raise SignatureInvalid("no signing key is configured", reason="missing")
    if not signature or not timestamp:
        raise SignatureInvalid("X-Signature and X-Timestamp are required", reason="missing")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        raise SignatureInvalid("X-Timestamp is not Unix seconds", reason="malformed")
    expected = sign(body, timestamp, signing_key)
    given = signature.strip().lower()
    if len(given) != _SIGNATURE_HEX_CHARS or not given.isascii():
        raise SignatureInvalid("X-Signature is not a hex HMAC-SHA256", reason="malformed")
    if not hmac.compare_digest(given.encode("ascii"), expected.encode("ascii")):
        raise SignatureInvalid("X-Signature does not match the body", reason="mismatch")
    sent_at = int(timestamp)
    if sent_at < now - max_skew_s:
        raise SignatureInvalid("X-Timestamp is more than 5 minutes old", reason="stale")
    if sent_at > now + max_skew_s:
        raise SignatureInvalid("X-Timestamp is more than 5 minutes ahead", reason="future")
    return sent_at


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedSms:
    """sms:received: a text to the phone's SIM."""

    message_id: str  # derived from the content by the app: NOT unique, never deduplicate on it
    phone_raw: str  # the sender as the phone reports it, e.g. "77012345678"
    phone: str | None  # E.164, or None for a sender that is no mobile number (short code, name)
    text: str  # at most MAX_TEXT_CHARS
    text_truncated: bool
    received_at: datetime | None  # aware, UTC (the app sends device-local time with an offset)
    sim_number: int | None


@dataclass(frozen=True)
class DeliveryReport:
    """sms:sent / sms:delivered / sms:failed for a message we sent."""

    message_id: str  # the id the service chose when sending (SendResult.provider_id)
    status: str  # "sent" | "delivered" | "failed"
    phone_raw: str | None  # the recipient as the phone reports it
    phone: str | None  # E.164 when it is one
    at: datetime | None  # sentAt / deliveredAt / failedAt, aware UTC
    reason: str | None  # sms:failed's reason, e.g. "RESULT_ERROR_GENERIC_FAILURE"
    sim_number: int | None


@dataclass(frozen=True)
class SmsGateEvent:
    id: str  # the event's id: deduplicate on this
    event: str  # EVENT_RECEIVED | EVENT_SENT | EVENT_DELIVERED | EVENT_FAILED | EVENT_UNKNOWN
    raw_event: str  # the event name as sent, e.g. "system:ping"
    device_id: str | None
    webhook_id: str | None
    payload: ReceivedSms | DeliveryReport | None  # None for unknown events


def normalize_reported_phone(raw: str, default_region: str) -> str | None:
    """A number as the phone reports it -> E.164, or None when it is no mobile number.

    Phones often drop the '+': "77012345678" and "87012345678" read in the default region;
    digits that do not (a foreign "79161234567" in region KZ) are tried with a '+'.
    """
    text = raw.strip()
    try:
        return normalize_phone(text, default_region)
    except InvalidPhone:
        pass
    if text.isascii() and text.isdigit():
        try:
            return normalize_phone("+" + text, default_region)
        except InvalidPhone:
            return None
    return None


def parse_event(body: bytes, *, default_region: str) -> SmsGateEvent:
    """The verified raw body -> SmsGateEvent; MalformedEvent says what is wrong."""
    if len(body) > MAX_EVENT_BYTES:
        raise MalformedEvent(f"event is larger than {MAX_EVENT_BYTES} bytes", reason="too_large")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError is a ValueError
        raise MalformedEvent("event is not UTF-8 JSON", reason="not_json") from None
    except RecursionError:
        raise MalformedEvent("event is nested too deeply", reason="not_json") from None
    if not isinstance(data, dict):
        raise MalformedEvent("event is not a JSON object", reason="not_object")
    event_id = _required(data, "id")
    raw_event = _required(data, "event")
    device_id = _optional(data, "deviceId")
    webhook_id = _optional(data, "webhookId")
    payload: ReceivedSms | DeliveryReport | None
    if raw_event == EVENT_RECEIVED:
        payload = _received(_payload(data), default_region)
        event = EVENT_RECEIVED
    elif raw_event in _DELIVERY_EVENTS:
        payload = _delivery(_payload(data), raw_event, default_region)
        event = raw_event
    else:
        payload, event = None, EVENT_UNKNOWN
    return SmsGateEvent(event_id, event, raw_event, device_id, webhook_id, payload)


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise MalformedEvent(
            "payload must be an object", reason="missing" if payload is None else "invalid", field="payload"
        )
    return payload


def _received(payload: dict[str, Any], region: str) -> ReceivedSms:
    message_id = _required(payload, "messageId", where="payload.")
    phone_raw = _required(payload, "phoneNumber", MAX_PHONE_CHARS, where="payload.")
    text = payload.get("message")
    if not isinstance(text, str):
        raise MalformedEvent(
            "payload.message must be a string", reason="missing" if text is None else "invalid", field="payload.message"
        )
    return ReceivedSms(
        message_id=message_id,
        phone_raw=phone_raw,
        phone=normalize_reported_phone(phone_raw, region),
        text=text[:MAX_TEXT_CHARS],
        text_truncated=len(text) > MAX_TEXT_CHARS,
        received_at=_time(payload, "receivedAt"),
        sim_number=_sim(payload),
    )


def _delivery(payload: dict[str, Any], event: str, region: str) -> DeliveryReport:
    message_id = _required(payload, "messageId", where="payload.")
    phone_raw = _optional(payload, "phoneNumber", MAX_PHONE_CHARS, where="payload.")
    reason = payload.get("reason") if event == EVENT_FAILED else None
    if reason is not None and not isinstance(reason, str):
        raise MalformedEvent("payload.reason must be a string", reason="invalid", field="payload.reason")
    return DeliveryReport(
        message_id=message_id,
        status=event.removeprefix("sms:"),
        phone_raw=phone_raw,
        phone=normalize_reported_phone(phone_raw, region) if phone_raw else None,
        at=_time(payload, _DELIVERY_EVENTS[event]),
        reason=reason[:_MAX_REASON_CHARS] if reason else None,
        sim_number=_sim(payload),
    )


def _optional(data: dict[str, Any], name: str, max_chars: int = MAX_ID_CHARS, *, where: str = "") -> str | None:
    """A bounded, printable, non-blank string field, or None when it is absent (or null)."""
    value = data.get(name)
    field = where + name
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{field} must be a non-empty string", reason="invalid", field=field)
    if len(value) > max_chars:
        raise MalformedEvent(f"{field} is longer than {max_chars} characters", reason="invalid", field=field)
    if not value.isprintable():  # ids and numbers end up in logs: no line breaks, no escapes
        raise MalformedEvent(f"{field} has control characters", reason="invalid", field=field)
    return value


def _required(data: dict[str, Any], name: str, max_chars: int = MAX_ID_CHARS, *, where: str = "") -> str:
    value = _optional(data, name, max_chars, where=where)
    if value is None:
        raise MalformedEvent(f"{where}{name} is required", reason="missing", field=where + name)
    return value


def _time(payload: dict[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value is None:
        return None
    field = f"payload.{name}"
    if not isinstance(value, str) or len(value) > 40:
        raise MalformedEvent(f"{field} must be an ISO 8601 time", reason="invalid", field=field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedEvent(f"{field} must be an ISO 8601 time", reason="invalid", field=field) from None
    if parsed.tzinfo is None:
        # Device-local time without its offset cannot be placed on the timeline.
        raise MalformedEvent(f"{field} has no UTC offset", reason="invalid", field=field)
    return parsed.astimezone(UTC)


def _sim(payload: dict[str, Any]) -> int | None:
    value = payload.get("simNumber")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise MalformedEvent("payload.simNumber must be a SIM slot number", reason="invalid", field="payload.simNumber")
    return value
