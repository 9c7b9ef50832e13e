"""Reading Telegram webhooks (secret, updates) and the call-out buttons' data and wording."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.replies import Intent, parse_reply
from notifications.telegram_buttons import (
    MAX_ALERT_ID,
    AlertAnswer,
    CallbackDataError,
    UnsupportedCallbackData,
    accept_word,
    callout_keyboard,
    contact_request_keyboard,
    decline_word,
    decode_callback_data,
    encode_callback_data,
)
from notifications.telegram_updates import (
    MAX_UPDATE_BYTES,
    CallbackQuery,
    ChatMemberChange,
    MalformedUpdate,
    Message,
    UnknownUpdate,
    UpdateTooLarge,
    parse_update,
    verify_webhook_secret,
)
from tests.fakes.telegram_server import FakeTelegram

CHAT = 5550001


@pytest.fixture
def fake():
    # The update builders need no running server.
    return FakeTelegram()


def body(update: dict) -> bytes:
    return json.dumps(update, ensure_ascii=False).encode("utf-8")


# --- the secret header ------------------------------------------------------------------------
def test_secret_must_match_exactly():
    assert verify_webhook_secret("Zx_9-secret", "Zx_9-secret")
    for wrong in (None, "", "Zx_9-secre", "Zx_9-secret ", "zx_9-secret", "Zx_9-secretX", "Ж"):
        assert not verify_webhook_secret(wrong, "Zx_9-secret")


def test_no_configured_secret_never_matches():
    assert not verify_webhook_secret("", "")
    assert not verify_webhook_secret("anything", "")


# --- updates -----------------------------------------------------------------------------------
def test_a_text_message(fake):
    update = fake.message_update(CHAT, "ДА 15 мин", language_code="kk")
    parsed = parse_update(body(update))
    assert isinstance(parsed, Message)
    assert parsed.update_id == update["update_id"]
    assert (parsed.chat_id, parsed.from_id, parsed.chat_type) == (CHAT, CHAT, "private")
    assert parsed.text == "ДА 15 мин" and parsed.language_code == "kk"
    assert parsed.contact is None and parsed.own_phone is None and parsed.start_payload is None
    # Text to the bot is read with the same words as SMS.
    assert parse_reply(parsed.text).intent is Intent.ACCEPT


def test_start_with_a_link_code(fake):
    parsed = parse_update(body(fake.start_update(CHAT, "Ab3_-x")))
    assert isinstance(parsed, Message) and parsed.start_payload == "Ab3_-x"
    assert parse_update(body(fake.message_update(CHAT, "/start"))).start_payload is None
    assert parse_update(body(fake.message_update(CHAT, "/start@dispatch_test_bot c1"))).start_payload == "c1"
    assert parse_update(body(fake.message_update(CHAT, "/starter c1"))).start_payload is None


def test_own_contact_is_proof_of_the_number(fake):
    parsed = parse_update(body(fake.contact_update(CHAT, "+77011234567")))
    assert isinstance(parsed, Message) and parsed.own_phone == "+77011234567"
    assert parsed.contact.user_id == parsed.from_id == CHAT


@pytest.mark.parametrize("owner", [42, None])
def test_someone_elses_contact_or_a_typed_card_proves_nothing(fake, owner):
    parsed = parse_update(body(fake.contact_update(CHAT, "+77011234567", contact_user_id=owner)))
    assert isinstance(parsed, Message)
    assert parsed.contact.phone_number == "+77011234567" and parsed.contact.user_id == owner
    assert parsed.own_phone is None


def test_a_contact_without_a_sender_proves_nothing(fake):
    update = fake.contact_update(CHAT, "+77011234567")
    del update["message"]["from"]
    update["message"]["contact"]["user_id"] = CHAT
    parsed = parse_update(body(update))
    assert parsed.from_id is None and parsed.own_phone is None


def test_a_button_press(fake):
    update = fake.callback_update(CHAT, 12, "1a:482:15")
    parsed = parse_update(body(update))
    assert isinstance(parsed, CallbackQuery)
    assert parsed.callback_query_id == update["callback_query"]["id"]
    assert parsed.from_id == CHAT and parsed.data == "1a:482:15"
    assert (parsed.message.chat_id, parsed.message.message_id) == (CHAT, 12)
    assert decode_callback_data(parsed.data) == AlertAnswer(482, True, 15)


def test_a_press_on_an_inline_mode_message_has_no_message_ref(fake):
    update = fake.callback_update(CHAT, 12, "1d:1")
    del update["callback_query"]["message"]
    assert parse_update(body(update)).message is None


def test_the_user_blocks_and_unblocks_the_bot(fake):
    blocked = parse_update(body(fake.block(CHAT)))
    assert isinstance(blocked, ChatMemberChange) and blocked.blocked and not blocked.unblocked
    assert blocked.chat_id == blocked.from_id == CHAT
    unblocked = parse_update(body(fake.unblock(CHAT)))
    assert unblocked.unblocked and not unblocked.blocked


@pytest.mark.parametrize(
    "kind", ["edited_message", "channel_post", "poll", "inline_query", "message_reaction", "a" * 100]
)
def test_other_kinds_are_unknown_not_errors(kind):
    parsed = parse_update(json.dumps({"update_id": 7, kind: {"anything": [1, 2]}}))
    assert isinstance(parsed, UnknownUpdate) and parsed.update_id == 7
    assert parsed.kind == kind[:32]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'"x"',
        b"\xff\xfe",
        b'{"update_id": NaN, "message": {}}',
        b"[" * 30_000 + b"]" * 30_000,
        b'{"message": {}}',
        b'{"update_id": "7", "poll": {}}',
        b'{"update_id": true, "poll": {}}',
        b'{"update_id": 0, "poll": {}}',
        b'{"update_id": 9007199254740993, "poll": {}}',
        b'{"update_id": 7}',
        b'{"update_id": 7, "message": {}, "poll": {}}',
        b'{"update_id": 7, "message": []}',
        b'{"update_id": 7, "message": {"message_id": 1, "chat": {"id": "5"}}}',
        b'{"update_id": 7, "message": {"message_id": 1, "chat": {"id": 5}, "text": 5}}',
        b'{"update_id": 7, "message": {"message_id": 1, "chat": {"id": 5}, "text": "a\\u0000b"}}',
        b'{"update_id": 7, "message": {"message_id": 1, "chat": {"id": 5}, "contact": {}}}',
        b'{"update_id": 7, "callback_query": {"id": "1", "data": "x"}}',
        b'{"update_id": 7, "callback_query": {"from": {"id": 5}, "data": "x"}}',
        b'{"update_id": 7, "my_chat_member": {"chat": {"id": 5}, "from": {"id": 5}}}',
    ],
)
def test_malformed_input_is_a_clear_error(raw):
    with pytest.raises(MalformedUpdate) as error:
        parse_update(raw)
    assert len(str(error.value)) < 200


def test_oversized_pieces_are_refused(fake):
    update = fake.message_update(CHAT, "я" * 4096)
    assert parse_update(body(update)).text == "я" * 4096
    update["message"]["text"] = "я" * 4097
    with pytest.raises(MalformedUpdate, match="longer than 4096"):
        parse_update(body(update))
    # Telegram counts UTF-16 units: 2049 emoji are 4098 of them.
    update["message"]["text"] = "🚒" * 2049
    with pytest.raises(MalformedUpdate):
        parse_update(body(update))
    press = fake.callback_update(CHAT, 1, "x" * 65)
    with pytest.raises(MalformedUpdate, match="64 bytes"):
        parse_update(body(press))
    contact = fake.contact_update(CHAT, "+7" + "0" * 40)
    with pytest.raises(MalformedUpdate):
        parse_update(body(contact))


def test_an_oversized_body_is_refused_before_parsing():
    with pytest.raises(UpdateTooLarge):
        parse_update(b" " * (MAX_UPDATE_BYTES + 1))
    padded = json.dumps({"update_id": 1, "poll": {"pad": "x" * (MAX_UPDATE_BYTES - 100)}})
    assert isinstance(parse_update(padded), UnknownUpdate)


# --- callback data ------------------------------------------------------------------------------
answers = st.builds(
    AlertAnswer,
    alert_id=st.integers(1, MAX_ALERT_ID),
    accept=st.just(True),
    eta_min=st.one_of(st.none(), st.integers(1, 24 * 60)),
) | st.builds(AlertAnswer, alert_id=st.integers(1, MAX_ALERT_ID), accept=st.just(False))


@given(answers)
def test_callback_data_round_trips_within_64_bytes(answer):
    data = encode_callback_data(answer)
    assert len(data.encode("utf-8")) <= 64
    assert decode_callback_data(data) == answer


@given(st.text(max_size=80))
def test_decoding_any_text_gives_an_answer_or_a_clear_error(data):
    try:
        answer = decode_callback_data(data)
    except CallbackDataError:
        return
    assert encode_callback_data(answer) == data  # one spelling per answer


@pytest.mark.parametrize(
    "data",
    [
        "",
        "1a",
        "1a:",
        "1a:0",
        "1a:-5",
        "1a:05",
        "1a:5:0",
        "1a:5:015",
        "1a:5:1441",
        "1d:5:15",
        "1x:5",
        "1a:5:15:1",
        "1a: 5",
        "1a:5 ",
        "1a:１２",
        "1a:" + "9" * 20,
        "YES",
        "a:5:15",
    ],
)
def test_garbled_callback_data_is_refused(data):
    with pytest.raises(CallbackDataError):
        decode_callback_data(data)


def test_a_future_format_is_told_apart():
    with pytest.raises(UnsupportedCallbackData):
        decode_callback_data("2a:5:15")
    assert not isinstance(CallbackDataError("x"), UnsupportedCallbackData)


def test_answers_are_checked():
    for alert_id, accept, eta_min in ((0, True, None), (1, False, 15), (1, True, 0), (2**63, False, None)):
        with pytest.raises(ValueError):
            AlertAnswer(alert_id, accept, eta_min)


# --- the call-out keyboard ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "yes", "no"),
    [
        ("kk", "ИӘ", "ЖОҚ"),
        ("ru", "ДА", "НЕТ"),
        ("en", "YES", "NO"),
        ("ru-KZ", "ДА", "НЕТ"),
        (None, "YES", "NO"),
        ("de", "YES", "NO"),
    ],
)
def test_buttons_start_with_the_accept_and_decline_words(language, yes, no):
    keyboard = callout_keyboard(482, language)
    accept_row, decline_row = keyboard.rows
    assert [b.text.split(" ")[0] for b in accept_row] == [yes, yes, yes]
    assert [b.text for b in decline_row] == [no]
    assert (accept_word(language), decline_word(language)) == (yes, no)
    assert [decode_callback_data(b.callback_data) for b in keyboard.buttons] == [
        AlertAnswer(482, True, 15),
        AlertAnswer(482, True, 30),
        AlertAnswer(482, True, 60),
        AlertAnswer(482, False),
    ]
    # Typed back as text, each button's words mean the same as pressing it.
    assert parse_reply(accept_row[1].text).intent is Intent.ACCEPT
    assert parse_reply(accept_row[1].text).eta_min == 30
    assert parse_reply(decline_row[0].text).intent is Intent.DECLINE


def test_eta_choices_can_change_and_none_means_a_plain_accept():
    keyboard = callout_keyboard(9, "kk", eta_choices_min=(10,))
    assert [b.text for b in keyboard.buttons] == ["ИӘ · 10 мин", "ЖОҚ"]
    plain = callout_keyboard(9, "ru", eta_choices_min=())
    assert [b.text for b in plain.buttons] == ["ДА", "НЕТ"]
    assert decode_callback_data(plain.buttons[0].callback_data) == AlertAnswer(9, True)


def test_contact_request_keyboard_in_each_language():
    texts = {lang: contact_request_keyboard(lang).to_json()["keyboard"][0][0] for lang in ("kk", "ru", "en")}
    assert all(button["request_contact"] is True for button in texts.values())
    assert texts["kk"]["text"] == "Телефон нөмірімді бөлісу"
    assert texts["ru"]["text"] == "Поделиться номером телефона"
    assert texts["en"]["text"] == "Share my phone number"
