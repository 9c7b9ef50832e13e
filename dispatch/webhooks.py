"""The SMS providers' callbacks: Twilio's POST /sms/inbound (a volunteer's text) and
/sms/status, and SMSGate's POST /sms/smsgate (texts to the phone's SIM and delivery reports).

Twilio's are signature-checked over PUBLIC_BASE_URL + path (so it holds behind a proxy, where
the URL Twilio called is not the one this process sees); SMSGate's over the exact raw body and
its timestamp. A bad or missing signature is 403 and changes nothing but an audit record of the
failure. Twilio is answered TwiML, SMSGate JSON.

Two limits, both counted in the database so every worker agrees:
- forged requests per client address (below), shared by all three routes, answered 429: a
  signed request is never refused by it;
- texts per sending number (inbox.MAX_TEXTS_PER_NUMBER): over it a text is stored, not acted
  on, and Twilio is answered 429; SMSGate gets a 2xx, since it retries anything else for days.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from typing import NoReturn

from flask import Blueprint, Flask, Response, current_app, request

from notifications.signatures import is_valid_signature, twiml_message
from notifications.smsgate_webhooks import (
    DeliveryReport,
    MalformedEvent,
    ReceivedSms,
    SignatureInvalid,
    parse_event,
    verify_signature,
)
from notifications.telegram_updates import verify_webhook_secret

from . import audit, delivery, inbox, telegram_inbox
from .errors import Forbidden, NotFound, RateLimited, ValidationFailed
from .extensions import csrf, db

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)
# Twilio's SIDs are 34 characters; the columns that keep them hold 64.
SID_MAX = 64
# A message SID in Twilio's format, nothing else: the signature is computed over the sorted
# names and values run together, so a free-form id could absorb the next parameter.
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
# Forged requests (missing or bad signature): this many from one client address in the window
# and its further forged requests are 429 and write nothing, so a flood cannot grow the audit
# table. Like the sign-in lockout (users.py), and counted the same way; constants rather than
# settings because no deployment needs another value: Twilio's requests are signed, so they are
# never refused by this, and no honest client sends twenty unsigned requests.
FORGED_WINDOW = timedelta(minutes=15)
MAX_FORGED_PER_ADDRESS = 20
FORGED_EVENT = "webhook_forged"


class TooManyForgedRequests(RateLimited):
    message = "Too many requests without a valid signature from this address; try again later."
    retry_after = int(FORGED_WINDOW.total_seconds())


class TextingTooFast(RateLimited):
    message = "Too many texts from this number; this one is stored but not acted on."
    retry_after = int(inbox.TEXT_WINDOW.total_seconds())


def _check_signature() -> None:
    """A signed request passes whatever its address has done; else 403 (recorded) or 429."""
    url = current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")
    signature = request.headers.get("X-Twilio-Signature")
    if is_valid_signature(url, request.form, signature, current_app.config["TWILIO_AUTH_TOKEN"] or ""):
        return
    _refuse_forged("Missing or invalid X-Twilio-Signature.")


def _refuse_forged(message: str, **details: str) -> NoReturn:
    """A request without a valid signature: 403 and an audit record, or past
    MAX_FORGED_PER_ADDRESS from its address in FORGED_WINDOW, 429 and nothing written."""
    actor = audit.address_actor(request.remote_addr)
    if audit.count_recent(actor, FORGED_EVENT, FORGED_WINDOW) >= MAX_FORGED_PER_ADDRESS:
        raise TooManyForgedRequests()
    audit.record(actor, FORGED_EVENT, details={"path": request.path, **details})
    db.session.commit()
    raise Forbidden(message)


def _required(*names: str) -> list[str]:
    missing = [n for n in names if not request.form.get(n)]
    if missing:
        raise ValidationFailed(
            f"Missing form fields: {', '.join(missing)}.", {"fields": {n: "required" for n in missing}}
        )
    if len(request.form["MessageSid"]) > SID_MAX:
        raise ValidationFailed(
            f"MessageSid is longer than {SID_MAX} characters.", {"fields": {"MessageSid": "too long"}}
        )
    if not MESSAGE_SID.fullmatch(request.form["MessageSid"]):
        raise ValidationFailed(
            "MessageSid is not a message SID (SM or MM and 32 hexadecimal digits).",
            {"fields": {"MessageSid": "not a message SID"}},
        )
    return [request.form[n] for n in names]


def _twiml(text: str | None = None) -> Response:
    return Response(twiml_message(text), mimetype="text/xml")


@bp.post("/sms/inbound")
def sms_inbound():
    _check_signature()
    sid, from_phone = _required("MessageSid", "From")
    inbound = inbox.receive_sms(sid, from_phone, request.form.get("Body", ""))
    if inbound is not None and inbound.outcome == inbox.RATE_LIMITED:
        raise TextingTooFast()
    return _twiml()


@bp.post("/sms/status")
def sms_status():
    _check_signature()
    sid, status = _required("MessageSid", "MessageStatus")
    error_code = request.form.get("ErrorCode")
    code = int(error_code) if error_code and error_code.isdigit() else None
    delivery.status_reported(sid, status, code)
    return _twiml()


# SMSGate events. Their ids are the app's nanoids or UUIDs (21-36 characters); stored prefixed in
# the inbound messages' MessageSid column (64), which keeps them apart from Twilio's SIDs.
SMSGATE_SID_PREFIX = "smsgate:"
SMSGATE_EVENT_ID_MAX = SID_MAX - len(SMSGATE_SID_PREFIX)
SMSGATE_MALFORMED_EVENT = "smsgate_malformed"


@bp.post("/sms/smsgate")
def sms_smsgate():
    """An SMSGate event: sms:received (a text to the phone), sms:sent/delivered/failed (reports
    on a message we sent, by the id we chose), anything else ignored with 200.

    In this order: the body limit (dispatch/limits.py: a larger body is 413 before it is read),
    the signature over the exact raw bytes and the 5-minute window (403, audited; 429 past the
    forged-request limit), then parsing. A signed event that cannot be parsed is 400 and
    audited: the phone retries it (14 times over about two days), so an event this version
    cannot read is not lost if a fix is deployed meanwhile, and the operator sees it.
    """
    body = request.get_data(cache=False)  # at most MAX_EVENT_BYTES: dispatch/limits.py refused more
    try:
        verify_signature(
            body,
            signature=request.headers.get("X-Signature"),
            timestamp=request.headers.get("X-Timestamp"),
            signing_key=current_app.config["SMSGATE_SIGNING_KEY"] or "",
            now=time.time(),
        )
    except SignatureInvalid as exc:
        _refuse_forged("Missing or invalid X-Signature, or X-Timestamp not within 5 minutes of now.", reason=exc.reason)
    try:
        event = parse_event(body, default_region=current_app.config["DEFAULT_PHONE_REGION"])
        if len(event.id) > SMSGATE_EVENT_ID_MAX:
            raise MalformedEvent(f"id is longer than {SMSGATE_EVENT_ID_MAX} characters", reason="invalid", field="id")
    except MalformedEvent as exc:
        audit.record("smsgate", SMSGATE_MALFORMED_EVENT, details={"reason": exc.reason, "field": exc.field})
        db.session.commit()
        log.warning("smsgate: signed event refused as malformed: %s", exc)
        raise ValidationFailed(
            f"Not a usable SMSGate event: {exc}.", {"fields": {exc.field or "body": exc.reason}}
        ) from None
    if isinstance(event.payload, ReceivedSms):
        text = event.payload
        # A sender that is no phone number (the carrier's own texts) is kept as the phone wrote it.
        inbound = inbox.receive_sms(SMSGATE_SID_PREFIX + event.id, text.phone or text.phone_raw, text.text)
        if inbound is None:
            result = "duplicate"
        elif inbound.outcome == inbox.RATE_LIMITED:
            result = "stored_not_acted_on"  # a 2xx all the same: anything else is retried for days
        else:
            result = "handled"
    elif isinstance(event.payload, DeliveryReport):
        report = event.payload
        if report.reason:
            log.warning("smsgate: message %s failed: %s", report.message_id, report.reason)
        # Statuses only move forward, so a repeated report changes nothing.
        delivery.status_reported(report.message_id, report.status, None)
        result = "handled"
    else:
        result = "ignored"  # system:ping, MMS and data SMS, anything newer
    return {"id": event.id, "event": event.raw_event, "result": result}


TELEGRAM_MALFORMED_UPDATE = telegram_inbox.MALFORMED_UPDATE


@bp.post("/telegram/webhook")
def telegram_webhook():
    """A Telegram update. In this order: the body limit (dispatch/limits.py, 64 KiB: 413 before
    it is read), the X-Telegram-Bot-Api-Secret-Token header compared in constant time (403,
    audited; 429 past the forged-request limit), then parsing and handling.

    Telegram re-delivers anything but a 2xx, for hours, and an update this version cannot read
    will never become readable: a signed but unusable update (malformed JSON, a field out of
    range) is answered 200 and audited, and so is a kind of update we do not act on. The same
    update_id twice is handled once (200 "duplicate")."""
    if not current_app.config["TELEGRAM_ENABLED"] or current_app.config["TELEGRAM_SIMULATED"]:
        raise NotFound("Telegram is not configured on this service.")
    body = request.get_data(cache=False)  # at most 64 KiB: dispatch/limits.py refused more
    if not verify_webhook_secret(
        request.headers.get("X-Telegram-Bot-Api-Secret-Token"), current_app.config["TELEGRAM_WEBHOOK_SECRET"] or ""
    ):
        _refuse_forged("Missing or wrong X-Telegram-Bot-Api-Secret-Token.")
    return telegram_inbox.receive_body(body)


def register_webhooks(app: Flask) -> None:
    # Signed by the provider, not posted by a browser: the signature stands in for a CSRF token.
    csrf.exempt(bp)
    app.register_blueprint(bp)
