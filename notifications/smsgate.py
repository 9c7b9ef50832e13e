"""Sends SMS through SMS Gateway for Android ("SMSGate"): an Android phone with a local SIM.

The caller chooses the message `id` (an idempotency key, e.g. the outbox row's own key), so a
retry after a crash or a timeout can never send twice: the gateway refuses a second message
with the same id (409), which here means "the first attempt went through" and is a success.
Because of that, an SMSGate send with a key is never ambiguous: a 5xx, a read timeout or a
reset connection is simply retryable. Without a key a random id is used and those stay
ambiguous, as with Twilio. The key must never be reused for another SMS at that phone (it
remembers ids): a random token stored on the outbox row, not a row number that starts again
with a new database. A 409 whose stored recipient differs is refused as `id_conflict`.

`SMSGATE_URL` is either a phone's local server (`http://IP:8080`) or a cloud/private server
(`https://api.sms-gate.app/3rdparty/v1`); the paths below it (`/messages`, `/messages/{id}`,
`/webhooks`, `/health`) are the same in every mode (../shared/sms-gate/smsgate_api.json).

Why a small client on `requests` rather than the `android-sms-gateway` library (4.3.3): its
requests transport posts without any timeout (a phone that stops answering would hang a sender
thread for ever, and the only cure is writing its transport ourselves); it ships no `py.typed`
(untyped for mypy); it turns every status into a generic `APIError` and lets transport errors
through raw, so the retry/permanent mapping would be ours anyway; it parses an accepted
answer strictly (a missing field or an unknown state raises after the phone took the message);
and it has nothing for webhook signatures. What it would add is a dataclass for five JSON
fields. Twilio's `requests` is already here, so no new dependency.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests import exceptions as requests_errors

from notifications.gateway import (
    SendResult,
    SmsAmbiguous,
    SmsError,
    SmsPermanent,
    SmsRetryable,
    _connection_never_opened,
    _no_retry_adapter,
    mask_phone,
)

__all__ = [
    "MAX_MESSAGE_ID_CHARS",
    "MIN_TTL_S",
    "WEBHOOK_EVENTS",
    "MessageState",
    "RecipientState",
    "SmsGateGateway",
    "is_valid_message_id",
]

_log = logging.getLogger(__name__)

MAX_MESSAGE_ID_CHARS = 36  # smsgateway.Message.id maxLength
MIN_TTL_S = 5  # smsgateway.Message.ttl minimum
# Ids go into a URL path (GET /messages/{id}) and the outbox's provider_id: keep them plain.
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,36}$")
_MAX_ERROR_TEXT = 200  # how much of the server's error message goes into our exception
WEBHOOK_EVENTS = ("sms:received", "sms:sent", "sms:delivered", "sms:failed", "system:ping")
_ACCEPTED_STATES = {"pending", "processed", "sent", "delivered", "failed"}


def is_valid_message_id(value: object) -> bool:
    """An id SMSGate takes and that is safe in a URL path: 1-36 of A-Z a-z 0-9 _ . : -"""
    return isinstance(value, str) and _MESSAGE_ID.match(value) is not None


@dataclass(frozen=True)
class RecipientState:
    phone_number: str  # as the server reports it (no '+', or a hash once it hashed its records)
    state: str  # pending | processed | sent | delivered | failed (lower case)
    error: str | None


@dataclass(frozen=True)
class MessageState:
    """GET /messages/{id}: the message's state and each recipient's."""

    id: str
    state: str  # pending | processed | sent | delivered | failed (lower case)
    recipients: tuple[RecipientState, ...]
    is_hashed: bool  # the server replaced phone numbers by hashes (its privacy setting)

    @classmethod
    def from_json(cls, data: object, fallback_id: str) -> MessageState:
        """Lenient: the state of a message the phone took must never turn into an error."""
        if not isinstance(data, dict):
            return cls(fallback_id, "pending", (), False)
        recipients = []
        for item in data.get("recipients") or ():
            if isinstance(item, dict) and isinstance(item.get("phoneNumber"), str):
                error = item.get("error")
                recipients.append(
                    RecipientState(
                        item["phoneNumber"],
                        _state(item.get("state")),
                        error[:_MAX_ERROR_TEXT] if isinstance(error, str) else None,
                    )
                )
        given_id = data.get("id")
        return cls(
            given_id if isinstance(given_id, str) and is_valid_message_id(given_id) else fallback_id,
            _state(data.get("state")),
            tuple(recipients),
            data.get("isHashed") is True,
        )


def _state(value: object) -> str:
    text = value.lower() if isinstance(value, str) else ""
    return text if text in _ACCEPTED_STATES else "pending"


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _error_text(response: requests.Response) -> tuple[str, int | None]:
    """The server's smsgateway.ErrorResponse message and code, bounded; "" when there is none."""
    try:
        data = response.json()
    except ValueError:
        return "", None
    if not isinstance(data, dict):
        return "", None
    message = data.get("message")
    code = data.get("code")
    return (
        message[:_MAX_ERROR_TEXT] if isinstance(message, str) else "",
        code if isinstance(code, int) and not isinstance(code, bool) else None,
    )


