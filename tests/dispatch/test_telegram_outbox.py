"""Call-outs on Telegram end to end, against the fake Bot API with the real client: buttons and a
pin, presses through the same use cases as SMS, the call-out edited when the alert ends, 429
retry_after honoured, a blocked bot opting Telegram out with the call-out sent once by SMS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch import alerting, jobs
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Alert, InboundMessage, Incident, Need, OutboxMessage, Volunteer
from dispatch.outbox import Pacer

from . import factories
from .telegram_support import link

CHAT = 7770001


@pytest.fixture
def one_at_a_time(app, monkeypatch):
    """One alert per open place, so who is asked next is plain to see."""
    monkeypatch.setitem(app.config, "EXPECTED_ACCEPTANCE", 1.0)


def linked_volunteer(telegram, chat=CHAT, km=1.0, **fields) -> Volunteer:
    return link(factories.volunteer(km=km, **fields), chat, telegram)


def callout(telegram, chat=CHAT):
    shown = [m for m in telegram.bot_messages(chat) if m.text is not None and m.callback_data]
    assert shown, f"no call-out with buttons in chat {chat}"
    return shown[-1]


def test_callout_arrives_with_buttons_and_a_pin(client, auth, telegram, run_telegram, sms, one_at_a_time):
    v = linked_volunteer(telegram, language="kk")
    incident = factories.report(client, auth, [{"skill": None, "count": 1}])
    jobs.send_outbox()
    assert sms.sent == []  # not by SMS
    run_telegram()
    message = callout(telegram)
    assert incident["code"] in message.text and "/r/" not in message.text  # buttons, not a reply link
    assert message.button_texts[0].startswith("ИӘ") and message.button_texts[-1] == "ЖОҚ"
    pins = [m for m in telegram.bot_messages(CHAT) if m.location is not None]
    assert len(pins) == 1
    assert pins[0].location["latitude"] == pytest.approx(round(factories.ASTANA[0], 2))
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == v.id))
    assert alert.status == "delivered" and alert.expires_at is not None
    body = client.get(f"/api/v1/incidents/{incident['id']}/alerts", headers=auth("viewer")).get_json()
    assert body["items"][0]["channel"] == "telegram"
    assert body["items"][0]["deliveries"] == [{"channel": "telegram", "provider": "telegram", "status": "delivered"}]


def test_accept_30_by_button(client, auth, telegram, tg_in, run_telegram, sms, one_at_a_time):
    v = linked_volunteer(telegram)
    incident = factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    assert tg_in(telegram.press(CHAT, "ДА · 30 мин")).status_code == 200
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == v.id))
    assert (alert.status, alert.eta_min) == ("accepted", 30)
    assert telegram.callback_answers[-1].text == "Принято. Спасибо!"
    inbound = db.session.scalar(select(InboundMessage).where(InboundMessage.channel == "telegram"))
    assert inbound.intent == "accept" and inbound.incident_id == incident["id"]
    run_telegram()
    edited = telegram.message(CHAT, callout_id := telegram.bot_messages(CHAT)[0].message_id)
    assert edited.buttons == [] and "Вы приняли" in edited.text and edited.edits
    confirmation = telegram.bot_messages(CHAT)[-1]
    assert confirmation.message_id != callout_id and f"{factories.ASTANA[0]:.5f}" in confirmation.text
    assert sms.sent == []
    # The old button cannot be pressed any more; a forged press on it is refused politely.
    with pytest.raises(LookupError):
        telegram.press(CHAT, "ДА · 15 мин")
    tg_in(telegram.callback_update(CHAT, callout_id, f"1a:{alert.id}:15"))
    assert telegram.callback_answers[-1].text == "Этот вызов уже завершён, ничего не изменилось."
    db.session.refresh(alert)
    assert alert.eta_min == 30
    assert db.session.get(Need, alert.need_id).filled == 1


def test_decline_by_button_asks_the_next(client, auth, telegram, tg_in, run_telegram, one_at_a_time):
    v = linked_volunteer(telegram)
    second = factories.volunteer(km=2.0)
    incident = factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    tg_in(telegram.press(CHAT, "НЕТ"))
    assert factories.by_status(incident["id"], "declined") == [v.id]
    assert second.id in factories.by_status(incident["id"], "queued")
    run_telegram()
    shown = telegram.bot_messages(CHAT)[0]
    assert shown.buttons == [] and "Вы отказались" in shown.text


def test_press_by_another_user_changes_nothing(client, auth, telegram, tg_in, run_telegram, one_at_a_time):
    v = linked_volunteer(telegram)
    linked_volunteer(telegram, chat=CHAT + 1, km=40.0)
    factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    message = callout(telegram)
    # The message forwarded, or a modified client: someone else presses its accept button.
    tg_in(telegram.callback_update(CHAT, message.message_id, message.callback_data[0], from_id=CHAT + 1))
    tg_in(telegram.callback_update(CHAT, message.message_id, message.callback_data[0], from_id=CHAT + 999))
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == v.id))
    assert alert.status == "delivered"
    assert [a.text for a in telegram.callback_answers] == ["Эта кнопка не для вас."] * 2


def test_sms_yes_after_telegram_accept_counts_once(client, auth, telegram, tg_in, run_telegram, text_in, one_at_a_time):
    v = linked_volunteer(telegram)
    factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    tg_in(telegram.press(CHAT, "ДА · 15 мин"))
    text_in(v.phone, "ДА 60")
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == v.id))
    assert (alert.status, alert.eta_min) == ("accepted", 15)
    assert db.session.get(Need, alert.need_id).filled == 1


def test_telegram_press_after_sms_yes_counts_once(client, auth, telegram, tg_in, run_telegram, text_in, one_at_a_time):
    v = linked_volunteer(telegram)
    factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    press = telegram.press(CHAT, "ДА · 60 мин")
    text_in(v.phone, "ДА")
    tg_in(press)
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == v.id))
    assert (alert.status, alert.eta_min) == ("accepted", None)
    assert db.session.get(Need, alert.need_id).filled == 1
    assert telegram.callback_answers[-1].text.startswith("Этот вызов уже завершён")


def test_stood_down_alert_edits_the_callout(client, auth, telegram, tg_in, run_telegram, text_in, one_at_a_time):
    linked_volunteer(telegram)
    incident = factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    client.post(f"/api/v1/incidents/{incident['id']}/cancel", headers=auth("coordinator"))
    run_telegram()
    shown = telegram.bot_messages(CHAT)[0]
    assert shown.buttons == [] and "отменено" in shown.text
    assert shown.edits[0]["text"] in shown.text  # the call-out's text stays, what happened is added


def test_429_retry_after_is_honoured(app, client, auth, telegram, run_telegram, one_at_a_time):
    linked_volunteer(telegram)
    factories.report(client, auth, [{"skill": None, "count": 1}])
    telegram.fail_next(429, retry_after=7, method="sendMessage")
    before = utcnow()
    run_telegram()
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "telegram"))
    assert row.status == "pending" and row.next_attempt_at >= before + timedelta(seconds=7)
    # Not before: the next run sends nothing, and the pacer holds every Telegram send meanwhile.
    db.session.expire_all()
    run_telegram()
    assert len(telegram.calls_to("sendMessage")) == 1
    assert telegram.bot_messages(CHAT) == []
    # After it (the clock moved on: the row is due, the pacer's pause is over): sent.
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    app.extensions["telegram_pacer"] = Pacer(10_000)
    run_telegram()
    assert callout(telegram).callback_data


def test_blocked_bot_opts_telegram_out_and_sends_the_callout_once_by_sms(
    client, auth, telegram, run_telegram, sms, one_at_a_time
):
    v = linked_volunteer(telegram)
    telegram.block(CHAT)
    incident = factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    db.session.refresh(v)
    assert v.telegram_opted_out_at is not None and v.status == "active"
    jobs.send_outbox()
    assert [m.to for m in sms.sent] == [v.phone]
    assert incident["code"] in sms.sent[0].body and "/r/" in sms.sent[0].body
    run_telegram()
    jobs.send_outbox()
    assert len(sms.sent) == 1  # once
    items = client.get(f"/api/v1/incidents/{incident['id']}/alerts", headers=auth("viewer")).get_json()["items"]
    assert items[0]["channel"] == "sms"
    assert [(d["channel"], d["status"]) for d in items[0]["deliveries"]] == [("telegram", "failed"), ("sms", "sent")]
    assert db.session.get(Alert, items[0]["alert_id"]).status == "sent"
    # Other messages now go by SMS too.
    alerting.tell(v.id, db.session.get(Incident, incident["id"]), "standby")
    db.session.commit()
    jobs.send_outbox()
    run_telegram()
    assert len(sms.sent) == 2
    assert [m for m in telegram.bot_messages(CHAT)] == []
