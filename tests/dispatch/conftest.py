"""Fixtures for dispatch: a loopback Twilio, the outbox run by hand, signed webhooks (the
in-memory SMS gateway, `sms`, is in tests/conftest.py; the pages use it too)."""

from __future__ import annotations

import itertools

import pytest

from dispatch import jobs
from dispatch.outbox import Pacer
from notifications.gateway import TwilioGateway
from notifications.smsgate import SmsGateGateway
from tests.fakes.smsgate_server import FakeSmsGate, SignedEvent
from tests.fakes.twilio_server import FakeTwilio

from .factories import signed_post
from .telegram_support import run_telegram, telegram, tg_in  # noqa: F401 (fixtures for the Telegram tests)

_sids = itertools.count(1)


@pytest.fixture
def twilio(app):
    """The app sends through TwilioGateway to a FakeTwilio on loopback; no pacing delays."""
    saved = app.extensions["sms_gateway"], app.extensions["sms_pacer"]
    with FakeTwilio() as fake:
        app.extensions["sms_gateway"] = TwilioGateway(
            fake.account_sid, fake.auth_token, from_number="+15005550006", api_base_url=fake.base_url, timeout_s=0.5
        )
        app.extensions["sms_pacer"] = Pacer(10_000)
        yield fake
        app.extensions["sms_gateway"], app.extensions["sms_pacer"] = saved


@pytest.fixture
def run_outbox(sms):
    def run() -> list:
        before = len(sms.sent)
        jobs.send_outbox()
        return sms.sent[before:]

    return run


@pytest.fixture
def text_in(client, app):
    """text_in(phone, body) -> the webhook's response, as Twilio would post it."""

    def send(phone: str, body: str, sid: str | None = None):
        params = {"MessageSid": sid or f"SM{next(_sids):032d}", "From": phone, "To": "+77000000000", "Body": body}
        return signed_post(client, app, "/sms/inbound", params)

    return send


@pytest.fixture
def status_in(client, app):
    def send(provider_id: str, status: str, error_code: str | None = None):
        params = {"MessageSid": provider_id, "MessageStatus": status}
        if error_code:
            params["ErrorCode"] = error_code
        return signed_post(client, app, "/sms/status", params)

    return send


@pytest.fixture
def smsgate(app):
    """The app sends through SmsGateGateway to a FakeSmsGate on loopback (as with
    SMS_BACKEND=smsgate) and checks its events with the fake's signing key; no pacing delays."""
    saved = app.extensions["sms_gateway"], app.extensions["sms_pacer"], app.config["SMSGATE_SIGNING_KEY"]
    with FakeSmsGate() as fake:
        gateway = SmsGateGateway(fake.base_url, fake.username, fake.password, timeout_s=0.5)
        app.extensions["sms_gateway"], app.extensions["sms_pacer"] = gateway, Pacer(10_000)
        app.config["SMSGATE_SIGNING_KEY"] = fake.signing_key
        try:
            yield fake
        finally:
            gateway.close()
            app.extensions["sms_gateway"], app.extensions["sms_pacer"], app.config["SMSGATE_SIGNING_KEY"] = saved


@pytest.fixture
def smsgate_in(client):
    """smsgate_in(event) -> the response to a SignedEvent posted as the phone posts it."""

    def post(event: SignedEvent, **kwargs):
        return client.post("/sms/smsgate", data=event.body, headers=event.headers, **kwargs)

    return post
