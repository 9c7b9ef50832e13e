"""Gateways: the real twilio client against the loopback FakeTwilio, and the local gateways."""

import logging
import re
import threading
import time

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, ProtocolError

from notifications.gateway import (
    ConsoleGateway,
    MemoryGateway,
    SendResult,
    SentSms,
    SmsAmbiguous,
    SmsGateway,
    SmsPermanent,
    SmsRetryable,
    TwilioGateway,
    _from_transport_error,
    mask_phone,
)
from tests.fakes.twilio_server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, closed_port_url

TO = "+77012345678"
FROM = "+15005550006"
SERVICE_SID = "MG" + "ab" * 16
SID_PATTERN = re.compile(r"^SM[0-9a-f]{32}$")


def gateway_for(fake, **kwargs) -> TwilioGateway:
    kwargs.setdefault("from_number", FROM)
    kwargs.setdefault("timeout_s", 2.0)
    return TwilioGateway(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, api_base_url=fake.base_url, **kwargs)


def test_created_message_gives_the_provider_id(fake_twilio):
    result = gateway_for(fake_twilio).send(TO, "Өрт: Талгар. ИӘ 482 / ЖОҚ 482")
    assert isinstance(result, SendResult)
    assert SID_PATTERN.match(result.provider_id)
    assert result.status == "queued"
    [message] = fake_twilio.messages
    assert message["sid"] == result.provider_id
    assert (message["to"], message["from"]) == (TO, FROM)
    assert message["body"] == "Өрт: Талгар. ИӘ 482 / ЖОҚ 482"
    [request] = fake_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"
    assert request.authorized
    assert request.field("StatusCallback") is None and request.field("ValidityPeriod") is None


def test_status_callback_and_validity_reach_twilio(fake_twilio):
    gateway = gateway_for(fake_twilio)
    gateway.send(TO, "a", status_callback="https://dispatch.example/sms/status/17", validity_s=600)
    gateway.send(TO, "b", validity_s=99999)  # above Twilio's 36000 s maximum
    gateway.send(TO, "c", validity_s=0)  # below its 1 s minimum
    first, second, third = fake_twilio.requests
    assert first.field("StatusCallback") == "https://dispatch.example/sms/status/17"
    assert first.field("ValidityPeriod") == "600"
    assert second.field("ValidityPeriod") == "36000"
    assert third.field("ValidityPeriod") == "1"


def test_messaging_service_instead_of_a_from_number(fake_twilio):
    gateway = gateway_for(fake_twilio, from_number=None, messaging_service_sid=SERVICE_SID)
    result = gateway.send(TO, "hello")
    assert result.status == "accepted"  # what Twilio answers through a Messaging Service
    request = fake_twilio.requests[0]
    assert request.field("MessagingServiceSid") == SERVICE_SID
    assert request.field("From") is None


def test_a_sender_is_required():
    with pytest.raises(ValueError):
        TwilioGateway(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)


@pytest.mark.parametrize(
    ("script", "error", "code", "status", "reason"),
    [
        (dict(status=429, code=20429), SmsRetryable, 20429, 429, None),
        (dict(status=429, code=None), SmsRetryable, 20429, 429, None),
        (dict(status=500), SmsAmbiguous, 20500, 500, None),
        (dict(status=503), SmsAmbiguous, 20503, 503, None),
        (dict(status=400, code=21211), SmsPermanent, 21211, 400, "invalid_number"),
        (dict(status=400, code=21610), SmsPermanent, 21610, 400, "unsubscribed"),
        (dict(status=400, code=21614), SmsPermanent, 21614, 400, "not_mobile"),
        (dict(status=400, code=21606), SmsPermanent, 21606, 400, "rejected"),
        (dict(status=403, code=None), SmsPermanent, None, 403, "rejected"),
    ],
)
def test_twilio_errors_map_to_what_to_do_next(fake_twilio, script, error, code, status, reason):
    fake_twilio.fail_next(**script)
    with pytest.raises(error) as caught:
        gateway_for(fake_twilio).send(TO, "x")
    assert type(caught.value) is error
    assert (caught.value.code, caught.value.status) == (code, status)
    if reason:
        assert caught.value.reason == reason
    assert len(fake_twilio.requests) == 1  # exactly one HTTP attempt
    assert fake_twilio.messages == []


