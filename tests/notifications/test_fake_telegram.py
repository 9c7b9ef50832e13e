"""The loopback FakeTelegram itself, spoken to in raw HTTP: envelope, token, methods, scripting."""

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.fakes.telegram_server import DEFAULT_TOKEN, NOT_MODIFIED, QUERY_TOO_OLD, FakeTelegram

CHAT = 5550001


def call(
    fake: FakeTelegram, method: str, params: dict | None = None, *, token: str = DEFAULT_TOKEN, form: bool = False
) -> tuple[int, dict]:
    if form:
        data = urllib.parse.urlencode(
            {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in (params or {}).items()}
        ).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        data, content_type = json.dumps(params or {}).encode(), "application/json"
    request = urllib.request.Request(
        f"{fake.base_url}/bot{token}/{method}", data=data, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def keyboard(*rows: list[tuple[str, str]]) -> dict:
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in rows]}


def test_get_me_answers_in_the_bot_api_envelope(fake_telegram):
    status, body = call(fake_telegram, "getMe")
    assert status == 200 and body["ok"] is True
    assert body["result"]["username"] == "dispatch_test_bot"
    assert body["result"]["id"] == int(DEFAULT_TOKEN.split(":")[0]) and body["result"]["is_bot"]


@pytest.mark.parametrize("token", ["7000000001:wrong-token-0000000000000000", ""])
def test_a_wrong_token_is_401_and_does_nothing(fake_telegram, token):
    fake_telegram.add_chat(CHAT)
    status, body = call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "hi"}, token=token)
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert fake_telegram.messages(CHAT) == []
    assert DEFAULT_TOKEN not in json.dumps([c.path for c in fake_telegram.calls])


def test_unknown_method_and_path_are_404(fake_telegram):
    assert call(fake_telegram, "sendSticker", {})[0] == 404
    request = urllib.request.Request(fake_telegram.base_url + "/getMe", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    with error.value:
        assert error.value.code == 404


def test_send_message_records_text_keyboard_and_preview_choice(fake_telegram):
    fake_telegram.add_chat(CHAT)
    markup = keyboard([("ДА · 15 мин", "1a:7:15")], [("НЕТ", "1d:7")])
    status, body = call(
        fake_telegram,
        "sendMessage",
        {"chat_id": CHAT, "text": "Пожар", "reply_markup": markup, "link_preview_options": {"is_disabled": True}},
    )
    assert status == 200
    assert body["result"]["message_id"] == 1 and body["result"]["chat"]["id"] == CHAT
    assert body["result"]["reply_markup"] == markup
    [message] = fake_telegram.messages(CHAT)
    assert message.text == "Пожар" and message.link_preview_disabled
    assert message.button_texts == ["ДА · 15 мин", "НЕТ"]
    assert message.callback_data == ["1a:7:15", "1d:7"]


def test_form_encoded_calls_work_like_json(fake_telegram):
    fake_telegram.add_chat(CHAT)
    status, _ = call(
        fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "x", "reply_markup": keyboard([("A", "a")])}, form=True
    )
    assert status == 200 and fake_telegram.messages(CHAT)[0].button_texts == ["A"]


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"chat_id": 999, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": CHAT, "text": "  "}, "Bad Request: message text is empty"),
        ({"chat_id": CHAT, "text": "я" * 4097}, "Bad Request: message is too long"),
        (
            {"chat_id": CHAT, "text": "x", "reply_markup": keyboard([("A", "d" * 65)])},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
    ],
)
def test_send_message_refusals(fake_telegram, params, description):
    fake_telegram.add_chat(CHAT)
    status, body = call(fake_telegram, "sendMessage", params)
    assert status == 400 and body == {"ok": False, "error_code": 400, "description": description}
    assert fake_telegram.bot_messages(CHAT) == []


