"""The SMS gateways and pacers this app sends through: one for SMS_BACKEND ("sms_gateway",
"sms_pacer") and, when SMS_FALLBACK_BACKEND is set, one for it ("sms_fallback_gateway",
"sms_fallback_pacer"), each paced on its own."""

from __future__ import annotations

from flask import Flask, current_app

from notifications.gateway import ConsoleGateway, SmsGateway, TwilioGateway
from notifications.smsgate import SmsGateGateway

from .outbox import Pacer


def build_gateway(config, backend: str | None = None) -> SmsGateway:
    """The gateway for `backend` (default SMS_BACKEND; SMS_FALLBACK_BACKEND for the second)."""
    backend = backend or config["SMS_BACKEND"]
    if backend == "smsgate":
        return SmsGateGateway(
            config["SMSGATE_URL"],
            config["SMSGATE_USERNAME"],
            config["SMSGATE_PASSWORD"],
        )
    if backend == "twilio":
        return TwilioGateway(
            config["TWILIO_ACCOUNT_SID"],
            config["TWILIO_AUTH_TOKEN"],
            from_number=config["TWILIO_FROM_NUMBER"],
            messaging_service_sid=config["TWILIO_MESSAGING_SERVICE_SID"],
            api_base_url=config["TWILIO_API_BASE_URL"],
        )
    return ConsoleGateway()


def register_sms(app: Flask) -> None:
    app.extensions["sms_gateway"] = build_gateway(app.config)
    app.extensions["sms_pacer"] = Pacer(app.config["SMS_MAX_PER_SECOND"])
    if app.config["SMS_FALLBACK_BACKEND"]:
        app.extensions["sms_fallback_gateway"] = build_gateway(app.config, app.config["SMS_FALLBACK_BACKEND"])
        app.extensions["sms_fallback_pacer"] = Pacer(app.config["SMS_MAX_PER_SECOND"])


def gateway() -> SmsGateway:
    return current_app.extensions["sms_gateway"]


def pacer() -> Pacer:
    return current_app.extensions["sms_pacer"]


def fallback_gateway() -> SmsGateway | None:
    """The SMS_FALLBACK_BACKEND's gateway; None when there is no second SMS provider."""
    return current_app.extensions.get("sms_fallback_gateway")


def senders() -> list[tuple[str | None, SmsGateway, Pacer]]:
    """(outbox route, gateway, pacer) for each configured SMS provider, SMS_BACKEND first."""
    found: list[tuple[str | None, SmsGateway, Pacer]] = [(None, gateway(), pacer())]
    fallback = fallback_gateway()
    if fallback is not None:
        found.append(("fallback", fallback, current_app.extensions["sms_fallback_pacer"]))
    return found