def test_after_a_scripted_failure_the_next_send_goes_through(fake_twilio):
    gateway = gateway_for(fake_twilio)
    fake_twilio.fail_next(429, times=2)
    for _ in range(2):
        with pytest.raises(SmsRetryable):
            gateway.send(TO, "x")
    assert gateway.send(TO, "x").status == "queued"
    assert len(fake_twilio.requests) == 3


def test_an_opted_out_number_is_permanent(fake_twilio):
    fake_twilio.opt_out(TO)
    with pytest.raises(SmsPermanent) as caught:
        gateway_for(fake_twilio).send(TO, "x")
    assert caught.value.reason == "unsubscribed"


def test_wrong_credentials_are_permanent(fake_twilio):
    gateway = TwilioGateway(DEFAULT_ACCOUNT_SID, "wrong-token", from_number=FROM, api_base_url=fake_twilio.base_url)
    with pytest.raises(SmsPermanent) as caught:
        gateway.send(TO, "x")
    assert (caught.value.status, caught.value.code, caught.value.reason) == (401, 20003, "auth_failed")
    assert not fake_twilio.requests[0].authorized


def test_a_slow_answer_is_ambiguous_and_the_message_may_exist(fake_twilio):
    fake_twilio.delay_next(1.5)
    started = time.monotonic()
    with pytest.raises(SmsAmbiguous):
        gateway_for(fake_twilio, timeout_s=0.3).send(TO, "x")
    assert time.monotonic() - started < 1.2  # gave up at the timeout, did not wait it out
    assert fake_twilio.wait_for_messages(1)  # Twilio did create it: hence "ambiguous"
    time.sleep(0.3)
    assert len(fake_twilio.requests) == 1  # and the client did not try again


def test_a_refused_connection_is_retryable():
    gateway = TwilioGateway(
        DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, from_number=FROM, api_base_url=closed_port_url(), timeout_s=2.0
    )
    with pytest.raises(SmsRetryable) as caught:
        gateway.send(TO, "x")
    assert caught.value.status is None


def test_a_dropped_connection_after_the_request_is_ambiguous(fake_twilio):
    fake_twilio.down(mode="close")
    with pytest.raises(SmsAmbiguous):
        gateway_for(fake_twilio).send(TO, "x")
    assert len(fake_twilio.requests) == 1  # one attempt: nothing resent it on a new connection


def test_an_outage_and_recovery(fake_twilio):
    gateway = gateway_for(fake_twilio)
    fake_twilio.down()
    for _ in range(3):
        with pytest.raises(SmsAmbiguous) as caught:
            gateway.send(TO, "x")
        assert caught.value.status == 503
    fake_twilio.up()
    assert gateway.send(TO, "x").status == "queued"
    assert [r.status for r in fake_twilio.requests] == [503, 503, 503, 201]


def test_edge_and_region_in_the_environment_do_not_move_the_host(fake_twilio, monkeypatch):
    # Without the gateway's own environment these would rewrite 127.0.0.1 into
    # 127.sydney.au1.0.1 and the request would leave the machine.
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    assert gateway_for(fake_twilio).send(TO, "x").status == "queued"


def test_dns_failure_is_retryable_read_errors_are_ambiguous():
    # Built, not provoked: a real DNS failure would need a resolver, and nothing here may
    # leave the machine. These are the exceptions requests raises (see requests/adapters.py).
    url = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages.json"
    dns = NameResolutionError("api.twilio.com", None, OSError("Name or service not known"))
    assert isinstance(
        _from_transport_error(requests.exceptions.ConnectionError(MaxRetryError(None, url, dns))), SmsRetryable
    )
    assert isinstance(_from_transport_error(requests.exceptions.ConnectTimeout()), SmsRetryable)
    reset = ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    assert isinstance(_from_transport_error(requests.exceptions.ConnectionError(reset)), SmsAmbiguous)
    assert isinstance(_from_transport_error(requests.exceptions.ReadTimeout()), SmsAmbiguous)
    assert isinstance(_from_transport_error(requests.exceptions.InvalidURL()), SmsPermanent)


