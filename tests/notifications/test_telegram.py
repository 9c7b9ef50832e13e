"""The Telegram Bot API client and channel, against the loopback fake Bot API server."""

import threading

import pytest

from notifications.gateway import SmsAmbiguous, SmsPermanent, SmsRetryable
from notifications.telegram import (
    ContactRequestKeyboard,
    InlineButton,
    InlineKeyboard,
    RemoveKeyboard,
    TelegramAmbiguous,
    TelegramBotApi,
    TelegramChannel,
    TelegramChatOptedOut,
    TelegramPermanent,
    TelegramRetryable,
    message_ref,
    parse_chat_id,
    parse_message_ref,
)
from notifications.telegram_buttons import callout_keyboard
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.twilio_server import closed_port_url

CHAT = 5550001


@pytest.fixture
def api(fake_telegram):
    client = TelegramBotApi(DEFAULT_TOKEN, base_url=fake_telegram.base_url, read_timeout_s=2)
    yield client
    client.close()


@pytest.fixture
def channel(api, fake_telegram):
    fake_telegram.add_chat(CHAT)
    return TelegramChannel(api)


def test_call_out_goes_with_buttons_as_plain_text_without_link_preview(channel, fake_telegram):
    text = "<b>Пожар</b> https://example.org/r/abc"
    result = channel.send(str(CHAT), text, buttons=callout_keyboard(482, "ru"), idempotency_key="outbox-1")
    assert result.provider_id == "tg:5550001:1" and result.status == "delivered"
    [message] = fake_telegram.messages(CHAT)
    assert message.text == text  # as written: no parse_mode, so no markup is interpreted
    assert message.parse_mode is None and message.link_preview_disabled
    assert message.button_texts == ["ДА · 15 мин", "ДА · 30 мин", "ДА · 60 мин", "НЕТ"]
    assert message.callback_data == ["1a:482:15", "1a:482:30", "1a:482:60", "1d:482"]


def test_the_channel_fits_the_sms_gateway_call(channel, fake_telegram):
    # The outbox calls every gateway like this; Telegram has no counterpart and ignores them.
    result = channel.send(str(CHAT), "Тест", status_callback="http://x/sms/status", validity_s=600)
    assert parse_message_ref(result.provider_id) == (CHAT, 1)
    assert fake_telegram.messages(CHAT)[0].buttons == []


def test_ending_an_alert_rewrites_it_and_removes_the_buttons(channel, fake_telegram):
    sent = channel.send(str(CHAT), "call-out", buttons=callout_keyboard(7, "en"))
    assert channel.close_buttons(sent.provider_id, "Stood down: all places are filled.") is True
    message = fake_telegram.message(CHAT, 1)
    assert message.text == "Stood down: all places are filled." and message.buttons == []
    with pytest.raises(LookupError):
        fake_telegram.press(CHAT, "YES · 15 min")
    # Again (a repeated stand-down, a retry): "message is not modified" is success.
    assert channel.close_buttons(sent.provider_id, "Stood down: all places are filled.") is False


def test_removing_only_the_buttons_and_doing_it_twice(channel, fake_telegram):
    sent = channel.send(str(CHAT), "call-out", buttons=callout_keyboard(7, "kk"))
    assert channel.close_buttons(sent.provider_id) is True
    assert fake_telegram.message(CHAT, 1).text == "call-out"
    assert fake_telegram.message(CHAT, 1).buttons == []
    assert channel.close_buttons(sent.provider_id) is False


def test_edit_can_also_replace_buttons(api, channel, fake_telegram):
    sent = channel.send(str(CHAT), "t", buttons=callout_keyboard(7, "en"))
    chat_id, message_id = parse_message_ref(sent.provider_id)
    new = InlineKeyboard(((InlineButton("NO", "1d:7"),),))
    assert api.edit_message_reply_markup(chat_id, message_id, new) is True
    assert fake_telegram.message(CHAT, 1).callback_data == ["1d:7"]


def test_map_pin_of_the_approximate_place(api, channel, fake_telegram):
    result = channel.send_pin(str(CHAT), 43.2389, 76.8897, accuracy_m=5000)
    assert result.provider_id == "tg:5550001:1"
    location = fake_telegram.messages(CHAT)[0].location
    assert location == {"latitude": 43.2389, "longitude": 76.8897, "horizontal_accuracy": 1500.0}
    venue = api.send_venue(CHAT, 51.1694, 71.4491, "Пожар", "Астана, пр. Республики")
    assert venue.message_id == 2 and fake_telegram.messages(CHAT)[1].venue["title"] == "Пожар"
    with pytest.raises(ValueError):
        api.send_location(CHAT, 95.0, 0.0)