def _from_status(response: requests.Response, *, idempotent: bool) -> SmsError:
    """What an HTTP error answer means for the outbox."""
    status = response.status_code
    detail, code = _error_text(response)
    text = f"SMSGate answered HTTP {status}" + (f": {detail}" if detail else "")
    if status in (408, 429):  # not acted on: too fast, or our request came too slowly
        return SmsRetryable(text, code=code, status=status)
    if status == 503:  # "queue limits exceeded; ensure device is online": nothing enqueued
        return SmsRetryable(text, code=code, status=status)
    if status >= 500:
        # The request arrived and something broke; with our own id a retry cannot duplicate.
        cls = SmsRetryable if idempotent else SmsAmbiguous
        return cls(text, code=code, status=status)
    if status == 401:
        return SmsPermanent(text, reason="auth_failed", code=code, status=status)
    if status == 403:
        return SmsPermanent(text, reason="forbidden", code=code, status=status)
    if status in (404, 405) or 300 <= status < 400:
        # SMSGATE_URL points somewhere that is not the messages API (a missing /3rdparty/v1,
        # a redirect to a login page): every send will fail alike.
        return SmsPermanent(text, reason="config", code=code, status=status)
    return SmsPermanent(text, reason="rejected", code=code, status=status)


def _from_transport_error(exc: requests_errors.RequestException, *, idempotent: bool) -> SmsError:
    if isinstance(
        exc,
        (
            requests_errors.ConnectionError,
            requests_errors.Timeout,
            requests_errors.ChunkedEncodingError,
            requests_errors.ContentDecodingError,
        ),
    ):
        never_opened = isinstance(exc, requests_errors.ConnectionError) and _connection_never_opened(exc)
        if idempotent or never_opened:
            return SmsRetryable(f"no answer from SMSGate: {exc}")
        return SmsAmbiguous(f"no complete answer from SMSGate: {exc}")
    # InvalidURL, MissingSchema and the like: our configuration, not the network.
    return SmsPermanent(f"request to SMSGate could not be made: {exc}", reason="config")


