"""The simulator's Telegram view and reply links: the simulated Telegram of development records
what the outbox sends (text, buttons, pins, edits); presses and typed text go through the
webhook's own handler; one click links a volunteer the real way; the reply link of a pending
SMS call-out opens the real reply page. Never in production, never beside a real bot."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from config import TestConfig
from dispatch import create_app, jobs
from dispatch import telegram as dispatch_telegram
from dispatch.extensions import db
from dispatch.models import Alert, AuditEvent, InboundMessage, OutboxMessage, TelegramLinkCode, Volunteer
from dispatch.users import create_user
from notifications.telegram_console import ConsoleTelegram
from tests.dispatch.factories import ASTANA, volunteer
from tests.dispatch.telegram_support import (
    link,
    telegram,  # noqa: F401 (the fake Bot API fixture)
)

from .conftest import PASSWORD, sign_in
from .test_simulator import report

_BUTTON = re.compile(
    r'<input type="hidden" name="message_id" value="(\d+)">\s*'
    r'<input type="hidden" name="data" value="([^"]+)">\s*'
    r'<button type="submit" class="tg-button">([^<]+)</button>'
)


@pytest.fixture
def simulated(app) -> ConsoleTelegram:
    """The app as `make run` has it: console SMS, no bot token, the simulated Telegram on."""
    saved_config = {name: app.config.get(name) for name in ("TELEGRAM_ENABLED", "TELEGRAM_SIMULATED")}
    saved_ext = {name: app.extensions.get(name) for name in ("telegram_channel", "telegram_pacer")}
    app.config.update(TELEGRAM_ENABLED=True, TELEGRAM_SIMULATED=True)
    dispatch_telegram.register_telegram(app)
    try:
        sim = app.extensions["telegram_channel"]
        assert isinstance(sim, ConsoleTelegram)
        yield sim
    finally:
        app.config.update(saved_config)
        for name, value in saved_ext.items():
            if value is None:
                app.extensions.pop(name, None)
            else:
                app.extensions[name] = value


def linked_volunteer(**fields) -> Volunteer:
    """A volunteer who linked the simulated chat dispatch_telegram.simulated_chat_id(id), as seed-demo does."""
    person = volunteer(1, skills=("water_rescue",), **fields)
    person.telegram_chat_id = person.telegram_user_id = dispatch_telegram.simulated_chat_id(person.id)
    person.preferred_channel = "telegram"
    db.session.commit()
    return person


def buttons(page: str) -> list[tuple[int, str, str]]:
    return [(int(m), data, text) for m, data, text in _BUTTON.findall(page)]


def thread(console, person) -> str:
    response = console.get(f"/console/simulator/{person.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def callout(console, auth, sim, person) -> tuple[dict, list[tuple[int, str, str]]]:
    incident = report(console, auth)
    jobs.send_telegram_outbox()
    return incident, buttons(thread(console, person))


def test_a_call_out_is_recorded_with_its_buttons_and_pin(console, auth, simulated, sms):
    person = linked_volunteer(name="Telegram Swimmer", language="kk")
    incident, shown = callout(console, auth, simulated, person)
    assert sms.sent == []  # Telegram, not SMS
    chat = simulated.chat(person.telegram_chat_id)
    assert [e.kind for e in chat] == ["text", "pin"]
    message, pin = chat
    assert message.from_bot and incident["title"] in message.text
    assert [b.text for b in message.buttons.buttons] == ["ИӘ · 15 мин", "ИӘ · 30 мин", "ИӘ · 60 мин", "ЖОҚ"]
    assert (round(pin.latitude, 2), round(pin.longitude, 2)) == (round(ASTANA[0], 2), round(ASTANA[1], 2))
    assert [text for _, _, text in shown] == ["ИӘ · 15 мин", "ИӘ · 30 мин", "ИӘ · 60 мин", "ЖОҚ"]
    assert {m for m, _, _ in shown} == {message.message_id}
    page = thread(console, person)
    assert "Map pin: 51.17000, 71.45000" in page
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "alert"))
    assert (row.channel, row.status, row.provider_id) == (
        "telegram",
        "delivered",
        f"tg:{person.telegram_chat_id}:{message.message_id}",
    )
    # The index lists the chat.
    assert "Telegram Swimmer" in console.get("/console/simulator/").get_data(as_text=True)


def test_pressing_accept_30_goes_through_the_webhook_handler(console, auth, simulated):
    person = linked_volunteer(language="ru")
    _incident, shown = callout(console, auth, simulated, person)
    message_id, data, _text = next(b for b in shown if b[2] == "ДА · 30 мин")
    response = console.post_form(
        f"/console/simulator/{person.id}/telegram/press", {"message_id": message_id, "data": data}
    )
    assert response.status_code == 302
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == person.id))
    assert (alert.status, alert.eta_min) == ("accepted", 30)
    inbound = db.session.scalar(select(InboundMessage).where(InboundMessage.channel == "telegram"))
    assert re.fullmatch(r"tg:\d+", inbound.message_sid) and inbound.from_phone == f"tg:{person.telegram_chat_id}"
    jobs.send_telegram_outbox()
    chat = simulated.chat(person.telegram_chat_id)
    callout_entry = next(e for e in chat if e.message_id == message_id)
    assert callout_entry.buttons is None and callout_entry.edited  # rewritten, buttons taken away
    assert [e.kind for e in chat if not e.from_bot] == ["press"]
    assert any(e.kind == "notice" for e in chat)  # the press was answered
    assert chat[-1].kind == "text" and chat[-1].from_bot  # the confirmation
    page = thread(console, person)
    assert buttons(page) == []
    assert "Pressed: ДА · 30 мин" in page and "edited" in page
    # The same button again: it is gone, so nothing is sent and nothing changes.
    again = console.post_form(
        f"/console/simulator/{person.id}/telegram/press", {"message_id": message_id, "data": data}
    )
    assert again.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_pressing_decline(console, auth, simulated):
    person = linked_volunteer(language="en")
    _incident, shown = callout(console, auth, simulated, person)
    message_id, data, _text = next(b for b in shown if b[2] == "NO")
    console.post_form(f"/console/simulator/{person.id}/telegram/press", {"message_id": message_id, "data": data})
    assert db.session.scalar(select(Alert.status).where(Alert.volunteer_id == person.id)) == "declined"
    jobs.send_telegram_outbox()
    assert buttons(thread(console, person)) == []


def test_typed_text_takes_the_text_path(console, auth, simulated):
    person = linked_volunteer(language="ru")
    callout(console, auth, simulated, person)
    response = console.post_form(f"/console/simulator/{person.id}/telegram/say", {"body": "ДА"})
    assert response.status_code == 302
    assert db.session.scalar(select(Alert.status).where(Alert.volunteer_id == person.id)) == "accepted"
    inbound = db.session.scalar(select(InboundMessage).where(InboundMessage.channel == "telegram"))
    assert (inbound.body, inbound.volunteer_id) == ("ДА", person.id)
    jobs.send_telegram_outbox()
    chat = simulated.chat(person.telegram_chat_id)
    assert [e.text for e in chat if not e.from_bot] == ["ДА"]
    assert chat[0].buttons is None  # the call-out closed as accepted
    # The SMS column shows SMS only, not the Telegram text.
    assert 'class="bubble from-volunteer"' not in thread(console, person).split('id="telegram"')[0]


def test_bad_presses_and_texts_change_nothing(console, auth, simulated):
    person = linked_volunteer()
    _incident, shown = callout(console, auth, simulated, person)
    message_id, data, _text = shown[0]
    path = f"/console/simulator/{person.id}/telegram/press"
    assert console.post_form(path, {"message_id": "x", "data": data}).status_code == 400
    assert console.post_form(path, {"message_id": message_id, "data": ""}).status_code == 400
    assert console.post_form(path, {"message_id": message_id, "data": "y" * 65}).status_code == 400
    assert console.post_form(path, {"message_id": message_id, "data": "1a:999"}).status_code == 409
    assert console.post_form(path, {"message_id": message_id + 1, "data": data}).status_code == 409
    assert console.post(path, data={"message_id": message_id, "data": data}).status_code == 400  # no CSRF token
    say = f"/console/simulator/{person.id}/telegram/say"
    assert console.post_form(say, {"body": "  "}).status_code == 400
    assert console.post_form(say, {"body": "Y" * 1601}).status_code == 400
    unlinked = volunteer(30)
    assert console.post_form(f"/console/simulator/{unlinked.id}/telegram/say", {"body": "YES"}).status_code == 409
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert db.session.scalar(select(Alert.status).where(Alert.volunteer_id == person.id)) == "delivered"


def test_text_from_the_volunteer_is_text(console, auth, simulated):
    person = linked_volunteer(name="<b>Bold</b> & co")
    callout(console, auth, simulated, person)
    console.post_form(f"/console/simulator/{person.id}/telegram/say", {"body": "<script>alert(1)</script>"})
    jobs.send_telegram_outbox()
    page = thread(console, person)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in page


def test_link_with_one_click_takes_the_real_link_path(console, simulated):
    person = volunteer(1, language="kk", name="Not Yet Linked")
    page = thread(console, person)
    assert 'id="telegram-link"' in page
    response = console.post_form(f"/console/simulator/{person.id}/telegram/link")
    assert response.status_code == 302
    db.session.refresh(person)
    chat_id = dispatch_telegram.simulated_chat_id(person.id)
    assert (person.telegram_chat_id, person.telegram_user_id, person.preferred_channel) == (
        chat_id,
        chat_id,
        "telegram",
    )
    code = db.session.scalar(select(TelegramLinkCode))
    assert code.volunteer_id == person.id and code.used_at is not None  # a link code, redeemed
    inbound = db.session.scalar(select(InboundMessage))
    assert inbound.channel == "telegram" and inbound.body.startswith("/start ") and inbound.outcome == "linked"
    assert db.session.scalar(select(AuditEvent.event).where(AuditEvent.event == "telegram_linked"))
    jobs.send_telegram_outbox()
    assert "Telegram чаты" in simulated.chat(chat_id)[-1].text  # the bot's "linked", in Kazakh
    page = thread(console, person)
    assert 'id="telegram-link"' not in page and 'id="telegram-body"' in page


def test_a_console_link_opens_the_simulated_start_page(console, simulated):
    person = volunteer(1, name="Linked From The Console")
    created = console.post_form(f"/console/volunteers/{person.id}/telegram-link")
    assert created.status_code == 201
    url = re.search(
        r"http://127\.0\.0\.1:5000(/console/simulator/telegram/start\?code=[A-Za-z0-9_-]{24})",
        created.get_data(as_text=True),
    )
    path = url.group(1)
    code = path.rsplit("=", 1)[1]
    # Opening it changes nothing (link previewers fetch links); pressing Start links.
    assert 'id="telegram-start"' in console.get(path).get_data(as_text=True)
    assert db.session.scalar(select(TelegramLinkCode.used_at)) is None
    response = console.post_form("/console/simulator/telegram/start", {"code": code})
    assert response.status_code == 302 and response.headers["Location"] == f"/console/simulator/{person.id}"
    db.session.refresh(person)
    assert person.telegram_chat_id is not None and person.preferred_channel == "telegram"
    # Used: a second Start links nothing.
    again = console.post_form("/console/simulator/telegram/start", {"code": code})
    assert again.status_code == 409


def test_the_reply_link_of_a_pending_sms_call_out(console, auth, simulated, sms):
    person = volunteer(1, skills=("water_rescue",), name="By SMS", language="en")
    report(console, auth)
    jobs.send_outbox()
    page = thread(console, person)
    token = re.search(r'href="/r/([A-Za-z0-9_-]{22})" target="_blank" rel="noopener noreferrer"', page).group(1)
    assert sms.sent[0].body.endswith(f"/r/{token}")
    assert 'id="telegram-link"' in page  # not linked: one click would link them
    assert console.get(f"/r/{token}").status_code == 200
    # Answered by SMS: the link no longer answers, and the simulator no longer offers it.
    console.post_form(f"/console/simulator/{person.id}/reply", {"body": "NO"})
    live = console.get(f"/console/simulator/{person.id}/links/live").get_data(as_text=True)
    assert "/r/" not in live and "No call-out by SMS is waiting" in live


def test_the_telegram_webhook_does_not_exist_for_the_simulated_telegram(client, simulated):
    response = client.post(
        "/telegram/webhook", data=b'{"update_id": 1}', headers={"X-Telegram-Bot-Api-Secret-Token": ""}
    )
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_with_a_real_bot_the_simulated_chat_is_not_used(console, auth, telegram):  # noqa: F811
    telegram_fake = telegram
    person = volunteer(1, skills=("water_rescue",))
    link(person, 5550101, telegram_fake)
    report(console, auth)
    jobs.send_telegram_outbox()
    assert telegram_fake.bot_messages(5550101)[0].reply_markup  # the call-out went to the Bot API
    assert dispatch_telegram.simulated() is None
    page = thread(console, person)
    assert "real bot" in page and "tg-button" not in page
    for path, data in (
        ("telegram/press", {"message_id": "1", "data": "1d:1"}),
        ("telegram/say", {"body": "YES"}),
        ("telegram/link", {}),
    ):
        assert console.post_form(f"/console/simulator/{person.id}/{path}", data).status_code == 404, path
    assert console.get(f"/console/simulator/{person.id}/telegram/live").status_code == 404


def test_a_development_app_simulates_telegram_and_production_never(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.rollback()  # SQLite: let the other app's connection in
    development = create_app(TestConfig.for_database(url, SIMULATE_TELEGRAM="true"))
    assert isinstance(development.extensions["telegram_channel"], ConsoleTelegram)
    production = create_app(TestConfig.for_database(url, DISPATCH_ENV="production", SIMULATE_TELEGRAM="true"))
    assert production.config["TELEGRAM_SIMULATED"] is False and "telegram_channel" not in production.extensions
    with production.app_context():
        person = volunteer(1)
        create_user("sim-tg-prod@test.local", "coordinator", password=PASSWORD)
        client = production.test_client()
        assert sign_in(client, "sim-tg-prod@test.local").status_code == 302
        for path in (f"/console/simulator/{person.id}/telegram/live", "/console/simulator/telegram/start?code=x"):
            assert client.get(path).status_code == 404, path
        db.session.remove()
        db.engine.dispose()
    for other in (development, production):
        with other.app_context():
            db.engine.dispose()


def test_seed_demo_links_every_fifth_volunteer_to_a_simulated_chat(app, simulated):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    linked = db.session.scalars(select(Volunteer).where(Volunteer.preferred_channel == "telegram")).all()
    total = db.session.scalar(select(func.count(Volunteer.id)))
    assert len(linked) == total // 5
    assert all(v.telegram_chat_id == dispatch_telegram.simulated_chat_id(v.id) == v.telegram_user_id for v in linked)


@pytest.mark.parametrize(("lang", "words"), [("ru", "Имитация Telegram"), ("kk", "Telegram имитациясы")])
def test_the_telegram_view_in_russian_and_kazakh(console, auth, simulated, lang, words):
    person = linked_volunteer(language="kk")
    callout(console, auth, simulated, person)
    console.set_cookie("lang", lang)
    page = console.get(f"/console/simulator/{person.id}", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert words in page and "ИӘ · 30 мин" in page
    for english in ("Simulated Telegram", "Write to the bot", "Reply link", "Map pin", "Bot ·"):
        assert english not in page, english
