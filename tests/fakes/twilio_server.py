"""A loopback HTTP server that answers Twilio's Messages API, for SMS sending tests.

Point the real twilio client at it (notifications.gateway.TwilioGateway(..., api_base_url=
fake.base_url)) and nothing leaves 127.0.0.1. It implements
POST /2010-04-01/Accounts/{AccountSid}/Messages.json as Twilio does: HTTP Basic auth, the
form fields To / From / MessagingServiceSid / Body / StatusCallback / ValidityPeriod, a 201
with the api.v2010.account.message resource, and Twilio's JSON errors.

Scripting, all thread-safe and consumed in order:
    fake.fail_next(429)                    # 429, code 20429, nothing created
    fake.fail_next(400, code=21211)        # permanent error for the next send
    fake.fail_next(500, times=3)           # three 500s
    fake.delay_next(2.0)                   # next message IS created, the answer comes 2 s late
    fake.opt_out("+77011234567")           # sends to it get 21610, as after a STOP
    fake.down(); ...; fake.up()            # outage: 503 to everything (or mode="close")

Records: `requests` (every request, failed ones included) and `messages` (created resources).
Use it as a context manager, or through the `fake_twilio` fixture (import it into a conftest.py).
closed_port_url() gives a URL on which connections are refused.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from notifications.segments import count_segments

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
API_VERSION = "2010-04-01"
_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY_CHARS = 1600

# Twilio's wording for the errors the fake produces or is told to produce.
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service is unavailable. Please try again",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
DEFAULT_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]  # parsed body; repeated fields keep every value
    authorized: bool
    status: int | None = None  # what the fake answered; None when it closed the connection
    at: float = field(default_factory=time.monotonic)

    def field(self, name: str) -> str | None:
        """The first value of a form field, e.g. request.field("ValidityPeriod")."""
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class _Failure:
    status: int
    code: int | None
    message: str | None


def twilio_error_body(status: int, code: int | None, message: str) -> dict[str, Any]:
    """Twilio's JSON error document."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}" if code else None,
        "status": status,
    }


