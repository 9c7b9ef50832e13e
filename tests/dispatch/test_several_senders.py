"""Several senders for one provider (issue 13): SMSGATE_URL listing two phones (or
TWILIO_FROM_NUMBER two numbers) gives two senders, each with its own pacer and lock, sending
the same outbox in parallel, each SMS once."""

from __future__ import annotations

import pytest

from config import ConfigError, TestConfig
from dispatch import create_app, jobs, outbox, sms
from dispatch.extensions import db
from dispatch.outbox import Pacer
from notifications.smsgate import SmsGateGateway
from tests.fakes.smsgate_server import FakeSmsGate

from .factories import swimmers


@pytest.fixture
def two_phones(app):
    saved = {k: app.extensions.get(k) for k in ("sms_gateway", "sms_pacer", "sms_more_senders")}
    with FakeSmsGate() as first, FakeSmsGate() as second:
        gateways = [SmsGateGateway(f.base_url, f.username, f.password, timeout_s=1.0) for f in (first, second)]
        app.extensions["sms_gateway"], app.extensions["sms_pacer"] = gateways[0], Pacer(10_000)
        app.extensions["sms_more_senders"] = [(gateways[1], Pacer(10_000))]
        try:
            yield first, second
        finally:
            for gateway in gateways:
                gateway.close()
            app.extensions.update(saved)


def test_two_phones_share_the_outbox_each_sms_once(two_phones):
    first, second = two_phones
    people = swimmers(40)
    for person in people:
        outbox.enqueue(person, "broadcast", "Sandbags at the north gate at 18:00.")
    db.session.commit()
    # Slow phones, so both senders are busy at once.
    first.delay_next(0.02, times=40)
    second.delay_next(0.02, times=40)
    assert jobs.send_outbox() == 40
    sent = [n for phone in (first, second) for m in phone.messages for n in m.phone_numbers]
    assert sorted(sent) == sorted(p.phone for p in people)  # everyone once, on one phone or the other
    assert first.messages and second.messages  # both phones sent


def test_each_phone_is_a_sender_of_its_own(tmp_path):
    config = TestConfig.for_database(
        f"sqlite:///{tmp_path / 'two.db'}",
        SMS_BACKEND="smsgate",
        SMSGATE_URL="http://192.168.1.5:8080, http://192.168.1.6:8080/",
        SMSGATE_USERNAME="sms",
        SMSGATE_PASSWORD="secret",
        SMSGATE_SIGNING_KEY="key",
        SMS_MAX_PER_SECOND="3",
    )
    assert config.SMSGATE_URL == "http://192.168.1.5:8080,http://192.168.1.6:8080"
    app = create_app(config)
    with app.app_context():
        senders = sms.senders()
    assert [index for _, _, _, index in senders] == [0, 1]
    assert [g.base_url for _, g, _, _ in senders] == ["http://192.168.1.5:8080", "http://192.168.1.6:8080"]
    pacers = [p for _, _, p, _ in senders]
    assert pacers[0] is not pacers[1] and all(p.per_second == 3 for p in pacers)
    keys = {outbox.sender_lock_key("smsgate", index) for index in (0, 1)}
    assert len(keys) == 2 and outbox.sender_lock_key("smsgate") == outbox.SENDER_LOCK_KEYS["smsgate"]
    app.extensions["sms_gateway"].close()
    for gateway, _ in app.extensions["sms_more_senders"]:
        gateway.close()


def test_two_twilio_numbers_are_two_senders(tmp_path):
    config = TestConfig.for_database(
        f"sqlite:///{tmp_path / 'tw.db'}",
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_FROM_NUMBER="+15005550006,+15005550007",
    )
    app = create_app(config)
    with app.app_context():
        assert [g.from_number for _, g, _, _ in sms.senders()] == ["+15005550006", "+15005550007"]


def test_a_bad_phone_url_in_the_list_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="SMSGATE_URL"):
        TestConfig.for_database(
            f"sqlite:///{tmp_path / 'bad.db'}",
            SMS_BACKEND="smsgate",
            SMSGATE_URL="http://192.168.1.5:8080,ftp://phone",
            SMSGATE_USERNAME="sms",
            SMSGATE_PASSWORD="secret",
            SMSGATE_SIGNING_KEY="key",
        )
