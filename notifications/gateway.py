"""Sends one SMS through a provider (Twilio, the log, or memory) in exactly one attempt.

Failures say what to do next: certainly not sent (retry), maybe sent (ambiguous), never (permanent);
the retrying and its record belong to the dispatch outbox."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import requests
import requests.utils
from requests import exceptions as requests_errors
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from notifications.texts import one_line

__all__ = [
    "ConsoleGateway",
    "MemoryGateway",
    "SendResult",
    "SentSms",
    "SmsAmbiguous",
    "SmsError",
    "SmsGateway",
    "SmsPermanent",
    "SmsRetryable",
    "TwilioGateway",
    "mask_phone",
]

_log = logging.getLogger(__name__)

MIN_VALIDITY_S = 1  # Twilio's accepted range for ValidityPeriod
MAX_VALIDITY_S = 36000


@dataclass(frozen=True)
class SendResult:
    provider_id: str  # Twilio's message SID, or a fake's id
    status: str  # provider's status right after the request, e.g. "queued", "accepted"


class SmsError(Exception):
    """A send that did not end in a created message."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code  # provider error code, e.g. Twilio 21211
        self.status = status  # HTTP status, when there was an answer


class SmsRetryable(SmsError):
    """Certainly not sent (rate limited, or the connection never opened): safe to retry."""


class SmsAmbiguous(SmsError):
    """The request may have been acted on (5xx, no answer in time): retrying may duplicate."""


class SmsPermanent(SmsError):
    """Will never work as asked (bad number, opted out, rejected): do not retry."""

    def __init__(self, message: str, *, reason: str, code: int | None = None, status: int | None = None):
        super().__init__(message, code=code, status=status)
        self.reason = reason  # invalid_number | unsubscribed | not_mobile | ... | rejected


class SmsGateway(Protocol):
    """One send, one attempt. `idempotency_key` is a caller-chosen token, unique for ever, the
    same on every attempt at one SMS: a gateway whose provider honours it (`idempotent` True)
    can never send that SMS twice, so its failed or interrupted attempts are never ambiguous.
    Gateways without such a feature ignore it."""

    idempotent: bool

    def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_s: int | None = None,
        idempotency_key: str | None = None,
    ) -> SendResult: ...


def mask_phone(e164: str | None) -> str:
    """ "+77012345678" -> "+7701***5678": enough to tell numbers apart in logs, not to dial."""
    if not e164:
        return "<none>"
    text = str(e164).strip()
    if len(text) <= 8:
        return "***" + text[-2:]
    return f"{text[:5]}***{text[-4:]}"


# --- Twilio ---------------------------------------------------------------------------------
# Twilio error codes that say the message can never go out as asked.
_PERMANENT_REASONS = {
    21211: "invalid_number",  # invalid 'To' phone number
    21614: "not_mobile",  # 'To' is not a mobile number
    21610: "unsubscribed",  # recipient replied STOP
    21612: "unreachable",  # 'To' cannot be reached from this sender
    21408: "region_not_enabled",  # sending to that country is not enabled on the account
    21617: "too_long",  # body over 1600 characters
    20003: "auth_failed",  # wrong account SID or auth token: every send will fail alike
}
_RATE_LIMITED = 20429
_NO_EDGE_NO_REGION = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}


def _read_environment_once(session: requests.Session, base_url: str) -> None:
    """What requests reads from the environment on every call (HTTP(S)_PROXY and NO_PROXY for
    this host, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE), read once for the session's one host: the
    twilio client asks requests to merge them per request, and scanning os.environ for proxies
    was a sixth of each send's CPU in a mass event. The same settings hold, read at start."""
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def _no_retry_adapter() -> HTTPAdapter:
    # requests' default is already Retry(0, read=False); spelled out so a change of library
    # defaults cannot start resending POSTs behind the outbox's back.
    return HTTPAdapter(
        max_retries=Retry(
            total=0,
            connect=0,
            read=False,
            redirect=0,
            status=0,
            other=0,
            raise_on_redirect=False,
            raise_on_status=False,
        )
    )


def _from_twilio_error(exc: TwilioRestException | TwilioServiceException) -> SmsError:
    status = exc.status
    # The library fills code with the HTTP status when the body had none.
    code = exc.code if exc.code != status else None
    text = f"Twilio answered HTTP {status}" + (f", error {code}" if code else "")
    if status == 429 or code == _RATE_LIMITED:
        return SmsRetryable(text, code=code, status=status)
    if status == 408:  # the server gave up waiting for our request: nothing was acted on
        return SmsRetryable(text, code=code, status=status)
    if code in _PERMANENT_REASONS:
        return SmsPermanent(text, reason=_PERMANENT_REASONS[code], code=code, status=status)
    if status == 401:
        return SmsPermanent(text, reason="auth_failed", code=code, status=status)
    if 400 <= status < 500:
        return SmsPermanent(text, reason="rejected", code=code, status=status)
    # 5xx, or anything unexpected: the request arrived, we cannot know what came of it.
    return SmsAmbiguous(text, code=code, status=status)