def closed_port_url() -> str:
    """http://127.0.0.1:<port> where nothing listens, so connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FakeTwilio:
    """Twilio's Messages API on 127.0.0.1 (a random port), in a daemon thread."""

    def __init__(
        self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN, *, keep_alive: bool = False
    ) -> None:
        """keep_alive=False (tests): one request per connection, so each send's connection fate is
        its own. keep_alive=True (benchmarks): connections are reused, as with the real API."""
        self.account_sid = account_sid
        self.keep_alive = keep_alive
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._messages: list[dict[str, Any]] = []
        self._failures: deque[_Failure] = deque()
        self._delays_s: deque[float] = deque()
        self._opted_out: set[str] = set()
        self._down_mode: str | None = None
        self._server: ThreadingHTTPServer | None = None
        self._in_flight = 0
        self.max_in_flight = 0  # the most message requests it was answering at one moment

    # --- scripting -------------------------------------------------------------------

    def fail_next(
        self, status: int = 429, code: int | None = None, *, times: int = 1, message: str | None = None
    ) -> None:
        """Answer the next `times` message requests with this error; nothing is created.

        code defaults to Twilio's for the status (429 -> 20429, 500 -> 20500, 503 -> 20503).
        """
        code = DEFAULT_CODES.get(status) if code is None else code
        with self._lock:
            self._failures.extend(_Failure(status, code, message) for _ in range(times))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """Create the next message(s) as usual but answer `seconds` late (client timeouts)."""
        with self._lock:
            self._delays_s.extend([seconds] * times)

    def opt_out(self, number: str) -> None:
        """Sends to number fail with 21610, as when the recipient replied STOP."""
        with self._lock:
            self._opted_out.add(number)

    def opt_in(self, number: str) -> None:
        with self._lock:
            self._opted_out.discard(number)

    def down(self, mode: str = "503") -> None:
        """Outage until up(): "503" answers every request 503 (code 20503); "close" reads the
        request and drops the connection without an answer."""
        if mode not in ("503", "close"):
            raise ValueError("mode is '503' or 'close'")
        with self._lock:
            self._down_mode = mode

    def up(self) -> None:
        with self._lock:
            self._down_mode = None

    def reset(self) -> None:
        """Forget records and scripts (not the credentials)."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._failures.clear()
            self._delays_s.clear()
            self._opted_out.clear()
            self._down_mode = None
            self.max_in_flight = 0

    # --- records ---------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The message resources created, as answered (a copy)."""
        with self._lock:
            return [dict(m) for m in self._messages]

    def wait_for_requests(self, count: int, timeout_s: float = 5.0) -> bool:
        """Block until `count` requests have arrived; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= count, timeout_s)

    def wait_for_messages(self, count: int, timeout_s: float = 5.0) -> bool:
        """Block until `count` messages exist (a delayed answer creates before answering)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._messages) >= count, timeout_s)

    # --- what Twilio would post to our webhooks ----------------------------------------

    def status_callback_params(
        self, message_sid: str, status: str = "delivered", error_code: int | None = None
    ) -> dict[str, str]:
        """The form Twilio POSTs to a message's StatusCallback URL when its status changes."""
        message = next((m for m in self.messages if m["sid"] == message_sid), None)
        if message is None:
            raise KeyError(message_sid)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": message["to"],
            "From": message["from"] or "",
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def inbound_params(self, from_: str, body: str, to: str = "+15005550006") -> dict[str, str]:
        """The form Twilio POSTs to a number's incoming-message webhook."""
        sid = "SM" + secrets.token_hex(16)
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(count_segments(body).segments),
        }

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """e.g. http://127.0.0.1:54321 — what TwilioGateway(api_base_url=...) takes."""
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if fake.keep_alive else "HTTP/1.0"
            # Headers and body go out in two writes: without this, Nagle holds the body back
            # for the client's delayed ACK (40 ms a request on a kept-alive connection).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                fake._handle(self)

            do_GET = do_DELETE = do_PUT = do_POST  # noqa: N815 (answered 404/405 like Twilio)

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-twilio", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases delayed answers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- request handling (runs in the server's threads) --------------------------------

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(f"{user}:{password}", f"{self.account_sid}:{self.auth_token}")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8") if length else ""
        path = urlsplit(handler.path).path
        record = RecordedRequest(
            method=handler.command,
            path=path,
            headers=dict(handler.headers.items()),
            form=parse_qs(raw, keep_blank_values=True),
            authorized=self._authorized(handler.headers.get("Authorization")),
        )
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            status, body, delay_s = self._decide(record)
            record.status = status
            with self._changed:
                self._requests.append(record)
                self._changed.notify_all()
            if delay_s:
                self._stopping.wait(delay_s)
            if status is None:  # outage in "close" mode: read, then hang up without a word
                handler.close_connection = True
                return
            self._send(handler, status, body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _decide(self, req: RecordedRequest) -> tuple[int | None, dict[str, Any], float]:
        """(status, JSON body, delay) for a request; creates the message when it succeeds."""
        if not req.authorized:
            return 401, twilio_error_body(401, 20003, ERROR_MESSAGES[20003]), 0.0
        match = _MESSAGES_PATH.match(req.path)
        if match is None or match["account"] != self.account_sid:
            message = ERROR_MESSAGES[20404].format(path=req.path)
            return 404, twilio_error_body(404, 20404, message), 0.0
        if req.method != "POST":
            return 405, twilio_error_body(405, None, f"Method {req.method} not allowed"), 0.0
        with self._lock:
            if self._down_mode == "close":
                return None, {}, 0.0
            if self._down_mode == "503":
                return 503, twilio_error_body(503, 20503, ERROR_MESSAGES[20503]), 0.0
            if self._failures:
                failure = self._failures.popleft()
                text = failure.message or ERROR_MESSAGES.get(failure.code or 0, "Fake failure").format(
                    to=req.field("To"), path=req.path
                )
                return failure.status, twilio_error_body(failure.status, failure.code, text), 0.0
            delay_s = self._delays_s.popleft() if self._delays_s else 0.0
            invalid = self._validate(req)
            if invalid is not None:
                return invalid[0], invalid[1], delay_s
            message = self._message_resource(req)
            self._messages.append(message)
            self._changed.notify_all()
        return 201, message, delay_s

    def _validate(self, req: RecordedRequest) -> tuple[int, dict[str, Any]] | None:
        to, body = req.field("To"), req.field("Body")
        if not to:
            code = 21604
        elif not (req.field("From") or req.field("MessagingServiceSid")):
            code = 21603
        elif not body:
            code = 21602
        elif not _E164.match(to):
            code = 21211
        elif len(body) > MAX_BODY_CHARS:
            code = 21617
        elif to in self._opted_out:
            code = 21610
        else:
            return None
        return 400, twilio_error_body(400, code, ERROR_MESSAGES[code].format(to=to))

    def _message_resource(self, req: RecordedRequest) -> dict[str, Any]:
        """The api.v2010.account.message resource Twilio answers a create with."""
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        body = req.field("Body") or ""
        from_ = req.field("From")
        service = req.field("MessagingServiceSid")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(count_segments(body).segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            # Through a Messaging Service without a From, Twilio first answers "accepted".
            "status": "accepted" if service and not from_ else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": req.field("To"),
            "uri": f"{uri}.json",
        }

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
            if status == 401:
                handler.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


@pytest.fixture
def fake_twilio():
    """A started FakeTwilio, stopped after the test."""
    with FakeTwilio() as server:
        yield server
