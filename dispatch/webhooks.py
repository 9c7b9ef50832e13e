"""The SMS provider's callbacks: POST /sms/inbound (a volunteer's text) and /sms/status.

Both are signature-checked over PUBLIC_BASE_URL + path (so it holds behind a proxy, where the
URL Twilio called is not the one this process sees); a bad or missing signature is 403 and
changes nothing but an audit record of the failure. Answers are TwiML.

Two limits, both counted in the database so every worker agrees, both answered 429:
- forged requests per client address (below): a signed request is never refused by it;
- texts per sending number (inbox.MAX_TEXTS_PER_NUMBER): over it a text is stored, not acted on.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy import func, select

from notifications.signatures import is_valid_signature, twiml_message

from . import audit, delivery, inbox
from .clock import utcnow
from .errors import Forbidden, RateLimited, ValidationFailed
from .extensions import csrf, db
from .models import AuditEvent

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
    message = "Too many requests without a valid X-Twilio-Signature from this address; try again later."
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
    actor = f"address:{request.remote_addr}"[:64]
    failures = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(
            AuditEvent.actor == actor, AuditEvent.event == FORGED_EVENT, AuditEvent.at > utcnow() - FORGED_WINDOW)
    )
    if failures >= MAX_FORGED_PER_ADDRESS:
        raise TooManyForgedRequests()
    audit.record(actor, FORGED_EVENT, details={"path": request.path})
    db.session.commit()
    raise Forbidden("Missing or invalid X-Twilio-Signature.")


def _required(*names: str) -> list[str]:
    missing = [n for n in names if not request.form.get(n)]
    if missing:
        raise ValidationFailed(f"Missing form fields: {', '.join(missing)}.", {"fields": {n: "required" for n in missing}})
    if len(request.form["MessageSid"]) > SID_MAX:
        raise ValidationFailed(f"MessageSid is longer than {SID_MAX} characters.", {"fields": {"MessageSid": "too long"}})
    if not MESSAGE_SID.fullmatch(request.form["MessageSid"]):
        raise ValidationFailed("MessageSid is not a message SID (SM or MM and 32 hexadecimal digits).",
                               {"fields": {"MessageSid": "not a message SID"}})
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


def register_webhooks(app: Flask) -> None:
    # Signed by the provider, not posted by a browser: the signature stands in for a CSRF token.
    csrf.exempt(bp)
    app.register_blueprint(bp)
