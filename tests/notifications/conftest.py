"""Fixtures for the notifications tests: the loopback Twilio."""

from tests.fakes.twilio_server import fake_twilio  # noqa: F401 (a fixture, used by name)
