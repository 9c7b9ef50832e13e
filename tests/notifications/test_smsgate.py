"""SmsGateGateway: the real client on requests against the loopback FakeSmsGate."""

import base64
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications.gateway import (
    SendResult,
    SmsAmbiguous,
    SmsGateway,
    SmsPermanent,
    SmsRetryable,
)
from notifications.smsgate import MIN_TTL_S, SmsGateGateway, is_valid_message_id
from tests.fakes.smsgate_server import CLOUD_PREFIX, FakeSmsGate
from tests.fakes.twilio_server import closed_port_url

TO = "+77012345678"
OTHER = "+77079876543"
TEXT = "Өрт: Талгар. ИӘ 482 / ЖОҚ 482"


def gateway_for(fake: FakeSmsGate, **kwargs) -> SmsGateGateway:
    kwargs.setdefault("timeout_s", 2.0)
    return SmsGateGateway(fake.base_url, fake.username, fake.password, **kwargs)


def test_it_is_an_sms_gateway(fake_smsgate):
    gateway: SmsGateway = gateway_for(fake_smsgate)  # the outbox's protocol
    assert isinstance(gateway.send(TO, "hello"), SendResult)


def test_send_enqueues_one_message_under_the_callers_id(fake_smsgate):
    result = gateway_for(fake_smsgate).send(TO, TEXT, idempotency_key="outbox-17", validity_s=600)
    assert result == SendResult(provider_id="outbox-17", status="pending")
    [message] = fake_smsgate.messages
    assert message.id == "outbox-17"
    assert message.phone_numbers == [TO]
    assert message.text == TEXT
    assert message.ttl == 600
    assert message.with_delivery_report is True
    [request] = fake_smsgate.requests
    assert (request.method, request.path, request.status) == ("POST", "/messages", 202)
    assert request.json() == {
        "id": "outbox-17",
        "phoneNumbers": [TO],
        "textMessage": {"text": TEXT},
        "withDeliveryReport": True,
        "ttl": 600,
    }


def test_basic_auth_is_sent(fake_smsgate):
    gateway_for(fake_smsgate).send(TO, "hello")
    [request] = fake_smsgate.requests
    expected = base64.b64encode(f"{fake_smsgate.username}:{fake_smsgate.password}".encode())
    assert request.headers["Authorization"] == "Basic " + expected.decode()
    assert request.authorized


def test_the_cloud_paths_under_3rdparty_v1():
    with FakeSmsGate(prefix=CLOUD_PREFIX) as fake:
        assert fake.base_url.endswith("/3rdparty/v1")
        gateway_for(fake).send(TO, "hello", idempotency_key="k1")
        assert [m.id for m in fake.messages] == ["k1"]
        # A URL without the prefix reaches no API: a configuration error, not a retry.
        wrong = SmsGateGateway(fake.base_url.removesuffix(CLOUD_PREFIX), fake.username, fake.password)
        with pytest.raises(SmsPermanent) as err:
            wrong.send(TO, "hello", idempotency_key="k2")
        assert (err.value.reason, err.value.status) == ("config", 404)
        assert [m.id for m in fake.messages] == ["k1"]


