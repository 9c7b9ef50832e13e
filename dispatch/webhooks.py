"""The SMS provider's callbacks: POST /sms/inbound (a volunteer's text) and /sms/status.

Both are signature-checked over PUBLIC_BASE_URL + path (so it holds behind a proxy, where the
URL Twilio called is not the one this process sees); a bad or missing signature is 403 and
changes nothing. Answers are TwiML.
"""
from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, request

from notifications.signatures import is_valid_signature, twiml_message

from . import alerting, inbox, outbox
from .errors import Forbidden, ValidationFailed
from .extensions import db

bp = Blueprint("webhooks", __name__)
FINAL_FAILURES = ("undelivered", "failed")


def _check_signature() -> None:
    url = current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")
    signature = request.headers.get("X-Twilio-Signature")
    if not is_valid_signature(url, request.form, signature, current_app.config["TWILIO_AUTH_TOKEN"] or ""):
        raise Forbidden("Missing or invalid X-Twilio-Signature.")


def _required(*names: str) -> list[str]:
    missing = [n for n in names if not request.form.get(n)]
    if missing:
        raise ValidationFailed(f"Missing form fields: {', '.join(missing)}.", {"fields": {n: "required" for n in missing}})
    return [request.form[n] for n in names]


def _twiml(text: str | None = None) -> Response:
    return Response(twiml_message(text), mimetype="text/xml")


@bp.post("/sms/inbound")
def sms_inbound():
    _check_signature()
    sid, from_phone = _required("MessageSid", "From")
    inbox.receive_sms(sid, from_phone, request.form.get("Body", ""))
    return _twiml()


@bp.post("/sms/status")
def sms_status():
    _check_signature()
    sid, status = _required("MessageSid", "MessageStatus")
    error_code = request.form.get("ErrorCode")
    code = int(error_code) if error_code and error_code.isdigit() else None
    message = outbox.record_status(sid, status, code)
    if message is not None and message.alert_id is not None and message.kind == "alert":
        if message.status == "delivered":
            alerting.alert_sms_delivered(message.alert_id)
        elif message.status in FINAL_FAILURES:
            alerting.alert_sms_failed(message.alert_id, f"provider reported {message.status}")
    db.session.commit()
    return _twiml()


def register_webhooks(app: Flask) -> None:
    app.register_blueprint(bp)
