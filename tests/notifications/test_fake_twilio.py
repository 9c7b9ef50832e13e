"""The loopback FakeTwilio itself: shape of its answers, auth, validation, scripting, records."""

import base64
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.twilio_server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio

# The OpenAPI description of Twilio's API, kept in the project's shared folder beside the repo.
SPEC = Path(__file__).resolve().parents[3] / "shared" / "twilio" / "twilio_api_v2010.json"
# api.v2010.account.message properties as of that spec; used when the spec file is absent.
MESSAGE_PROPERTIES = {
    "body",
    "num_segments",
    "direction",
    "from",
    "to",
    "date_updated",
    "price",
    "error_message",
    "uri",
    "account_sid",
    "num_media",
    "status",
    "messaging_service_sid",
    "sid",
    "date_sent",
    "date_created",
    "error_code",
    "price_unit",
    "api_version",
    "subresource_uris",
}
STATUSES = {
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "accepted",
    "scheduled",
    "read",
    "partially_delivered",
    "canceled",
}
RFC_2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")


def message_schema() -> tuple[dict, set[str]]:
    if not SPEC.exists():
        return {name: {} for name in MESSAGE_PROPERTIES}, STATUSES
    spec = json.loads(SPEC.read_text())
    schemas = spec["components"]["schemas"]
    properties = schemas["api.v2010.account.message"]["properties"]
    return properties, set(schemas["message_enum_status"]["enum"])


def post(
    fake: FakeTwilio, form: dict, *, auth=(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN), path: str | None = None
) -> tuple[int, dict]:
    path = path or f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json"
    request = urllib.request.Request(fake.base_url + path, method="POST", data=urllib.parse.urlencode(form).encode())
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_created_message_matches_the_openapi_schema(fake_twilio):
    properties, statuses = message_schema()
    assert set(properties) == MESSAGE_PROPERTIES  # the snapshot above is still right
    status, message = post(fake_twilio, {"To": "+77012345678", "From": "+15005550006", "Body": "Өрт 482"})
    assert status == 201
    assert set(message) == set(properties)
    for name, rules in properties.items():
        if message[name] is not None and "pattern" in rules:
            assert re.match(rules["pattern"], message[name]), name
    assert re.match(r"^SM[0-9a-f]{32}$", message["sid"])
    assert message["account_sid"] == DEFAULT_ACCOUNT_SID
    assert message["status"] in statuses and message["status"] == "queued"
    assert message["num_segments"] == "1" and message["num_media"] == "0"
    assert message["direction"] == "outbound-api" and message["api_version"] == "2010-04-01"
    assert RFC_2822.match(message["date_created"])
    assert message["uri"].endswith(f"/Messages/{message['sid']}.json")


def test_num_segments_follows_the_encoding(fake_twilio):
    _, message = post(fake_twilio, {"To": "+77012345678", "From": "+1500", "Body": "д" * 71})
    assert message["num_segments"] == "2"


def test_basic_auth_is_required(fake_twilio):
    status, error = post(fake_twilio, {"To": "+77012345678"}, auth=None)
    assert status == 401
    assert error == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    status, _ = post(fake_twilio, {"To": "+77012345678"}, auth=(DEFAULT_ACCOUNT_SID, "nope"))
    assert status == 401


def test_another_account_or_path_is_not_found(fake_twilio):
    other = "AC" + "f" * 32
    status, error = post(fake_twilio, {}, path=f"/2010-04-01/Accounts/{other}/Messages.json")
    assert (status, error["code"]) == (404, 20404)
    status, _ = post(fake_twilio, {}, path="/2010-04-01/Accounts.json")
    assert status == 404


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": "+1500", "Body": "x"}, 21604),
        ({"To": "+77012345678", "Body": "x"}, 21603),
        ({"To": "+77012345678", "From": "+1500"}, 21602),
        ({"To": "87012345678", "From": "+1500", "Body": "x"}, 21211),
        ({"To": "+77012345678", "From": "+1500", "Body": "x" * 1601}, 21617),
    ],
)
def test_invalid_requests_get_twilios_errors(fake_twilio, form, code):
    status, error = post(fake_twilio, form)
    assert (status, error["code"], error["status"]) == (400, code, 400)
    assert error["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert fake_twilio.messages == []


def test_error_json_for_a_scripted_failure(fake_twilio):
    fake_twilio.fail_next(400, code=21211)
    status, error = post(fake_twilio, {"To": "+77012345678", "From": "+1500", "Body": "x"})
    assert status == 400
    assert error == {
        "code": 21211,
        "message": "The 'To' number +77012345678 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


def test_records_every_request_and_resets(fake_twilio):
    fake_twilio.fail_next(500)
    form = {"To": "+77012345678", "From": "+1500", "Body": "x", "StatusCallback": "https://cb"}
    post(fake_twilio, form)
    post(fake_twilio, form)
    assert [r.status for r in fake_twilio.requests] == [500, 201]
    assert fake_twilio.requests[1].form["StatusCallback"] == ["https://cb"]
    assert len(fake_twilio.messages) == 1
    fake_twilio.reset()
    assert fake_twilio.requests == [] and fake_twilio.messages == []


def test_wait_for_requests_sees_other_threads(fake_twilio):
    form = {"To": "+77012345678", "From": "+1500", "Body": "x"}
    threading.Timer(0.1, post, args=(fake_twilio, form)).start()
    assert fake_twilio.wait_for_requests(1, timeout_s=5)
    assert not fake_twilio.wait_for_requests(2, timeout_s=0.1)


def test_webhook_payloads_for_the_app(fake_twilio):
    _, message = post(fake_twilio, {"To": "+77012345678", "From": "+1500", "Body": "x"})
    params = fake_twilio.status_callback_params(message["sid"], "undelivered", error_code=30003)
    assert params["MessageSid"] == message["sid"] and params["MessageStatus"] == "undelivered"
    assert params["ErrorCode"] == "30003" and params["To"] == "+77012345678"
    inbound = fake_twilio.inbound_params("+77012345678", "ИӘ 482")
    assert inbound["Body"] == "ИӘ 482" and inbound["From"] == "+77012345678"
    assert inbound["AccountSid"] == DEFAULT_ACCOUNT_SID
    with pytest.raises(KeyError):
        fake_twilio.status_callback_params("SM" + "0" * 32)


def test_stop_releases_a_delayed_answer():
    fake = FakeTwilio().start()
    fake.delay_next(30)
    form = {"To": "+77012345678", "From": "+1500", "Body": "x"}
    worker = threading.Thread(target=lambda: post(fake, form), daemon=True)
    worker.start()
    assert fake.wait_for_requests(1)
    fake.stop()
    worker.join(timeout=5)
    assert not worker.is_alive()
