"""The loopback FakeSmsGate answers like SMS Gateway for Android, checked with plain requests."""

import json
import time

import pytest
import requests

from notifications.smsgate_webhooks import (
    EVENT_DELIVERED,
    EVENT_FAILED,
    EVENT_RECEIVED,
    DeliveryReport,
    ReceivedSms,
    SignatureInvalid,
    parse_event,
    verify_signature,
)
from tests.fakes.smsgate_server import CLOUD_PREFIX, DEVICE_ID, FakeSmsGate

TO = "+77012345678"


@pytest.fixture
def http(fake_smsgate):
    session = requests.Session()
    session.auth = (fake_smsgate.username, fake_smsgate.password)
    yield session
    session.close()


def post_message(http, fake, **fields):
    body = {"phoneNumbers": [TO], "textMessage": {"text": "hello"}}
    body.update(fields)
    return http.post(f"{fake.base_url}/messages", json=body, timeout=5)


def test_post_messages_answers_202_with_the_state_and_location(http, fake_smsgate):
    response = post_message(http, fake_smsgate, id="m-1")
    assert response.status_code == 202
    assert response.headers["Location"] == "/messages/m-1"
    state = response.json()
    assert state["id"] == "m-1" and state["deviceId"] == DEVICE_ID
    assert state["state"] == "Pending"
    assert state["recipients"] == [{"phoneNumber": TO, "state": "Pending"}]


def test_the_same_id_twice_is_409_and_sends_nothing_more(http, fake_smsgate):
    assert post_message(http, fake_smsgate, id="m-1").status_code == 202
    second = post_message(http, fake_smsgate, id="m-1", textMessage={"text": "other"})
    assert second.status_code == 409
    assert "already exists" in second.json()["message"]
    [message] = fake_smsgate.messages
    assert message.text == "hello"


def test_without_an_id_the_server_chooses_one(http, fake_smsgate):
    first = post_message(http, fake_smsgate).json()["id"]
    second = post_message(http, fake_smsgate).json()["id"]
    assert first != second and len(first) == 21
    assert [m.id for m in fake_smsgate.messages] == [first, second]


def test_the_legacy_message_field_is_accepted(http, fake_smsgate):
    response = http.post(
        f"{fake_smsgate.base_url}/messages", json={"phoneNumbers": [TO], "message": "legacy"}, timeout=5
    )
    assert response.status_code == 202
    assert fake_smsgate.messages[0].text == "legacy"


@pytest.mark.parametrize(
    "fields",
    [
        {"phoneNumbers": []},
        {"phoneNumbers": "77012345678"},
        {"phoneNumbers": [TO] * 101},
        {"textMessage": {"text": ""}},
        {"textMessage": None},
        {"id": "x" * 37},
        {"ttl": 4},
        {"ttl": 60, "validUntil": "2030-01-01T00:00:00Z"},
        {"simNumber": 4},
    ],
)
def test_invalid_messages_are_400_and_create_nothing(http, fake_smsgate, fields):
    response = post_message(http, fake_smsgate, **fields)
    assert response.status_code == 400
    assert response.json()["message"]
    assert fake_smsgate.messages == []


