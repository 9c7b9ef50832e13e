"""Fixtures for the notifications tests: the loopback Twilio, SMSGate and Telegram."""

from tests.fakes.smsgate_server import fake_smsgate  # noqa: F401 (a fixture, used by name)
from tests.fakes.telegram_server import fake_telegram  # noqa: F401 (a fixture, used by name)
from tests.fakes.twilio_server import fake_twilio  # noqa: F401 (a fixture, used by name)