def test_edit_text_without_markup_removes_the_buttons_and_keeps_history(fake_telegram):
    fake_telegram.add_chat(CHAT)
    call(
        fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "call-out", "reply_markup": keyboard([("YES", "1a:1")])}
    )
    status, body = call(fake_telegram, "editMessageText", {"chat_id": CHAT, "message_id": 1, "text": "stood down"})
    assert status == 200 and "reply_markup" not in body["result"]
    message = fake_telegram.message(CHAT, 1)
    assert message.text == "stood down" and message.buttons == []
    assert message.edits == [{"text": "call-out", "reply_markup": keyboard([("YES", "1a:1")])}]
    # The same again changes nothing: Telegram's "message is not modified".
    status, body = call(fake_telegram, "editMessageText", {"chat_id": CHAT, "message_id": 1, "text": "stood down"})
    assert (status, body["description"]) == (400, NOT_MODIFIED)


def test_edit_reply_markup_and_missing_message(fake_telegram):
    fake_telegram.add_chat(CHAT)
    call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "t", "reply_markup": keyboard([("YES", "1a:1")])})
    assert call(fake_telegram, "editMessageReplyMarkup", {"chat_id": CHAT, "message_id": 1})[0] == 200
    assert fake_telegram.message(CHAT, 1).buttons == []
    status, body = call(fake_telegram, "editMessageReplyMarkup", {"chat_id": CHAT, "message_id": 1})
    assert (status, body["description"]) == (400, NOT_MODIFIED)
    status, body = call(fake_telegram, "editMessageReplyMarkup", {"chat_id": CHAT, "message_id": 9})
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")


def test_location_and_venue(fake_telegram):
    fake_telegram.add_chat(CHAT)
    assert (
        call(
            fake_telegram,
            "sendLocation",
            {"chat_id": CHAT, "latitude": 51.13, "longitude": 71.43, "horizontal_accuracy": 500},
        )[0]
        == 200
    )
    assert (
        call(
            fake_telegram,
            "sendVenue",
            {"chat_id": CHAT, "latitude": 43.24, "longitude": 76.95, "title": "Пожар", "address": "Абая 10"},
        )[0]
        == 200
    )
    assert call(fake_telegram, "sendLocation", {"chat_id": CHAT, "latitude": 91, "longitude": 0})[0] == 400
    pin, venue = fake_telegram.messages(CHAT)
    assert pin.location == {"latitude": 51.13, "longitude": 71.43, "horizontal_accuracy": 500.0}
    assert venue.venue["title"] == "Пожар" and venue.location["latitude"] == 43.24


def test_scripted_429_carries_retry_after_and_sends_nothing(fake_telegram):
    fake_telegram.add_chat(CHAT)
    fake_telegram.fail_next(429, retry_after=7)
    status, body = call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "x"})
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert fake_telegram.bot_messages(CHAT) == []
    assert call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "x"})[0] == 200


def test_failures_can_be_aimed_at_one_method(fake_telegram):
    fake_telegram.add_chat(CHAT)
    fake_telegram.fail_next(500, method="sendLocation")
    assert call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "x"})[0] == 200
    assert call(fake_telegram, "sendLocation", {"chat_id": CHAT, "latitude": 1, "longitude": 1})[0] == 500


def test_block_gives_403_and_the_my_chat_member_update(fake_telegram):
    fake_telegram.add_chat(CHAT)
    update = fake_telegram.block(CHAT)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    status, body = call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "x"})
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    fake_telegram.unblock(CHAT)
    assert call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "x"})[0] == 200
    fake_telegram.deactivate(CHAT)
    assert (
        call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "x"})[1]["description"]
        == "Forbidden: user is deactivated"
    )


