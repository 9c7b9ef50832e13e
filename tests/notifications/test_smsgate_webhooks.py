"""SMSGate webhooks: the signature over the raw bytes, and events parsed into dataclasses."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.smsgate_webhooks import (
    EVENT_DELIVERED,
    EVENT_FAILED,
    EVENT_RECEIVED,
    EVENT_SENT,
    EVENT_UNKNOWN,
    MAX_EVENT_BYTES,
    MAX_TEXT_CHARS,
    DeliveryReport,
    MalformedEvent,
    ReceivedSms,
    SignatureInvalid,
    normalize_reported_phone,
    parse_event,
    sign,
    verify_signature,
)

KEY = "signing-key-from-the-app"
NOW = 1_760_000_000
BODY = b'{"id":"ev1","event":"sms:received"}'


def headers_for(body: bytes, timestamp: int = NOW, key: str = KEY) -> dict[str, str]:
    return {"signature": sign(body, str(timestamp), key), "timestamp": str(timestamp)}


def verify(body: bytes, *, now: float = NOW, key: str = KEY, **headers: str | None) -> int:
    return verify_signature(body, signing_key=key, now=now, **headers)


def event_bytes(event: str = "sms:received", payload: object = ..., **top) -> bytes:
    """An event document; payload=... leaves the payload out, top-level fields set to ... too."""
    document = {
        "id": "Ey6ECgOkVVFjz3CL48B8C",
        "event": event,
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
        "payload": payload,
    }
    document.update(top)
    return json.dumps({k: v for k, v in document.items() if v is not ...}).encode()


def received(**overrides) -> dict:
    payload = {
        "messageId": "abc",
        "message": "YES 482",
        "phoneNumber": "77012345678",
        "simNumber": 1,
        "receivedAt": "2024-06-07T11:41:31.000+05:00",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not ...}


# --- signature --------------------------------------------------------------------------


def test_the_signature_is_hex_hmac_sha256_of_body_then_timestamp():
    expected = hmac.new(KEY.encode(), BODY + str(NOW).encode(), hashlib.sha256).hexdigest()
    assert sign(BODY, str(NOW), KEY) == expected


def test_a_good_signature_passes():
    assert verify(BODY, **headers_for(BODY)) == NOW


def test_upper_case_hex_passes():
    headers = headers_for(BODY)
    headers["signature"] = headers["signature"].upper()
    assert verify(BODY, **headers) == NOW


@pytest.mark.parametrize("skew", [-300, 300, 0, -299])
def test_inside_the_five_minute_window(skew):
    assert verify(BODY, now=NOW - skew, **headers_for(BODY))


def test_a_stale_timestamp_is_a_replay():
    with pytest.raises(SignatureInvalid) as err:
        verify(BODY, now=NOW + 301, **headers_for(BODY))
    assert err.value.reason == "stale"


def test_a_future_timestamp_is_refused():
    with pytest.raises(SignatureInvalid) as err:
        verify(BODY, now=NOW - 301, **headers_for(BODY))
    assert err.value.reason == "future"


def test_an_altered_body_fails():
    headers = headers_for(BODY)
    with pytest.raises(SignatureInvalid) as err:
        verify(BODY.replace(b"ev1", b"ev2"), **headers)
    assert err.value.reason == "mismatch"


def test_a_moved_timestamp_fails():
    """The timestamp is signed: a replay cannot freshen it."""
    headers = headers_for(BODY, timestamp=NOW - 3600)
    headers["timestamp"] = str(NOW)
    with pytest.raises(SignatureInvalid) as err:
        verify(BODY, **headers)
    assert err.value.reason == "mismatch"


def test_a_wrong_key_fails():
    with pytest.raises(SignatureInvalid) as err:
        verify(BODY, **headers_for(BODY, key="another-key"))
    assert err.value.reason == "mismatch"


def test_a_forged_stale_request_is_reported_as_forged():
    with pytest.raises(SignatureInvalid) as err:
        verify(BODY, now=NOW + 10_000, **headers_for(BODY, key="another-key"))
    assert err.value.reason == "mismatch"


@pytest.mark.parametrize(
    ("signature", "timestamp", "reason"),
    [
        (None, str(NOW), "missing"),
        ("", str(NOW), "missing"),
        ("ab" * 32, None, "missing"),
        ("ab" * 32, "", "missing"),
        ("ab" * 32, "-5", "malformed"),
        ("ab" * 32, "1.5e9", "malformed"),
        ("ab" * 32, "１７６００００００", "malformed"),  # full-width digits are digits to str.isdigit
        ("ab" * 32, "9" * 40, "malformed"),
        ("ab" * 31, str(NOW), "malformed"),
        ("zz" * 32, str(NOW), "mismatch"),
        ("é" * 64, str(NOW), "malformed"),
    ],
)
def test_missing_or_malformed_headers(signature, timestamp, reason):
    with pytest.raises(SignatureInvalid) as err:
        verify(BODY, signature=signature, timestamp=timestamp)
    assert err.value.reason == reason


def test_an_empty_signing_key_verifies_nothing():
    headers = headers_for(BODY, key="")
    with pytest.raises(SignatureInvalid):
        verify(BODY, key="", **headers)


@given(
    body=st.binary(max_size=2048),
    key=st.text(min_size=1, max_size=64),
    timestamp=st.integers(min_value=0, max_value=10**11),
    data=st.data(),
)
def test_only_the_exact_bytes_verify(body, key, timestamp, data):
    headers = headers_for(body, timestamp=timestamp, key=key)
    assert verify(body, now=timestamp, key=key, **headers) == timestamp
    altered = data.draw(st.binary(max_size=2048).filter(lambda other: other != body))
    with pytest.raises(SignatureInvalid):
        verify(altered, now=timestamp, key=key, **headers)


# --- events -----------------------------------------------------------------------------


def test_a_received_sms():
    event = parse_event(event_bytes("sms:received", received()), default_region="KZ")
    assert (event.id, event.event, event.raw_event) == ("Ey6ECgOkVVFjz3CL48B8C", EVENT_RECEIVED, "sms:received")
    assert event.device_id == "ffffffffceb0b1db0000018e937c815b"
    assert event.webhook_id == "LreFUt-Z3sSq0JufY9uWB"
    assert event.payload == ReceivedSms(
        message_id="abc",
        phone_raw="77012345678",
        phone="+77012345678",
        text="YES 482",
        text_truncated=False,
        received_at=datetime(2024, 6, 7, 6, 41, 31, tzinfo=UTC),
        sim_number=1,
    )


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("77012345678", "+77012345678"),  # the usual: no '+'
        ("+77012345678", "+77012345678"),
        ("87012345678", "+77012345678"),  # national, with the trunk 8
        ("79161234567", "+79161234567"),  # a Russian number: not KZ, read with a '+'
        ("4915123456789", "+4915123456789"),
        ("1414", None),  # an operator's short code
        ("Kcell", None),  # an alphanumeric sender
        ("77172123456", None),  # an Astana landline: no SMS reply possible
    ],
)
def test_phone_numbers_as_the_phone_reports_them(raw, e164):
    assert normalize_reported_phone(raw, "KZ") == e164
    payload = parse_event(event_bytes("sms:received", received(phoneNumber=raw)), default_region="KZ").payload
    assert isinstance(payload, ReceivedSms)
    assert (payload.phone_raw, payload.phone) == (raw, e164)


@given(
    st.sampled_from(["701", "702", "705", "707", "747", "771", "775", "778"]),
    st.integers(min_value=0, max_value=9_999_999),
)
def test_a_kazakh_mobile_with_or_without_plus_is_the_same_number(prefix, subscriber):
    national = f"{prefix}{subscriber:07d}"
    with_plus = normalize_reported_phone("+7" + national, "KZ")
    assert with_plus is not None
    assert normalize_reported_phone("7" + national, "KZ") == with_plus
    assert normalize_reported_phone("8" + national, "KZ") == with_plus


@pytest.mark.parametrize(("event", "time_field"), [(EVENT_SENT, "sentAt"), (EVENT_DELIVERED, "deliveredAt")])
def test_delivery_reports(event, time_field):
    payload = {
        "messageId": "outbox-17",
        "phoneNumber": "77012345678",
        "simNumber": 2,
        time_field: "2024-06-07T11:41:31.000+05:00",
    }
    parsed = parse_event(event_bytes(event, payload), default_region="KZ")
    assert parsed.event == event
    assert parsed.payload == DeliveryReport(
        message_id="outbox-17",
        status=event.removeprefix("sms:"),
        phone_raw="77012345678",
        phone="+77012345678",
        at=datetime(2024, 6, 7, 6, 41, 31, tzinfo=UTC),
        reason=None,
        sim_number=2,
    )


def test_a_failure_report_carries_its_reason():
    payload = {
        "messageId": "outbox-17",
        "phoneNumber": "77012345678",
        "failedAt": "2024-06-07T06:41:31Z",
        "reason": "RESULT_ERROR_NO_SERVICE",
    }
    parsed = parse_event(event_bytes("sms:failed", payload), default_region="KZ")
    assert parsed.event == EVENT_FAILED
    assert isinstance(parsed.payload, DeliveryReport)
    assert (parsed.payload.status, parsed.payload.reason) == ("failed", "RESULT_ERROR_NO_SERVICE")
    assert parsed.payload.at == datetime(2024, 6, 7, 6, 41, 31, tzinfo=UTC)


def test_a_delivery_report_needs_only_the_message_id():
    parsed = parse_event(event_bytes("sms:delivered", {"messageId": "m1"}), default_region="KZ")
    assert parsed.payload == DeliveryReport("m1", "delivered", None, None, None, None, None)


@pytest.mark.parametrize("name", ["system:ping", "mms:received", "sms:data-received", "sms:something-new"])
def test_other_events_are_unknown(name):
    parsed = parse_event(event_bytes(name, {"health": {}}), default_region="KZ")
    assert (parsed.event, parsed.raw_event, parsed.payload) == (EVENT_UNKNOWN, name, None)


def test_a_long_text_is_cut_and_flagged():
    payload = parse_event(event_bytes("sms:received", received(message="Д" * 5000)), default_region="KZ").payload
    assert isinstance(payload, ReceivedSms)
    assert payload.text == "Д" * MAX_TEXT_CHARS and payload.text_truncated


def test_a_multi_line_text_is_kept():
    payload = parse_event(event_bytes("sms:received", received(message="ДА 482\n15 мин")), default_region="KZ").payload
    assert isinstance(payload, ReceivedSms) and payload.text == "ДА 482\n15 мин"


@pytest.mark.parametrize(
    ("body", "reason", "field"),
    [
        (b"", "not_json", None),
        (b"{not json", "not_json", None),
        (b"\xff\xfe{}", "not_json", None),
        (b"[1, 2]", "not_object", None),
        (b'"sms:received"', "not_object", None),
        (b"[" * 100_000 + b"]" * 100_000, "too_large", None),
        (b"[" * 20_000 + b"]" * 20_000, "not_json", None),  # nested past the parser's recursion limit
        (event_bytes(id=...), "missing", "id"),
        (event_bytes(id=None), "missing", "id"),
        (event_bytes(id=""), "invalid", "id"),
        (event_bytes(id=17), "invalid", "id"),
        (event_bytes(id="x" * 65), "invalid", "id"),
        (event_bytes(id="ev\n1"), "invalid", "id"),
        (event_bytes(event=...), "missing", "event"),
        (event_bytes(event=["sms:received"]), "invalid", "event"),
        (event_bytes(deviceId={"a": 1}), "invalid", "deviceId"),
        (event_bytes("sms:received"), "missing", "payload"),
        (event_bytes("sms:received", payload=None), "missing", "payload"),
        (event_bytes("sms:received", payload=[]), "invalid", "payload"),
        (event_bytes("sms:received", received(messageId=...)), "missing", "payload.messageId"),
        (event_bytes("sms:received", received(phoneNumber=...)), "missing", "payload.phoneNumber"),
        (event_bytes("sms:received", received(phoneNumber="7" * 65)), "invalid", "payload.phoneNumber"),
        (event_bytes("sms:received", received(phoneNumber="7701\r\n")), "invalid", "payload.phoneNumber"),
        (event_bytes("sms:received", received(message=...)), "missing", "payload.message"),
        (event_bytes("sms:received", received(message=5)), "invalid", "payload.message"),
        (event_bytes("sms:received", received(receivedAt="yesterday")), "invalid", "payload.receivedAt"),
        (event_bytes("sms:received", received(receivedAt="2024-06-07T11:41:31")), "invalid", "payload.receivedAt"),
        (event_bytes("sms:received", received(simNumber="1")), "invalid", "payload.simNumber"),
        (event_bytes("sms:received", received(simNumber=True)), "invalid", "payload.simNumber"),
        (event_bytes("sms:delivered", {"phoneNumber": "77012345678"}), "missing", "payload.messageId"),
        (event_bytes("sms:failed", {"messageId": "m", "reason": 3}), "invalid", "payload.reason"),
    ],
)
def test_malformed_events_say_what_is_wrong(body, reason, field):
    with pytest.raises(MalformedEvent) as err:
        parse_event(body, default_region="KZ")
    assert (err.value.reason, err.value.field) == (reason, field)


def test_the_size_limit_is_on_the_raw_bytes():
    padding = "x" * (MAX_EVENT_BYTES - len(event_bytes("system:ping", {"p": ""})) + 1)
    with pytest.raises(MalformedEvent) as err:
        parse_event(event_bytes("system:ping", {"p": padding}), default_region="KZ")
    assert err.value.reason == "too_large"


@given(st.binary(max_size=512))
def test_arbitrary_bytes_parse_or_are_malformed(body):
    try:
        parse_event(body, default_region="KZ")
    except MalformedEvent:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@given(
    event=st.sampled_from(["sms:received", "sms:sent", "sms:delivered", "sms:failed", "system:ping"]),
    payload=st.dictionaries(
        st.sampled_from(
            [
                "messageId",
                "message",
                "phoneNumber",
                "simNumber",
                "receivedAt",
                "sentAt",
                "deliveredAt",
                "failedAt",
                "reason",
            ]
        ),
        json_values,
        max_size=9,
    ),
)
def test_any_shaped_event_parses_or_is_malformed(event, payload):
    try:
        parsed = parse_event(event_bytes(event, payload), default_region="KZ")
    except MalformedEvent as exc:
        assert exc.reason in ("missing", "invalid")
    else:
        assert parsed.id == "Ey6ECgOkVVFjz3CL48B8C"