class SmsGateGateway:
    """SMS Gateway for Android's REST API with HTTP Basic auth; one HTTP attempt a send.

    One `requests.Session` per gateway, created once: its keep-alive pool reuses connections to
    the phone across sends and threads (the outbox's concurrent senders share this object).
    """

    idempotent = True  # with an idempotency_key (the message id) a send can never go out twice

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float | None = None,
        with_delivery_report: bool = True,
        sim_number: int | None = None,
        priority: int | None = None,
        pool_size: int = 10,
    ) -> None:
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"SMSGate base URL must be http(s)://host[:port][/path], got {base_url!r}")
        if not username or not password:
            raise ValueError("SmsGateGateway needs a username and a password (HTTP Basic auth)")
        if sim_number is not None and not 1 <= sim_number <= 3:
            raise ValueError("sim_number is 1, 2 or 3")
        self.base_url = base_url.rstrip("/")
        self.with_delivery_report = with_delivery_report
        self.sim_number = sim_number
        self.priority = priority  # >= 100 bypasses the phone's own limits and delays
        connect_s = timeout_s if connect_timeout_s is None else connect_timeout_s
        self._timeout = (connect_s, timeout_s)
        session = requests.Session()
        session.auth = (username, password)
        session.headers.update({"Accept": "application/json"})
        for prefix in ("http://", "https://"):
            # No urllib3 retries: a silent resend of a POST is the outbox's decision, not ours.
            adapter = _no_retry_adapter()
            adapter.init_poolmanager(pool_size, pool_size)
            session.mount(prefix, adapter)
        self._session = session

    def close(self) -> None:
        self._session.close()

    # --- sending -----------------------------------------------------------------------

    def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_s: int | None = None,
        idempotency_key: str | None = None,
    ) -> SendResult:
        """Enqueue one SMS on the phone; provider_id is the message id (the key when given).

        status_callback is ignored: SMSGate reports delivery through its registered webhooks
        (sms:sent / sms:delivered / sms:failed carry this id). validity_s becomes the `ttl`.
        """
        if idempotency_key is not None and not is_valid_message_id(idempotency_key):
            raise ValueError(
                f"idempotency_key must be 1-{MAX_MESSAGE_ID_CHARS} characters of "
                f"A-Z a-z 0-9 _ . : -, got {idempotency_key!r}"
            )
        idempotent = idempotency_key is not None
        message_id = idempotency_key or uuid.uuid4().hex
        payload: dict[str, Any] = {
            "id": message_id,
            "phoneNumbers": [to],
            "textMessage": {"text": body},
            "withDeliveryReport": self.with_delivery_report,
        }
        if validity_s is not None:
            payload["ttl"] = max(int(validity_s), MIN_TTL_S)
        if self.sim_number is not None:
            payload["simNumber"] = self.sim_number
        if self.priority is not None:
            payload["priority"] = self.priority
        try:
            try:
                response = self._session.post(
                    f"{self.base_url}/messages", json=payload, timeout=self._timeout, allow_redirects=False
                )
            except requests_errors.RequestException as exc:
                raise _from_transport_error(exc, idempotent=idempotent) from exc
            result = self._send_result(response, message_id, to, idempotent=idempotent)
        except SmsError as error:
            _log.warning("SMS %s to %s failed: %s: %s", message_id, mask_phone(to), type(error).__name__, error)
            raise
        _log.info("SMS to %s accepted by SMSGate as %s (%s)", mask_phone(to), result.provider_id, result.status)
        return result

    def _send_result(self, response: requests.Response, message_id: str, to: str, *, idempotent: bool) -> SendResult:
        if response.status_code == 409:
            return self._already_there(message_id, to)
        if not 200 <= response.status_code < 300:
            raise _from_status(response, idempotent=idempotent)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # A 2xx that is not the API's answer (a captive portal, a proxy page): we cannot
            # tell whether the phone has it. With our id, asking again settles it (409 or sent).
            text = f"SMSGate answered HTTP {response.status_code} without a message state"
            cls = SmsRetryable if idempotent else SmsAmbiguous
            raise cls(text, status=response.status_code)
        state = MessageState.from_json(data, message_id)
        if state.id != message_id:
            # An old server that ignores the id: its webhooks will name its own id.
            _log.warning("SMSGate chose its own id %s for message %s", state.id, message_id)
        return SendResult(provider_id=state.id, status=state.state)

    def _already_there(self, message_id: str, to: str) -> SendResult:
        """409: a message with this id exists, i.e. an earlier attempt went through.

        Its state is read to be sure it is the same recipient: an id reused for someone else
        (a key that was not unique) must not be mistaken for this SMS having been sent.
        """
        try:
            state = self.message_state(message_id)
        except SmsError as exc:
            _log.info("SMS %s was already accepted (409); its state is unknown: %s", message_id, exc)
            return SendResult(provider_id=message_id, status="pending")
        plain = [r.phone_number for r in state.recipients] if not state.is_hashed else []
        if plain and _digits(to) not in {_digits(p) for p in plain}:
            raise SmsPermanent(
                f"SMSGate message id {message_id} is already used for another recipient",
                reason="id_conflict",
                status=409,
            )
        _log.info("SMS %s to %s was already accepted (409), now %s", message_id, mask_phone(to), state.state)
        return SendResult(provider_id=message_id, status=state.state)

    # --- other calls -------------------------------------------------------------------

    def message_state(self, message_id: str) -> MessageState:
        """GET /messages/{id}. An unknown id is SmsPermanent(reason="not_found")."""
        response = self._call("GET", f"/messages/{quote(message_id, safe='')}")
        if response.status_code == 404:
            raise SmsPermanent(f"SMSGate has no message {message_id}", reason="not_found", status=404)
        if response.status_code != 200:
            raise _from_status(response, idempotent=True)
        try:
            data = response.json()
        except ValueError:
            raise SmsRetryable("SMSGate answered a message state that is not JSON", status=200) from None
        return MessageState.from_json(data, message_id)

    def register_webhook(self, url: str, event: str, *, webhook_id: str | None = None) -> str:
        """POST /webhooks: the phone will POST `event` to url. The same webhook_id replaces."""
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"event must be one of {', '.join(WEBHOOK_EVENTS)}, got {event!r}")
        payload = {"url": url, "event": event}
        if webhook_id is not None:
            payload["id"] = webhook_id
        response = self._call("POST", "/webhooks", json=payload)
        if not 200 <= response.status_code < 300:
            raise _from_status(response, idempotent=True)
        try:
            data = response.json()
        except ValueError:
            data = None
        registered = data.get("id") if isinstance(data, dict) else None
        return registered if isinstance(registered, str) else (webhook_id or "")

    def health(self) -> str:
        """GET /health: "pass", "warn" or "fail" (a 503 answers "fail"); errors as SmsError."""
        response = self._call("GET", "/health")
        if response.status_code not in (200, 503):
            raise _from_status(response, idempotent=True)
        try:
            data = response.json()
        except ValueError:
            data = None
        status = data.get("status") if isinstance(data, dict) else None
        if status in ("pass", "warn", "fail"):
            return str(status)
        return "pass" if response.status_code == 200 else "fail"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(
                method, f"{self.base_url}{path}", timeout=self._timeout, allow_redirects=False, **kwargs
            )
        except requests_errors.RequestException as exc:
            raise _from_transport_error(exc, idempotent=True) from exc