def test_down_502_is_an_html_page(fake_telegram):
    fake_telegram.down("502")
    request = urllib.request.Request(f"{fake_telegram.base_url}/bot{DEFAULT_TOKEN}/getMe", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    with error.value:
        assert error.value.code == 502 and b"nginx" in error.value.read()
    fake_telegram.up()
    assert call(fake_telegram, "getMe")[0] == 200


def test_press_builds_a_callback_for_a_shown_button_and_it_is_answered_once(fake_telegram):
    fake_telegram.add_chat(CHAT)
    call(
        fake_telegram,
        "sendMessage",
        {"chat_id": CHAT, "text": "t", "reply_markup": keyboard([("ИӘ · 15 мин", "1a:3:15")])},
    )
    update = fake_telegram.press(CHAT, "ИӘ · 15 мин")
    query = update["callback_query"]
    assert query["data"] == "1a:3:15" and query["from"]["id"] == CHAT
    assert query["message"]["message_id"] == 1 and query["message"]["chat"]["id"] == CHAT
    assert call(fake_telegram, "answerCallbackQuery", {"callback_query_id": query["id"], "text": "Рахмет"})[0] == 200
    status, body = call(fake_telegram, "answerCallbackQuery", {"callback_query_id": query["id"]})
    assert (status, body["description"]) == (400, QUERY_TOO_OLD)
    assert [a.text for a in fake_telegram.callback_answers] == ["Рахмет"]
    call(fake_telegram, "editMessageReplyMarkup", {"chat_id": CHAT, "message_id": 1})
    with pytest.raises(LookupError):
        fake_telegram.press(CHAT, "ИӘ · 15 мин")


def test_updates_have_increasing_ids_and_make_the_chat_known(fake_telegram):
    first = fake_telegram.start_update(CHAT, "abc123")
    second = fake_telegram.contact_update(CHAT, "+77011234567")
    third = fake_telegram.contact_update(CHAT, "+77019999999", contact_user_id=42)
    fourth = fake_telegram.contact_update(CHAT, "+77019999999", contact_user_id=None)
    assert first["update_id"] < second["update_id"] < third["update_id"] < fourth["update_id"]
    assert first["message"]["text"] == "/start abc123"
    assert second["message"]["contact"]["user_id"] == second["message"]["from"]["id"] == CHAT
    assert third["message"]["contact"]["user_id"] == 42
    assert "user_id" not in fourth["message"]["contact"]
    assert call(fake_telegram, "sendMessage", {"chat_id": CHAT, "text": "linked"})[0] == 200


def test_set_webhook_then_info_and_headers(fake_telegram):
    status, body = call(
        fake_telegram,
        "setWebhook",
        {
            "url": "https://dispatch.example/telegram/webhook",
            "secret_token": "s3cr3t_-X",
            "allowed_updates": ["message", "callback_query"],
        },
    )
    assert status == 200 and body["result"] is True
    info = call(fake_telegram, "getWebhookInfo")[1]["result"]
    assert info["url"] == "https://dispatch.example/telegram/webhook"
    assert info["allowed_updates"] == ["message", "callback_query"]
    assert fake_telegram.webhook_headers()["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t_-X"
    assert call(fake_telegram, "setWebhook", {"url": "https://x.example/h", "secret_token": "no spaces"})[0] == 400
    assert call(fake_telegram, "deleteWebhook")[0] == 200
    assert call(fake_telegram, "getWebhookInfo")[1]["result"]["url"] == ""


def test_deliver_posts_the_update_with_the_secret_and_records_a_refusal(fake_telegram):
    seen: list[tuple[str | None, dict]] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), body))
            self.send_response(403 if len(seen) > 1 else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/telegram/webhook"
        call(fake_telegram, "setWebhook", {"url": url, "secret_token": "abc"})
        update = fake_telegram.message_update(CHAT, "ДА")
        assert fake_telegram.deliver(update).status_code == 200
        assert seen == [("abc", update)]
        assert fake_telegram.deliver(update).status_code == 403
        info = call(fake_telegram, "getWebhookInfo")[1]["result"]
        assert info["last_error_message"] == "Wrong response from the webhook: 403 Forbidden"
    finally:
        server.shutdown()
        server.server_close()