def test_reply_keyboards_for_linking_by_phone(api, channel, fake_telegram):
    api.send_message(CHAT, "Share?", reply_markup=ContactRequestKeyboard("Share my phone number"))
    api.send_message(CHAT, "Thanks", reply_markup=RemoveKeyboard())
    first, second = fake_telegram.messages(CHAT)
    assert first.reply_markup["keyboard"] == [[{"text": "Share my phone number", "request_contact": True}]]
    assert second.reply_markup == {"remove_keyboard": True}


def test_429_is_retryable_and_carries_retry_after(channel, fake_telegram):
    fake_telegram.fail_next(429, retry_after=11)
    with pytest.raises(TelegramRetryable) as error:
        channel.send(str(CHAT), "x")
    assert isinstance(error.value, SmsRetryable)
    assert error.value.retry_after_s == 11 and error.value.code == 429
    assert error.value.method == "sendMessage"
    assert fake_telegram.bot_messages(CHAT) == []


@pytest.mark.parametrize(("script", "why"), [("block", "blocked"), ("deactivate", "deactivated")])
def test_403_means_this_chat_opted_out(channel, fake_telegram, script, why):
    getattr(fake_telegram, script)(CHAT)
    with pytest.raises(TelegramChatOptedOut) as error:
        channel.send(str(CHAT), "x")
    assert isinstance(error.value, SmsPermanent)
    assert error.value.reason == "chat_opted_out" and error.value.why == why
    assert error.value.status == 403


@pytest.mark.parametrize("status", [500, 502])
def test_5xx_is_retryable_but_may_have_been_sent(channel, fake_telegram, status):
    fake_telegram.fail_next(status)
    with pytest.raises(TelegramAmbiguous) as error:
        channel.send(str(CHAT), "x")
    assert isinstance(error.value, SmsAmbiguous) and error.value.status == status


def test_an_outage_page_and_a_hang_up_are_retryable(channel, fake_telegram):
    fake_telegram.down("502")
    with pytest.raises(TelegramAmbiguous, match="HTTP 502 without a Bot API answer"):
        channel.send(str(CHAT), "x")
    fake_telegram.down("close")
    with pytest.raises(TelegramAmbiguous):
        channel.send(str(CHAT), "x")
    fake_telegram.up()
    assert channel.send(str(CHAT), "x").status == "delivered"


def test_a_slow_answer_times_out_as_ambiguous_and_never_shows_the_token(fake_telegram):
    fake_telegram.add_chat(CHAT)
    fake_telegram.delay_next(2.0)
    with (
        TelegramBotApi(DEFAULT_TOKEN, base_url=fake_telegram.base_url, read_timeout_s=0.3) as api,
        pytest.raises(TelegramAmbiguous) as error,
    ):
        TelegramChannel(api).send(str(CHAT), "x")
    assert DEFAULT_TOKEN not in str(error.value)
    assert fake_telegram.bot_messages(CHAT)[0].text == "x"  # it did go out: hence ambiguous


def test_connection_refused_is_certainly_not_sent():
    with TelegramBotApi(DEFAULT_TOKEN, base_url=closed_port_url()) as api, pytest.raises(TelegramRetryable) as error:
        api.send_message(CHAT, "x")
    assert error.value.retry_after_s is None
    # requests names the URL, which holds the token: it is scrubbed.
    assert DEFAULT_TOKEN not in str(error.value) and "/bot<token>/sendMessage" in str(error.value)


def test_wrong_token_is_a_permanent_configuration_error(fake_telegram):
    fake_telegram.add_chat(CHAT)
    with TelegramBotApi("7000000001:another-token-000000000000000", base_url=fake_telegram.base_url) as api:
        with pytest.raises(TelegramPermanent) as error:
            api.send_message(CHAT, "x")
        assert error.value.reason == "auth_failed" and error.value.status == 401
        with pytest.raises(TelegramPermanent) as error:
            api.call("noSuchMethod")
        assert error.value.reason == "auth_failed"
    with pytest.raises(ValueError, match="bot token"):
        TelegramBotApi("not-a-token")