def test_many_threads_share_one_gateway(fake_twilio):
    gateway = gateway_for(fake_twilio)
    results: list[SendResult] = []

    def send(i: int) -> None:
        results.append(gateway.send(TO, f"message {i}"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.provider_id for r in results}) == 12
    assert sorted(m["body"] for m in fake_twilio.messages) == sorted(f"message {i}" for i in range(12))


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+77012345678", "+7701***5678"),
        ("+447911123456", "+4479***3456"),
        ("+1234", "***34"),
        ("", "<none>"),
        (None, "<none>"),
    ],
)
def test_mask_phone(number, masked):
    assert mask_phone(number) == masked


def test_console_gateway_logs_a_masked_number(caplog):
    log = logging.getLogger("test.console_sms")
    with caplog.at_level(logging.INFO, logger="test.console_sms"):
        result = ConsoleGateway(log).send(TO, "ИӘ 482 / ЖОҚ 482")
    assert result.status == "sent"
    assert re.match(r"^CONSOLE-[0-9a-f-]{36}$", result.provider_id)
    assert "SMS to +7701***5678: ИӘ 482 / ЖОҚ 482" in caplog.text
    assert TO not in caplog.text


def test_twilio_gateway_logs_masked_numbers(fake_twilio, caplog):
    with caplog.at_level(logging.INFO, logger="notifications.gateway"):
        gateway_for(fake_twilio).send(TO, "x")
    assert "+7701***5678" in caplog.text and TO not in caplog.text


def test_memory_gateway_records_and_fails_on_demand():
    gateway = MemoryGateway()
    first = gateway.send(TO, "one", status_callback="https://cb", validity_s=60)
    gateway.fail_next(SmsRetryable("rate limited", code=20429, status=429), times=2)
    for _ in range(2):
        with pytest.raises(SmsRetryable):
            gateway.send(TO, "two")
    second = gateway.send(TO, "two")
    assert gateway.sent == [
        SentSms(TO, "one", "https://cb", 60, first.provider_id),
        SentSms(TO, "two", None, None, second.provider_id),
    ]
    assert len(gateway.attempts) == 4
    assert first.provider_id != second.provider_id


def test_memory_gateway_is_thread_safe():
    gateway = MemoryGateway()
    gateway.fail_next(SmsAmbiguous("timeout"), times=50)
    failures = []

    def send_many() -> None:
        for _ in range(50):
            try:
                gateway.send(TO, "x")
            except SmsAmbiguous:
                failures.append(1)

    threads = [threading.Thread(target=send_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(failures) == 50
    assert len(gateway.sent) == 350
    assert len({sms.provider_id for sms in gateway.sent}) == 350


def test_every_gateway_satisfies_the_protocol(fake_twilio):
    gateways: list[SmsGateway] = [MemoryGateway(), ConsoleGateway(), gateway_for(fake_twilio)]
    for gateway in gateways:
        assert gateway.send(TO, "x", status_callback=None, validity_s=None).provider_id


def test_console_gateway_logs_one_line_per_sms_whatever_the_text(caplog):
    log = logging.getLogger("test.console_sms")
    with caplog.at_level(logging.INFO, logger="test.console_sms"):
        ConsoleGateway(log).send(TO, "Fire\r\n2024-01-01 INFO forged: SMS to +77010000000: YES")
    assert [r.getMessage() for r in caplog.records] == [
        "SMS to +7701***5678: Fire 2024-01-01 INFO forged: SMS to +77010000000: YES"
    ]


@pytest.mark.parametrize("no_proxy, reaches_twilio", [("", False), ("127.0.0.1", True)])
def test_a_proxy_set_in_the_environment_is_honoured_read_once_at_start(
    fake_twilio, monkeypatch, no_proxy, reaches_twilio
):
    # The proxy and its exceptions are read when the gateway is built, not on every SMS.
    monkeypatch.setenv("HTTP_PROXY", closed_port_url())
    monkeypatch.setenv("NO_PROXY", no_proxy)
    gateway = gateway_for(fake_twilio)
    monkeypatch.delenv("HTTP_PROXY")
    if reaches_twilio:
        assert SID_PATTERN.match(gateway.send(TO, "via no proxy").provider_id)
    else:
        with pytest.raises((SmsRetryable, SmsAmbiguous), match="proxy"):  # the closed proxy was tried
            gateway.send(TO, "via the proxy")
        assert fake_twilio.messages == []
