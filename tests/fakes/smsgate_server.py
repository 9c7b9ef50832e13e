"""A loopback HTTP server that answers SMS Gateway for Android's API, for SMSGate tests.

Point the real client at it (notifications.smsgate.SmsGateGateway(fake.base_url, fake.username,
fake.password)) and nothing leaves 127.0.0.1. It implements, as ../shared/sms-gate describes:
    POST /messages        Basic auth; smsgateway.Message JSON; 202 with the message state and a
                          Location header; a second POST with an existing id is 409 and sends
                          nothing (the idempotency the outbox relies on)
    GET  /messages/{id}   the state (Pending, Processed, Sent, Delivered, Failed per recipient)
    POST /webhooks        register {"id"?, "url", "event"} (the same id replaces), 201
    GET  /webhooks        the registered webhooks
    GET  /health          {"status": "pass"|"warn"|"fail", ...} (no auth; 503 when "fail")
under an optional prefix ("" as on a phone's local server, "/3rdparty/v1" as on the cloud).

Scripting, all thread-safe and consumed in order:
    fake.fail_next(503)                 # 503 ErrorResponse, nothing created
    fake.fail_next(500, times=3)        # three 500s
    fake.fail_next(500, created=True)   # the message IS created, then a 500 (a crash after
                                        # enqueueing): the retry must get 409, not a 2nd SMS
    fake.delay_next(2.0)                # the message IS created, the answer comes 2 s late
    fake.down(); ...; fake.up()         # outage: 503 to everything (or mode="close")
    fake.set_state(id, "Delivered")     # move a message on (also done by delivery_event)

Records: `requests` (every request, failed ones included, with the client's port so keep-alive
is observable) and `messages` (what was "sent": one per accepted id).

Webhook events, built byte for byte as the app sends them (JSON body, X-Signature = hex
HMAC-SHA256 of body + X-Timestamp keyed with the signing key, X-Timestamp in Unix seconds):
    event = fake.received_event("77012345678", "YES 482")   # a volunteer's reply
    event = fake.delivery_event(message_id, "sms:delivered")
    client.post("/sms/smsgate", data=event.body, headers=event.headers)
Use it as a context manager, or through the `fake_smsgate` fixture (import it into a conftest).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import string
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import pytest

from notifications.smsgate_webhooks import sign

DEFAULT_USERNAME = "sms"
DEFAULT_PASSWORD = "fake-smsgate-password"
DEFAULT_SIGNING_KEY = "fake-smsgate-signing-key"
DEVICE_ID = "fakeDevice0000000001A"  # 21 characters, like the app's nanoids
CLOUD_PREFIX = "/3rdparty/v1"
STATES = ("Pending", "Processed", "Sent", "Delivered", "Failed")
_NANOID = string.ascii_letters + string.digits + "_-"
_MESSAGE_PATH = re.compile(r"^/messages/(?P<id>[^/]+)$")
MAX_PHONE_NUMBERS = 100
MAX_ID_CHARS = 36
MAX_TEXT_CHARS = 65535
# The device's offset: receivedAt and the like are device-local time with an offset.
DEVICE_TZ = timezone(timedelta(hours=5))  # Almaty


def nanoid() -> str:
    return "".join(secrets.choice(_NANOID) for _ in range(21))


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the prefix and the query
    query: str
    headers: dict[str, str]
    body: bytes
    authorized: bool
    client_port: int  # the same port for several requests: one kept-alive connection
    status: int | None = None  # what the fake answered; None when it closed the connection
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeMessage:
    """One accepted message, as the phone would hold it."""

    id: str
    phone_numbers: list[str]
    text: str
    with_delivery_report: bool
    ttl: int | None
    sim_number: int | None
    priority: int | None
    state: str = "Pending"
    errors: dict[str, str] = field(default_factory=dict)  # phone -> error, for Failed
    states: dict[str, str] = field(default_factory=dict)  # state -> when (the history)

    def as_state(self) -> dict[str, Any]:
        """smsgateway.GetMessageResponse."""
        recipients = []
        for phone in self.phone_numbers:
            recipient: dict[str, Any] = {"phoneNumber": phone, "state": self.state}
            if phone in self.errors:
                recipient["error"] = self.errors[phone]
            recipients.append(recipient)
        return {
            "id": self.id,
            "deviceId": DEVICE_ID,
            "state": self.state,
            "isHashed": False,
            "isEncrypted": False,
            "recipients": recipients,
            "states": dict(self.states),
        }


@dataclass(frozen=True)
class SignedEvent:
    """A webhook request as the app sends it: post `body` with `headers`."""

    body: bytes
    headers: dict[str, str]
    id: str
    event: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Failure:
    status: int
    message: str | None
    created: bool


def error_body(message: str, code: int | None = None) -> dict[str, Any]:
    """smsgateway.ErrorResponse."""
    body: dict[str, Any] = {"message": message}
    if code is not None:
        body["code"] = code
    return body


def _device_time(at: datetime | None = None) -> str:
    """What the app writes: device-local time with milliseconds and an offset."""
    value = (at or datetime.now(UTC)).astimezone(DEVICE_TZ)
    return value.isoformat(timespec="milliseconds")


class FakeSmsGate:
    """SMS Gateway for Android's API on 127.0.0.1 (a random port), in a daemon thread."""

    def __init__(
        self,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        signing_key: str = DEFAULT_SIGNING_KEY,
        *,
        prefix: str = "",
        keep_alive: bool = True,
    ) -> None:
        """keep_alive=True answers HTTP/1.1 and keeps connections open, as the app's server
        does; prefix="/3rdparty/v1" serves the paths as the cloud and private servers do."""
        self.username = username
        self.password = password
        self.signing_key = signing_key
        self.prefix = prefix.rstrip("/")
        self.keep_alive = keep_alive
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._messages: dict[str, FakeMessage] = {}  # insertion order = sending order
        self._webhooks: dict[str, dict[str, str]] = {}
        self._failures: deque[_Failure] = deque()
        self._delays_s: deque[float] = deque()
        self._down_mode: str | None = None
        self.health_status = "pass"
        self._server: ThreadingHTTPServer | None = None

    # --- scripting -------------------------------------------------------------------

    def fail_next(
        self, status: int = 503, *, times: int = 1, message: str | None = None, created: bool = False
    ) -> None:
        """Answer the next `times` POST /messages with this error. Nothing is created, unless
        created=True: then the message is accepted first and the error comes after it."""
        with self._lock:
            self._failures.extend(_Failure(status, message, created) for _ in range(times))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """Create the next message(s) as usual but answer `seconds` late (client timeouts)."""
        with self._lock:
            self._delays_s.extend([seconds] * times)

    def down(self, mode: str = "503") -> None:
        """Outage until up(): "503" answers every request 503; "close" reads the request and
        drops the connection without an answer."""
        if mode not in ("503", "close"):
            raise ValueError("mode is '503' or 'close'")
        with self._lock:
            self._down_mode = mode

    def up(self) -> None:
        with self._lock:
            self._down_mode = None

    def set_state(self, message_id: str, state: str, *, error: str | None = None) -> None:
        """Move a message on: Processed, Sent, Delivered or Failed (with error)."""
        if state not in STATES:
            raise ValueError(f"state is one of {STATES}")
        with self._lock:
            message = self._messages[message_id]
            message.state = state
            message.states[state] = _device_time()
            if error is not None:
                message.errors = {phone: error for phone in message.phone_numbers}

    def reset(self) -> None:
        """Forget records, messages, webhooks and scripts (not the credentials)."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._webhooks.clear()
            self._failures.clear()
            self._delays_s.clear()
            self._down_mode = None
            self.health_status = "pass"

    # --- records ---------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[FakeMessage]:
        """The messages accepted ("sent"), oldest first: one per id, however often posted."""
        with self._lock:
            return list(self._messages.values())

    @property
    def webhooks(self) -> list[dict[str, str]]:
        with self._lock:
            return [dict(w) for w in self._webhooks.values()]

    def message(self, message_id: str) -> FakeMessage:
        with self._lock:
            return self._messages[message_id]

    def wait_for_messages(self, count: int, timeout_s: float = 5.0) -> bool:
        """Block until `count` messages exist (a delayed answer creates before answering)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._messages) >= count, timeout_s)

    # --- what the app would post to our webhooks ---------------------------------------

    def signed_event(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        timestamp: int | None = None,
        webhook_id: str | None = None,
        signing_key: str | None = None,
    ) -> SignedEvent:
        """Any event, signed as the app signs it (timestamp defaults to now)."""
        event_id = event_id or nanoid()
        if webhook_id is None:
            webhook_id = next((w["id"] for w in self.webhooks if w["event"] == event), "fakeWebhook000000001")
        document = {"deviceId": DEVICE_ID, "event": event, "id": event_id, "payload": payload, "webhookId": webhook_id}
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        key = self.signing_key if signing_key is None else signing_key
        headers = {
            "Content-Type": "application/json",
            "X-Signature": sign(body, stamp, key),
            "X-Timestamp": stamp,
        }
        return SignedEvent(body=body, headers=headers, id=event_id, event=event)

    def received_event(
        self, phone_number: str, text: str, *, sim_number: int = 1, received_at: datetime | None = None, **kwargs: Any
    ) -> SignedEvent:
        """sms:received: `phone_number` as the phone reports the sender (often without '+').

        Its messageId is derived from the sender and text, as the app's is: two identical
        texts share it, only the event id differs."""
        message_id = hashlib.sha256(f"{phone_number}\n{text}".encode()).hexdigest()[:16]
        payload = {
            "messageId": message_id,
            "message": text,
            "phoneNumber": phone_number,
            "sender": phone_number,
            "recipient": None,
            "simNumber": sim_number,
            "receivedAt": _device_time(received_at),
        }
        return self.signed_event("sms:received", payload, **kwargs)

    def delivery_event(
        self,
        message_id: str,
        event: str = "sms:delivered",
        *,
        reason: str = "RESULT_ERROR_GENERIC_FAILURE",
        at: datetime | None = None,
        **kwargs: Any,
    ) -> SignedEvent:
        """sms:sent / sms:delivered / sms:failed for a message sent through the fake; moves its
        state on as the phone would."""
        states = {"sms:sent": "Sent", "sms:delivered": "Delivered", "sms:failed": "Failed"}
        if event not in states:
            raise ValueError(f"event is one of {', '.join(states)}")
        message = self.message(message_id)
        self.set_state(message_id, states[event], error=reason if event == "sms:failed" else None)
        time_field = {"sms:sent": "sentAt", "sms:delivered": "deliveredAt", "sms:failed": "failedAt"}[event]
        payload: dict[str, Any] = {
            "messageId": message_id,
            "phoneNumber": message.phone_numbers[0].lstrip("+"),  # as the phone reports it
            "sender": None,
            "recipient": message.phone_numbers[0].lstrip("+"),
            "simNumber": message.sim_number or 1,
            time_field: _device_time(at),
        }
        if event == "sms:failed":
            payload["reason"] = reason
        return self.signed_event(event, payload, **kwargs)

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """e.g. http://127.0.0.1:54321 (or .../3rdparty/v1): what SMSGATE_URL takes."""
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if fake.keep_alive else "HTTP/1.0"
            disable_nagle_algorithm = True  # see FakeTwilio: no 40 ms delayed-ACK stalls

            def do_POST(self) -> None:  # http.server calls do_<METHOD>
                fake._handle(self)

            do_GET = do_DELETE = do_PUT = do_PATCH = do_POST

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-smsgate", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases delayed answers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- request handling (runs in the server's threads) --------------------------------

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(f"{user}:{password}".encode(), f"{self.username}:{self.password}".encode())

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        url = urlsplit(handler.path)
        path = url.path
        known_prefix = path.startswith(self.prefix + "/") if self.prefix else True
        record = RecordedRequest(
            method=handler.command,
            path=path[len(self.prefix) :] if known_prefix else path,
            query=url.query,
            headers=dict(handler.headers.items()),
            body=body,
            authorized=self._authorized(handler.headers.get("Authorization")),
            client_port=handler.client_address[1],
        )
        status, answer, delay_s, location = self._decide(record, known_prefix)
        record.status = status
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()
        if delay_s:
            self._stopping.wait(delay_s)
        if status is None:  # outage in "close" mode: read, then hang up without a word
            handler.close_connection = True
            return
        self._send(handler, status, answer, location)

    def _decide(self, req: RecordedRequest, known_prefix: bool) -> tuple[int | None, Any, float, str | None]:
        """(status, JSON body, delay, Location) for a request; creates what it creates."""
        with self._lock:
            if self._down_mode == "close":
                return None, None, 0.0, None
            if self._down_mode == "503":
                return 503, error_body("Service unavailable"), 0.0, None
        if not known_prefix:
            return 404, error_body("Not found"), 0.0, None
        if req.path == "/health" and req.method == "GET":
            status = self.health_status
            answer = {
                "status": status,
                "version": "fake",
                "releaseId": 1,
                "checks": {"battery:level": {"status": "pass", "observedValue": 87, "observedUnit": "percent"}},
            }
            return (503 if status == "fail" else 200), answer, 0.0, None
        if not req.authorized:
            return 401, error_body("Unauthorized"), 0.0, None
        if req.path == "/messages" and req.method == "POST":
            return self._post_message(req)
        match = _MESSAGE_PATH.match(req.path)
        if match and req.method == "GET":
            with self._lock:
                message = self._messages.get(unquote(match["id"]))
                if message is None:
                    return 404, error_body("message not found"), 0.0, None
                return 200, message.as_state(), 0.0, None
        if req.path == "/webhooks" and req.method == "POST":
            return self._post_webhook(req)
        if req.path == "/webhooks" and req.method == "GET":
            return 200, self.webhooks, 0.0, None
        if req.path in ("/messages", "/webhooks") or match:
            return 405, error_body(f"Method {req.method} not allowed"), 0.0, None
        return 404, error_body("Not found"), 0.0, None

    def _post_message(self, req: RecordedRequest) -> tuple[int | None, Any, float, str | None]:
        try:
            data = req.json()
        except (ValueError, UnicodeDecodeError):
            return 400, error_body("invalid JSON"), 0.0, None
        problem = self._invalid(data)
        if problem:
            return 400, error_body(problem), 0.0, None
        message_id = data.get("id") or nanoid()
        text = (data.get("textMessage") or {}).get("text") or data.get("message")
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
            if failure is not None and not failure.created:
                return failure.status, error_body(failure.message or "fake failure"), 0.0, None
            if message_id in self._messages:
                return 409, error_body("message with such ID already exists"), 0.0, None
            message = FakeMessage(
                id=message_id,
                phone_numbers=list(data["phoneNumbers"]),
                text=text,
                with_delivery_report=data.get("withDeliveryReport", True) is not False,
                ttl=data.get("ttl"),
                sim_number=data.get("simNumber"),
                priority=data.get("priority"),
                states={"Pending": _device_time()},
            )
            self._messages[message_id] = message
            self._changed.notify_all()
            answer = message.as_state()
            delay_s = self._delays_s.popleft() if self._delays_s else 0.0
        if failure is not None:  # created, then the answer is an error (crash after enqueue)
            return failure.status, error_body(failure.message or "fake failure"), delay_s, None
        return 202, answer, delay_s, f"{self.prefix}/messages/{message_id}"

    @staticmethod
    def _invalid(data: Any) -> str | None:
        """What the API's validation would refuse in a smsgateway.Message, or None."""
        if not isinstance(data, dict):
            return "request body must be an object"
        phones = data.get("phoneNumbers")
        if (
            not isinstance(phones, list)
            or not 1 <= len(phones) <= MAX_PHONE_NUMBERS
            or not all(isinstance(p, str) and p for p in phones)
        ):
            return "phoneNumbers: 1 to 100 phone numbers required"
        message_id = data.get("id")
        if message_id is not None and (not isinstance(message_id, str) or not 1 <= len(message_id) <= MAX_ID_CHARS):
            return "id: at most 36 characters"
        text_message = data.get("textMessage")
        text = text_message.get("text") if isinstance(text_message, dict) else data.get("message")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT_CHARS:
            return "textMessage.text: required"
        ttl = data.get("ttl")
        if ttl is not None and (not isinstance(ttl, int) or ttl < 5):
            return "ttl: at least 5 seconds"
        if ttl is not None and data.get("validUntil") is not None:
            return "ttl and validUntil are mutually exclusive"
        sim = data.get("simNumber")
        if sim is not None and (not isinstance(sim, int) or not 1 <= sim <= 3):
            return "simNumber: 1 to 3"
        return None

    def _post_webhook(self, req: RecordedRequest) -> tuple[int | None, Any, float, str | None]:
        try:
            data = req.json()
        except (ValueError, UnicodeDecodeError):
            return 400, error_body("invalid JSON"), 0.0, None
        if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not isinstance(data.get("event"), str):
            return 400, error_body("url and event are required"), 0.0, None
        webhook = {"id": data.get("id") or nanoid(), "url": data["url"], "event": data["event"], "deviceId": DEVICE_ID}
        with self._lock:
            self._webhooks[webhook["id"]] = webhook
        return 201, webhook, 0.0, None

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: Any, location: str | None) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            if location:
                handler.send_header("Location", location)
            if status == 401:
                handler.send_header("WWW-Authenticate", 'Basic realm="SMS Gateway"')
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            handler.close_connection = True


@pytest.fixture
def fake_smsgate():
    """A started FakeSmsGate (local-server paths, keep-alive), stopped after the test."""
    with FakeSmsGate() as server:
        yield server
