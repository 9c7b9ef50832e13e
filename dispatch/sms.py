"""The SMS gateways and pacers this app sends through: one for SMS_BACKEND ("sms_gateway",
"sms_pacer") and, when SMS_FALLBACK_BACKEND is set, one for it ("sms_fallback_gateway",
"sms_fallback_pacer"), each paced on its own.

SMS_BACKEND may have several senders: TWILIO_FROM_NUMBER or SMSGATE_URL listing several
numbers or phones, comma-separated. Each is a sender of its own ("sms_more_senders": its
gateway and its pacer at SMS_MAX_PER_SECOND, its own advisory lock), all taking the same
outbox rows in the same fair order, in parallel: two phones send twice as many SMS a second."""

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


def _each_sender(config) -> list[dict]:
    """SMS_BACKEND's settings once per sender it lists (a number or a phone each)."""
    if config["SMS_BACKEND"] == "smsgate" and config["SMSGATE_URL"]:
        return [{**config, "SMSGATE_URL": url} for url in config["SMSGATE_URL"].split(",")]
    numbers = [n.strip() for n in (config.get("TWILIO_FROM_NUMBER") or "").split(",") if n.strip()]
    if config["SMS_BACKEND"] == "twilio" and len(numbers) > 1 and not config.get("TWILIO_MESSAGING_SERVICE_SID"):
        return [{**config, "TWILIO_FROM_NUMBER": number} for number in numbers]
    return [config]


def register_sms(app: Flask) -> None:
    first, *more = _each_sender(app.config)
    app.extensions["sms_gateway"] = build_gateway(first)
    app.extensions["sms_pacer"] = Pacer(app.config["SMS_MAX_PER_SECOND"])
    app.extensions["sms_more_senders"] = [
        (build_gateway(settings), Pacer(app.config["SMS_MAX_PER_SECOND"])) for settings in more
    ]
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


def senders() -> list[tuple[str | None, SmsGateway, Pacer, int]]:
    """(outbox route, gateway, pacer, index among its provider's senders) for each SMS sender:
    SMS_BACKEND's (one, or one per number or phone it lists), then SMS_FALLBACK_BACKEND's."""
    found: list[tuple[str | None, SmsGateway, Pacer, int]] = [(None, gateway(), pacer(), 0)]
    for index, (more, its_pacer) in enumerate(current_app.extensions.get("sms_more_senders", ()), start=1):
        found.append((None, more, its_pacer, index))
    fallback = fallback_gateway()
    if fallback is not None:
        found.append(("fallback", fallback, current_app.extensions["sms_fallback_pacer"], 0))
    return found
