"""The simulated Telegram as a pure library: what it records, what it refuses like Telegram, and
updates that our own parser reads."""

from __future__ import annotations

import pytest

from notifications.telegram import TelegramPermanent, parse_message_ref
from notifications.telegram_buttons import callout_keyboard, contact_request_keyboard
from notifications.telegram_console import ButtonGone, ConsoleTelegram
from notifications.telegram_updates import CallbackQuery, Message, parse_update

CHAT = 1_000_000_000_007


def test_send_edit_and_press_like_telegram():
    sim = ConsoleTelegram()
    sent = sim.send(str(CHAT), "Call-out", buttons=callout_keyboard(42, "en"))
    chat_id, message_id = parse_message_ref(sent.provider_id)
    assert (chat_id, sent.status) == (CHAT, "delivered")
    update = parse_update(sim.user_press(CHAT, message_id, "1a:42:30", language_code="en"))
    assert isinstance(update, CallbackQuery) and (update.data, update.from_id) == ("1a:42:30", CHAT)
    assert sim.answer_button(update.callback_query_id, "Accepted") is True
    with pytest.raises(TelegramPermanent):  # a query is answered once
        sim.answer_button(update.callback_query_id, "again")
    assert sim.close_buttons(sent.provider_id, "Call-out\n\n— accepted") is True
    assert sim.close_buttons(sent.provider_id, "Call-out\n\n— accepted") is False  # not modified
    with pytest.raises(ButtonGone):
        sim.user_press(CHAT, message_id, "1a:42:30")
    kinds = [(e.kind, e.from_bot) for e in sim.chat(CHAT)]
    assert kinds == [("text", True), ("press", False), ("notice", True)]
    assert sim.chat(CHAT)[0].edited and sim.chat(CHAT)[0].buttons is None


def test_refusals_and_typed_text():
    sim = ConsoleTelegram()
    with pytest.raises(TelegramPermanent):
        sim.send("not a chat", "x")
    with pytest.raises(TelegramPermanent):
        sim.close_buttons(f"tg:{CHAT}:5")  # never sent
    with pytest.raises(ValueError):
        sim.send_pin(str(CHAT), 91.0, 0.0)
    sim.send(str(CHAT), "Share?", buttons=contact_request_keyboard("kk"))
    assert sim.chat(CHAT)[0].keyboard is not None and sim.chat(CHAT)[0].buttons is None
    message = parse_update(sim.user_text(CHAT, "/start abc", language_code="kk"))
    assert isinstance(message, Message) and message.start_payload == "abc" and message.language_code == "kk"


def test_ids_of_a_new_run_never_repeat_the_last_ones():
    first, second = ConsoleTelegram(), ConsoleTelegram(clock=lambda: 2e9)
    a = parse_message_ref(first.send(str(CHAT), "a").provider_id)[1]
    b = parse_message_ref(second.send(str(CHAT), "b").provider_id)[1]
    assert b > a  # message ids start from the clock
    assert parse_update(second.user_text(CHAT, "x")).update_id > parse_update(first.user_text(CHAT, "x")).update_id