def test_invalid_json_is_400(http, fake_smsgate):
    response = http.post(
        f"{fake_smsgate.base_url}/messages", data=b"{nope", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert response.status_code == 400


@pytest.mark.parametrize("auth", [None, ("sms", "wrong"), ("other", "fake-smsgate-password")])
def test_basic_auth_is_checked(fake_smsgate, auth):
    response = requests.post(
        f"{fake_smsgate.base_url}/messages",
        auth=auth,
        timeout=5,
        json={"phoneNumbers": [TO], "textMessage": {"text": "x"}},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert fake_smsgate.messages == []
    assert fake_smsgate.requests[0].authorized is False


def test_get_message_state(http, fake_smsgate):
    post_message(http, fake_smsgate, id="m-1")
    fake_smsgate.set_state("m-1", "Sent")
    state = http.get(f"{fake_smsgate.base_url}/messages/m-1", timeout=5).json()
    assert state["state"] == "Sent" and set(state["states"]) == {"Pending", "Sent"}
    assert http.get(f"{fake_smsgate.base_url}/messages/m-2", timeout=5).status_code == 404


def test_scripted_failures_create_nothing_unless_told(http, fake_smsgate):
    fake_smsgate.fail_next(503, times=2)
    fake_smsgate.fail_next(500, created=True)
    statuses = [post_message(http, fake_smsgate, id=f"m-{n}").status_code for n in range(4)]
    assert statuses == [503, 503, 500, 202]
    assert [m.id for m in fake_smsgate.messages] == ["m-2", "m-3"]


def test_a_delayed_answer_creates_first(http, fake_smsgate):
    fake_smsgate.delay_next(1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.post(
            f"{fake_smsgate.base_url}/messages",
            timeout=0.2,
            json={"id": "m-1", "phoneNumbers": [TO], "textMessage": {"text": "x"}},
        )
    assert fake_smsgate.wait_for_messages(1)


def test_down_and_up(http, fake_smsgate):
    fake_smsgate.down()
    assert post_message(http, fake_smsgate).status_code == 503
    assert http.get(f"{fake_smsgate.base_url}/health", timeout=5).status_code == 503
    fake_smsgate.down("close")
    with pytest.raises(requests.exceptions.ConnectionError):
        post_message(http, fake_smsgate)
    fake_smsgate.up()
    assert post_message(http, fake_smsgate).status_code == 202
    with pytest.raises(ValueError):
        fake_smsgate.down("sometimes")


def test_health_needs_no_auth(fake_smsgate):
    response = requests.get(f"{fake_smsgate.base_url}/health", timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "pass"


def test_webhooks_are_registered_and_replaced_by_id(http, fake_smsgate):
    url = f"{fake_smsgate.base_url}/webhooks"
    created = http.post(url, json={"id": "w1", "url": "https://a/x", "event": "sms:received"}, timeout=5)
    assert created.status_code == 201
    http.post(url, json={"id": "w1", "url": "https://b/x", "event": "sms:received"}, timeout=5)
    assert http.get(url, timeout=5).json() == [
        {"id": "w1", "url": "https://b/x", "event": "sms:received", "deviceId": DEVICE_ID}
    ]
    assert http.post(url, json={"url": "https://a/x"}, timeout=5).status_code == 400


def test_unknown_paths_and_methods(http, fake_smsgate):
    assert http.get(f"{fake_smsgate.base_url}/nothing", timeout=5).status_code == 404
    assert http.delete(f"{fake_smsgate.base_url}/messages", timeout=5).status_code == 405


def test_the_cloud_prefix():
    with FakeSmsGate(prefix=CLOUD_PREFIX) as fake:
        url = f"{fake.base_url}/messages"
        assert url.endswith("/3rdparty/v1/messages")
        response = requests.post(
            url,
            auth=(fake.username, fake.password),
            timeout=5,
            json={"id": "c1", "phoneNumbers": [TO], "textMessage": {"text": "x"}},
        )
        assert response.status_code == 202
        assert response.headers["Location"] == "/3rdparty/v1/messages/c1"
        assert fake.requests[0].path == "/messages"


def test_keep_alive_can_be_turned_off():
    with FakeSmsGate(keep_alive=False) as fake, requests.Session() as session:
        session.auth = (fake.username, fake.password)
        for _ in range(3):
            session.get(f"{fake.base_url}/messages/none", timeout=5)
        assert len({r.client_port for r in fake.requests}) == 3


# --- webhook events ---------------------------------------------------------------------


def test_a_received_event_is_signed_and_shaped_as_the_app_sends_it(fake_smsgate):
    event = fake_smsgate.received_event("77012345678", "ИӘ 482")
    assert event.headers["Content-Type"] == "application/json"
    stamp = int(event.headers["X-Timestamp"])
    assert abs(stamp - time.time()) < 5
    assert (
        verify_signature(
            event.body,
            signature=event.headers["X-Signature"],
            timestamp=event.headers["X-Timestamp"],
            signing_key=fake_smsgate.signing_key,
            now=time.time(),
        )
        == stamp
    )
    document = json.loads(event.body)
    assert set(document) == {"deviceId", "event", "id", "payload", "webhookId"}
    assert document["id"] == event.id
    assert document["payload"]["phoneNumber"] == "77012345678"
    assert document["payload"]["message"] == "ИӘ 482"
    assert document["payload"]["receivedAt"].endswith("+05:00")
    parsed = parse_event(event.body, default_region="KZ")
    assert parsed.event == EVENT_RECEIVED
    assert isinstance(parsed.payload, ReceivedSms)
    assert (parsed.payload.phone, parsed.payload.text) == (TO, "ИӘ 482")


def test_identical_texts_share_a_message_id_but_not_an_event_id(fake_smsgate):
    first = parse_event(fake_smsgate.received_event("77012345678", "YES").body, default_region="KZ")
    second = parse_event(fake_smsgate.received_event("77012345678", "YES").body, default_region="KZ")
    assert first.payload.message_id == second.payload.message_id
    assert first.id != second.id


def test_delivery_events_follow_a_sent_message(http, fake_smsgate):
    post_message(http, fake_smsgate, id="outbox-3")
    delivered = parse_event(fake_smsgate.delivery_event("outbox-3").body, default_region="KZ")
    assert delivered.event == EVENT_DELIVERED
    assert isinstance(delivered.payload, DeliveryReport)
    assert (delivered.payload.message_id, delivered.payload.phone) == ("outbox-3", TO)
    assert delivered.payload.phone_raw == "77012345678"  # as the phone reports it
    assert fake_smsgate.message("outbox-3").state == "Delivered"
    failed = parse_event(fake_smsgate.delivery_event("outbox-3", "sms:failed").body, default_region="KZ")
    assert failed.event == EVENT_FAILED and failed.payload.reason
    with pytest.raises(KeyError):
        fake_smsgate.delivery_event("never-sent")
    with pytest.raises(ValueError):
        fake_smsgate.delivery_event("outbox-3", "sms:received")


def test_events_can_be_signed_stale_or_with_another_key(fake_smsgate):
    stale = fake_smsgate.received_event("77012345678", "YES", timestamp=int(time.time()) - 600)
    forged = fake_smsgate.received_event("77012345678", "YES", signing_key="not-the-key")
    for event, reason in ((stale, "stale"), (forged, "mismatch")):
        with pytest.raises(SignatureInvalid) as err:
            verify_signature(
                event.body,
                signature=event.headers["X-Signature"],
                timestamp=event.headers["X-Timestamp"],
                signing_key=fake_smsgate.signing_key,
                now=time.time(),
            )
        assert err.value.reason == reason


def test_the_webhook_id_is_the_registered_ones(http, fake_smsgate):
    http.post(
        f"{fake_smsgate.base_url}/webhooks",
        timeout=5,
        json={"id": "hook-r", "url": "https://a/x", "event": "sms:received"},
    )
    event = fake_smsgate.received_event("77012345678", "YES")
    assert parse_event(event.body, default_region="KZ").webhook_id == "hook-r"