def _connection_never_opened(exc: requests_errors.ConnectionError) -> bool:
    """Refused, unresolvable or timed out while connecting: no byte of the request left."""
    if isinstance(exc, (requests_errors.ConnectTimeout, requests_errors.SSLError)):
        return True  # a TLS handshake failure also happens before the request is written
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # NewConnectionError (refused) and NameResolutionError (DNS) are ConnectTimeoutErrors.
    return isinstance(reason, ConnectTimeoutError)


def _from_transport_error(exc: requests_errors.RequestException) -> SmsError:
    if isinstance(exc, requests_errors.ConnectionError) and _connection_never_opened(exc):
        return SmsRetryable(f"could not connect to Twilio: {exc}")
    if isinstance(
        exc,
        (
            requests_errors.ConnectionError,
            requests_errors.Timeout,
            requests_errors.ChunkedEncodingError,
            requests_errors.ContentDecodingError,
        ),
    ):
        # Read timeout, connection reset after the request went out, broken answer.
        return SmsAmbiguous(f"no complete answer from Twilio: {exc}")
    # InvalidURL, MissingSchema and the like: our configuration, not the network.
    return SmsPermanent(f"request to Twilio could not be made: {exc}", reason="config")


class TwilioGateway:
    """Sends through Twilio's Messages API with the official client; one HTTP attempt a send."""

    idempotent = False  # Twilio has no idempotency key: idempotency_key is ignored

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base_url: str | None = None,
        timeout_s: float = 10.0,
    ):
        if not (from_number or messaging_service_sid):
            raise ValueError("TwilioGateway needs from_number or messaging_service_sid")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        http_client = TwilioHttpClient(timeout=timeout_s, max_retries=0)
        if http_client.session is not None:  # pooled: the client mounted only https://
            http_client.session.mount("https://", _no_retry_adapter())
            http_client.session.mount("http://", _no_retry_adapter())
        # A non-empty environment keeps TWILIO_EDGE / TWILIO_REGION in os.environ from
        # rewriting the host (which would send a test's loopback traffic to the internet).
        self.client = Client(account_sid, auth_token, http_client=http_client, environment=dict(_NO_EDGE_NO_REGION))
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")
        if http_client.session is not None:
            _read_environment_once(http_client.session, self.client.api.base_url)

    def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_s: int | None = None,
        idempotency_key: str | None = None,
    ) -> SendResult:
        params: dict[str, object] = {"to": to, "body": body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        if self.from_number:
            params["from_"] = self.from_number
        if status_callback:
            params["status_callback"] = status_callback
        if validity_s is not None:
            params["validity_period"] = min(max(int(validity_s), MIN_VALIDITY_S), MAX_VALIDITY_S)
        try:
            message = self.client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            error = _from_twilio_error(exc)
        except requests_errors.RequestException as exc:
            error = _from_transport_error(exc)
        else:
            _log.info("SMS to %s accepted by Twilio as %s (%s)", mask_phone(to), message.sid, message.status)
            return SendResult(provider_id=str(message.sid), status=str(message.status))
        _log.warning("SMS to %s failed: %s: %s", mask_phone(to), type(error).__name__, one_line(str(error)))
        raise error


# --- Local gateways -------------------------------------------------------------------------
class ConsoleGateway:
    """Development gateway: writes each SMS to the log instead of sending it."""

    idempotent = False

    def __init__(self, log: logging.Logger | None = None):
        self.log = log or _log

    def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_s: int | None = None,
        idempotency_key: str | None = None,
    ) -> SendResult:
        provider_id = f"CONSOLE-{uuid.uuid4()}"
        # One line per SMS, whatever the text holds: a line break in it cannot forge a log line.
        self.log.info("SMS to %s: %s", mask_phone(to), one_line(body))
        return SendResult(provider_id=provider_id, status="sent")


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str
    status_callback: str | None
    validity_s: int | None
    provider_id: str
    idempotency_key: str | None = None


class MemoryGateway:
    """Test gateway: keeps what was sent; fail_next() scripts failures. Thread-safe.

    Its ids are shaped like Twilio's message SIDs, so status callbacks can name them.
    """

    idempotent = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[SentSms] = []
        self._attempts: list[SentSms] = []
        self._failures: deque[SmsError] = deque()
        self._counter = 0

    def fail_next(self, exc: SmsError, times: int = 1) -> None:
        """The next `times` sends raise exc (after the ones already scripted)."""
        with self._lock:
            self._failures.extend([exc] * times)

    @property
    def sent(self) -> list[SentSms]:
        """Messages sent successfully, oldest first (a copy)."""
        with self._lock:
            return list(self._sent)

    @property
    def attempts(self) -> list[SentSms]:
        """Every send() call, failed ones included (their provider_id is "")."""
        with self._lock:
            return list(self._attempts)

    def send(
        self,
        to: str,
        body: str,
        *,
        status_callback: str | None = None,
        validity_s: int | None = None,
        idempotency_key: str | None = None,
    ) -> SendResult:
        with self._lock:
            if self._failures:
                self._attempts.append(SentSms(to, body, status_callback, validity_s, "", idempotency_key))
                raise self._failures.popleft()
            self._counter += 1
            sms = SentSms(to, body, status_callback, validity_s, f"SM{self._counter:032x}", idempotency_key)
            self._attempts.append(sms)
            self._sent.append(sms)
        return SendResult(provider_id=sms.provider_id, status="queued")