def test_without_a_key_each_send_gets_its_own_id(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    first, second = gateway.send(TO, "a"), gateway.send(TO, "a")
    assert first.provider_id != second.provider_id
    assert [m.id for m in fake_smsgate.messages] == [first.provider_id, second.provider_id]
    assert all(is_valid_message_id(m.id) for m in fake_smsgate.messages)


def test_validity_below_the_minimum_ttl_is_raised_to_it(fake_smsgate):
    gateway_for(fake_smsgate).send(TO, "a", validity_s=1)
    assert fake_smsgate.messages[0].ttl == MIN_TTL_S


def test_sim_and_priority_are_passed_when_set(fake_smsgate):
    gateway_for(fake_smsgate, sim_number=2, priority=100, with_delivery_report=False).send(TO, "a")
    body = fake_smsgate.requests[0].json()
    assert (body["simNumber"], body["priority"], body["withDeliveryReport"]) == (2, 100, False)
    assert "ttl" not in body


# --- idempotency ------------------------------------------------------------------------


def test_a_retry_with_the_same_key_sends_nothing_more(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    first = gateway.send(TO, TEXT, idempotency_key="outbox-5")
    again = gateway.send(TO, TEXT, idempotency_key="outbox-5")
    assert again.provider_id == first.provider_id == "outbox-5"
    assert len(fake_smsgate.messages) == 1
    statuses = [(r.method, r.path, r.status) for r in fake_smsgate.requests]
    # The 409 is checked against the message's state: same recipient, so it was this SMS.
    assert statuses == [("POST", "/messages", 202), ("POST", "/messages", 409), ("GET", "/messages/outbox-5", 200)]


def test_a_409_reports_the_state_the_message_has_reached(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    gateway.send(TO, TEXT, idempotency_key="outbox-6")
    fake_smsgate.set_state("outbox-6", "Delivered")
    assert gateway.send(TO, TEXT, idempotency_key="outbox-6").status == "delivered"


def test_a_crash_after_the_phone_took_it_is_retried_without_a_second_sms(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    fake_smsgate.fail_next(500, created=True)  # accepted, then the answer is lost in a 500
    with pytest.raises(SmsRetryable) as err:
        gateway.send(TO, TEXT, idempotency_key="outbox-7")
    assert err.value.status == 500
    result = gateway.send(TO, TEXT, idempotency_key="outbox-7")
    assert result.provider_id == "outbox-7"
    assert len(fake_smsgate.messages) == 1


def test_a_timeout_is_retryable_and_the_retry_sends_nothing_more(fake_smsgate):
    gateway = gateway_for(fake_smsgate, timeout_s=0.3)
    fake_smsgate.delay_next(1.5)  # the phone takes it but answers too late
    with pytest.raises(SmsRetryable):
        gateway.send(TO, TEXT, idempotency_key="outbox-8")
    assert fake_smsgate.wait_for_messages(1)
    assert gateway.send(TO, TEXT, idempotency_key="outbox-8").provider_id == "outbox-8"
    assert len(fake_smsgate.messages) == 1


def test_without_a_key_a_timeout_is_ambiguous(fake_smsgate):
    fake_smsgate.delay_next(1.5)
    with pytest.raises(SmsAmbiguous):
        gateway_for(fake_smsgate, timeout_s=0.3).send(TO, TEXT)


def test_an_id_reused_for_another_recipient_is_not_taken_for_sent(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    gateway.send(TO, "first", idempotency_key="outbox-9")
    with pytest.raises(SmsPermanent) as err:
        gateway.send(OTHER, "second", idempotency_key="outbox-9")
    assert (err.value.reason, err.value.status) == ("id_conflict", 409)
    assert [m.phone_numbers for m in fake_smsgate.messages] == [[TO]]


def test_a_409_whose_state_cannot_be_read_is_still_a_success(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    gateway.send(TO, TEXT, idempotency_key="outbox-10")
    fake_smsgate.reset()  # the phone forgot the message: GET /messages/{id} is 404
    fake_smsgate.fail_next(409)
    assert gateway.send(TO, TEXT, idempotency_key="outbox-10") == SendResult("outbox-10", "pending")
    assert fake_smsgate.messages == []


def test_concurrent_retries_of_one_key_make_one_sms(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    results, errors = [], []

    def send():
        try:
            results.append(gateway.send(TO, TEXT, idempotency_key="outbox-11"))
        except Exception as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {r.provider_id for r in results} == {"outbox-11"}
    assert len(fake_smsgate.messages) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=st.lists(st.sampled_from(["ok", "500-created", "500", "503", "timeout"]), min_size=1, max_size=6))
def test_any_history_of_failures_ends_in_exactly_one_sms(fake_smsgate, attempts):
    """Whatever happened to the earlier attempts, retrying the key until it succeeds leaves one
    message at the phone: never zero, never two."""
    fake_smsgate.reset()
    gateway = gateway_for(fake_smsgate, timeout_s=0.2)
    for outcome in attempts:
        if outcome == "500-created":
            fake_smsgate.fail_next(500, created=True)
        elif outcome in ("500", "503"):
            fake_smsgate.fail_next(int(outcome))
        elif outcome == "timeout":
            fake_smsgate.delay_next(0.5)
        try:
            gateway.send(TO, TEXT, idempotency_key="outbox-h")
        except SmsRetryable:
            continue
    gateway.send(TO, TEXT, idempotency_key="outbox-h")  # the outbox's last, successful retry
    assert fake_smsgate.wait_for_messages(1)
    assert [m.id for m in fake_smsgate.messages] == ["outbox-h"]


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_busy_or_broken_server_is_retryable_with_a_key(fake_smsgate, status):
    fake_smsgate.fail_next(status, message="Queue limits exceeded; ensure device is online")
    with pytest.raises(SmsRetryable) as err:
        gateway_for(fake_smsgate).send(TO, TEXT, idempotency_key="outbox-20")
    assert err.value.status == status
    assert "Queue limits exceeded" in str(err.value)
    assert fake_smsgate.messages == []


@pytest.mark.parametrize(
    ("status", "error"), [(429, SmsRetryable), (503, SmsRetryable), (500, SmsAmbiguous), (502, SmsAmbiguous)]
)
def test_without_a_key_a_5xx_other_than_503_is_ambiguous(fake_smsgate, status, error):
    fake_smsgate.fail_next(status)
    with pytest.raises(error):
        gateway_for(fake_smsgate).send(TO, TEXT)


def test_wrong_password_is_permanent(fake_smsgate):
    gateway = SmsGateGateway(fake_smsgate.base_url, fake_smsgate.username, "wrong")
    with pytest.raises(SmsPermanent) as err:
        gateway.send(TO, TEXT, idempotency_key="outbox-21")
    assert (err.value.reason, err.value.status) == ("auth_failed", 401)
    assert fake_smsgate.messages == []


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "rejected"), (403, "forbidden"), (404, "config"), (422, "rejected")]
)
def test_client_errors_are_permanent(fake_smsgate, status, reason):
    fake_smsgate.fail_next(status, message="phone number is invalid")
    with pytest.raises(SmsPermanent) as err:
        gateway_for(fake_smsgate).send(TO, TEXT, idempotency_key="outbox-22")
    assert (err.value.reason, err.value.status) == (reason, status)


def test_a_request_the_api_refuses_is_permanent(fake_smsgate):
    with pytest.raises(SmsPermanent) as err:
        gateway_for(fake_smsgate).send(TO, "", idempotency_key="outbox-23")  # no text
    assert (err.value.reason, err.value.status) == ("rejected", 400)
    assert "textMessage" in str(err.value)


def test_a_refused_connection_is_retryable():
    gateway = SmsGateGateway(closed_port_url(), "sms", "pw", timeout_s=1.0)
    with pytest.raises(SmsRetryable):
        gateway.send(TO, TEXT)  # never opened: retryable even without a key


@pytest.mark.parametrize("key", [None, "outbox-24"])
def test_a_dropped_connection(fake_smsgate, key):
    fake_smsgate.down(mode="close")  # reads the request, hangs up without an answer
    expected = SmsAmbiguous if key is None else SmsRetryable
    with pytest.raises(expected):
        gateway_for(fake_smsgate).send(TO, TEXT, idempotency_key=key)


def test_an_outage_then_recovery(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    fake_smsgate.down()
    with pytest.raises(SmsRetryable):
        gateway.send(TO, TEXT, idempotency_key="outbox-25")
    fake_smsgate.up()
    assert gateway.send(TO, TEXT, idempotency_key="outbox-25").provider_id == "outbox-25"


@pytest.mark.parametrize("key", ["", "a" * 37, "has space", "slash/in/it", "ключ", 17])
def test_a_key_the_api_cannot_take_is_a_programming_error(fake_smsgate, key):
    with pytest.raises(ValueError):
        gateway_for(fake_smsgate).send(TO, TEXT, idempotency_key=key)
    assert fake_smsgate.requests == []


@pytest.mark.parametrize("url", ["", "ftp://phone:8080", "192.168.1.5:8080", "http://x/?a=1"])
def test_a_bad_base_url_is_refused_at_construction(url):
    with pytest.raises(ValueError):
        SmsGateGateway(url, "sms", "pw")


def test_credentials_are_required():
    with pytest.raises(ValueError):
        SmsGateGateway("http://127.0.0.1:8080", "", "pw")
    with pytest.raises(ValueError):
        SmsGateGateway("http://127.0.0.1:8080", "sms", "")


# --- the connection pool ----------------------------------------------------------------


def test_many_sends_share_one_kept_alive_connection(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    for n in range(20):
        gateway.send(TO, f"call-out {n}", idempotency_key=f"outbox-{n}")
    ports = {r.client_port for r in fake_smsgate.requests}
    assert len(fake_smsgate.requests) == 20
    assert len(ports) == 1


def test_a_timed_out_connection_is_replaced(fake_smsgate):
    gateway = gateway_for(fake_smsgate, timeout_s=0.3)
    gateway.send(TO, "a", idempotency_key="k-1")
    fake_smsgate.delay_next(1.0)
    with pytest.raises(SmsRetryable):
        gateway.send(TO, "b", idempotency_key="k-2")
    gateway.send(TO, "c", idempotency_key="k-3")
    first, second, third = fake_smsgate.requests[:3]
    assert first.client_port == second.client_port != third.client_port


# --- other calls ------------------------------------------------------------------------


def test_message_state(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    gateway.send(TO, TEXT, idempotency_key="outbox-30")
    fake_smsgate.set_state("outbox-30", "Failed", error="RESULT_ERROR_NO_SERVICE")
    state = gateway.message_state("outbox-30")
    assert (state.id, state.state, state.is_hashed) == ("outbox-30", "failed", False)
    [recipient] = state.recipients
    assert (recipient.phone_number, recipient.state, recipient.error) == (TO, "failed", "RESULT_ERROR_NO_SERVICE")
    with pytest.raises(SmsPermanent) as err:
        gateway.message_state("nope")
    assert err.value.reason == "not_found"


def test_register_webhooks(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    url = "https://dispatch.example/sms/smsgate"
    first = gateway.register_webhook(url, "sms:received", webhook_id="dispatch-received")
    assert first == "dispatch-received"
    gateway.register_webhook(url, "sms:received", webhook_id="dispatch-received")  # replaces
    generated = gateway.register_webhook(url, "sms:delivered")
    assert generated and generated != first
    assert sorted((w["id"] == first, w["event"]) for w in fake_smsgate.webhooks) == [
        (False, "sms:delivered"),
        (True, "sms:received"),
    ]
    with pytest.raises(ValueError):
        gateway.register_webhook(url, "sms:everything")


def test_health(fake_smsgate):
    gateway = gateway_for(fake_smsgate)
    assert gateway.health() == "pass"
    fake_smsgate.health_status = "warn"
    assert gateway.health() == "warn"
    fake_smsgate.health_status = "fail"  # answered 503
    assert gateway.health() == "fail"
    fake_smsgate.down()
    assert gateway.health() == "fail"
    with pytest.raises(SmsRetryable):
        SmsGateGateway(closed_port_url(), "sms", "pw", timeout_s=1.0).health()