def test_permanent_refusals_say_why(api, channel, fake_telegram):
    with pytest.raises(TelegramPermanent) as error:
        api.send_message(999, "x")
    assert error.value.reason == "chat_not_found"
    with pytest.raises(TelegramPermanent) as error:
        api.send_message(CHAT, "я" * 4097)
    assert error.value.reason == "too_long"
    with pytest.raises(TelegramPermanent) as error:
        api.edit_message_text(CHAT, 77, "x")
    assert error.value.reason == "message_not_found"
    with pytest.raises(TelegramPermanent) as error:
        channel.send("not-a-chat", "x")
    assert error.value.reason == "invalid_chat"
    with pytest.raises(TelegramPermanent) as error:
        api.call("noSuchMethod")
    assert error.value.reason == "config" and error.value.status == 404
    fake_telegram.fail_next(400, description="Bad Request: something new")
    with pytest.raises(TelegramPermanent) as error:
        api.send_message(CHAT, "x")
    assert error.value.reason == "rejected" and error.value.description == "Bad Request: something new"


def test_one_keep_alive_connection_for_many_calls():
    with FakeTelegram() as fake, TelegramBotApi(DEFAULT_TOKEN, base_url=fake.base_url) as api:
        fake.add_chat(CHAT)
        channel = TelegramChannel(api)
        for n in range(5):
            sent = channel.send(str(CHAT), f"m{n}", buttons=callout_keyboard(n + 1, "kk"))
            channel.close_buttons(sent.provider_id)
        api.get_me()
        assert len(fake.calls) == 11
        assert fake.connections == 1


def test_threads_share_one_client(channel, fake_telegram):
    errors: list[Exception] = []

    def send(n: int) -> None:
        try:
            for i in range(5):
                channel.send(str(CHAT), f"{n}-{i}")
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [m.message_id for m in fake_telegram.bot_messages(CHAT)]
    assert sorted(ids) == list(range(1, 21))


def test_answer_callback_query(api, channel, fake_telegram):
    channel.send(str(CHAT), "t", buttons=callout_keyboard(5, "ru"))
    query = fake_telegram.press(CHAT, "НЕТ")["callback_query"]
    assert api.answer_callback_query(query["id"], text="Принято. " * 40) is True
    [answer] = fake_telegram.callback_answers
    assert answer.callback_query_id == query["id"] and len(answer.text) == 200
    with pytest.raises(TelegramPermanent) as error:
        api.answer_callback_query(query["id"])
    assert error.value.reason == "query_expired"


def test_setup_calls(api, fake_telegram):
    me = api.get_me()
    assert (me.id, me.username, me.is_bot) == (api.bot_id, "dispatch_test_bot", True)
    assert api.get_webhook_info().url == ""
    assert (
        api.set_webhook(
            "https://dispatch.example.kz/telegram/webhook", secret_token="Zx_9-secret", drop_pending_updates=True
        )
        is True
    )
    assert fake_telegram.webhook["drop_pending_updates"] is True
    info = api.get_webhook_info()
    assert info.url == "https://dispatch.example.kz/telegram/webhook"
    assert info.allowed_updates == ("message", "callback_query", "my_chat_member")
    assert info.pending_update_count == 0 and info.last_error_message is None
    assert api.delete_webhook() is True and api.get_webhook_info().url == ""
    assert DEFAULT_TOKEN not in repr(api)


def test_message_refs_and_chat_ids():
    assert parse_message_ref(message_ref(-1001234567890, 42)) == (-1001234567890, 42)
    for bad in ("", "tg:1", "tg:x:1", "SM123", "tg:1:2:3", " tg:1:2"):
        with pytest.raises(ValueError):
            parse_message_ref(bad)
    assert parse_chat_id(" 123 ") == 123 and parse_chat_id(-5) == -5
    for bad in ("", "0", "abc", "1e3", str(2**60), True):
        with pytest.raises(ValueError):
            parse_chat_id(bad)


def test_buttons_are_checked_before_anything_is_sent():
    with pytest.raises(ValueError, match="64 bytes"):
        InlineButton("YES", "ә" * 33)
    with pytest.raises(ValueError):
        InlineButton(" ", "1d:1")
    with pytest.raises(ValueError):
        InlineKeyboard(((),))
