"""POST /telegram/webhook: the secret header before anything else, the body limit, dedupe on
update_id, signed-but-unusable updates answered 200 and audited, texts read with the SMS reply
words and answered in Telegram, STOP in Telegram, a blocked bot, the per-chat limit."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from dispatch import inbox
from dispatch.extensions import db
from dispatch.models import Alert, AuditEvent, InboundMessage, OutboxMessage, Volunteer

from . import factories
from .telegram_support import link

CHAT = 6660001


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_same_update_twice_is_handled_once(telegram, tg_in, run_telegram):
    v = link(factories.volunteer(), CHAT, telegram)
    update = telegram.message_update(CHAT, "HELP")
    first, second = tg_in(update), tg_in(update)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.get_json()["result"], second.get_json()["result"]) == ("handled", "duplicate")
    assert count(InboundMessage) == 1
    run_telegram()
    assert len(telegram.bot_messages(CHAT)) == 1
    assert db.session.scalar(select(InboundMessage.volunteer_id)) == v.id


def test_bad_secret_is_403_audited_and_changes_nothing(client, telegram):
    v = link(factories.volunteer(), CHAT, telegram)
    update = json.dumps(telegram.message_update(CHAT, "STOP"))
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-wrong-secret"}):
        response = client.post(
            "/telegram/webhook", data=update, headers={"Content-Type": "application/json", **headers}
        )
        assert response.status_code == 403
    assert count(InboundMessage) == 0
    db.session.refresh(v)
    assert v.telegram_opted_out_at is None
    assert count(AuditEvent, AuditEvent.event == "webhook_forged") == 2


def test_forged_flood_is_429_after_the_limit(client, telegram):
    for _ in range(20):
        client.post("/telegram/webhook", data="{}", headers={"X-Telegram-Bot-Api-Secret-Token": "nope-nope-nope-nope"})
    response = client.post("/telegram/webhook", data="{}")
    assert response.status_code == 429 and response.headers["Retry-After"]


def test_oversized_body_is_413(tg_in, telegram):
    update = telegram.message_update(CHAT, "x")
    update["message"]["padding"] = "x" * (64 * 1024)
    assert tg_in(update).status_code == 413
    assert count(InboundMessage) == 0


def test_malformed_update_is_200_and_audited(client, telegram):
    for body in (b"{not json", b'{"update_id": "seven", "message": {}}', b"[]"):
        response = client.post("/telegram/webhook", data=body, headers=telegram.webhook_headers())
        assert response.status_code == 200 and response.get_json()["result"] == "malformed"
    assert count(AuditEvent, AuditEvent.event == "telegram_malformed") == 3
    assert count(InboundMessage) == 0


def test_unknown_update_kind_is_200_and_ignored(tg_in):
    response = tg_in({"update_id": 900000001, "edited_message": {"message_id": 1}})
    assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    assert count(InboundMessage) == 0


def test_webhook_is_404_without_telegram(client, app):
    assert client.post("/telegram/webhook", data="{}").status_code == 404


def test_unknown_chat_gets_a_hint_once_a_day(telegram, tg_in, run_telegram):
    tg_in(telegram.message_update(CHAT, "ДА"))
    tg_in(telegram.message_update(CHAT, "ДА"))
    run_telegram()
    shown = telegram.bot_messages(CHAT)
    assert len(shown) == 1 and "не связан" in shown[0].text
    assert shown[0].reply_markup["keyboard"][0][0]["request_contact"] is True


def test_text_yes_in_telegram_accepts_and_is_answered_in_telegram(
    client, auth, app, monkeypatch, telegram, tg_in, run_telegram, sms
):
    monkeypatch.setitem(app.config, "EXPECTED_ACCEPTANCE", 1.0)
    v = link(factories.volunteer(), CHAT, telegram)
    v.preferred_channel = "sms"  # answers still go where the text came from
    db.session.commit()
    factories.report(client, auth, [{"skill": None, "count": 1}])
    tg_in(telegram.message_update(CHAT, "помощь"))
    run_telegram()
    assert len(telegram.bot_messages(CHAT)) == 1  # HELP answered in Telegram, not by SMS
    assert [m for m in sms.sent if m.to == v.phone and "помощь" in m.body.lower()] == []
    tg_in(telegram.message_update(CHAT, "да 20"))
    alert = db.session.scalar(select(Alert).where(Alert.volunteer_id == v.id))
    assert (alert.status, alert.eta_min) == ("accepted", 20)


def test_stop_in_telegram_stops_telegram_only(client, auth, app, monkeypatch, telegram, tg_in, run_telegram, sms):
    monkeypatch.setitem(app.config, "EXPECTED_ACCEPTANCE", 1.0)
    v = link(factories.volunteer(), CHAT, telegram)
    tg_in(telegram.message_update(CHAT, "STOP"))
    db.session.refresh(v)
    assert v.telegram_opted_out_at is not None and v.status == "active"
    run_telegram()
    assert "START" in telegram.bot_messages(CHAT)[-1].text
    factories.report(client, auth, [{"skill": None, "count": 1}])
    from dispatch import jobs

    jobs.send_outbox()
    run_telegram()
    assert [m.to for m in sms.sent] == [v.phone]  # the call-out came by SMS
    assert len(telegram.bot_messages(CHAT)) == 1
    tg_in(telegram.message_update(CHAT, "START"))
    db.session.refresh(v)
    assert v.telegram_opted_out_at is None


def test_blocking_the_bot_opts_telegram_out(telegram, tg_in):
    v = link(factories.volunteer(), CHAT, telegram)
    tg_in(telegram.block(CHAT))
    db.session.refresh(v)
    assert v.telegram_opted_out_at is not None and v.status == "active"
    tg_in(telegram.unblock(CHAT))
    db.session.refresh(v)
    assert v.telegram_opted_out_at is None


def test_per_chat_limit_stores_but_does_not_act(telegram, tg_in):
    v = link(factories.volunteer(), CHAT, telegram)
    results = [tg_in(telegram.message_update(CHAT, "BUSY")).get_json()["result"] for _ in range(22)]
    assert results[: inbox.MAX_TEXTS_PER_NUMBER] == ["handled"] * inbox.MAX_TEXTS_PER_NUMBER
    assert results[-1] == "stored_not_acted_on"
    assert count(InboundMessage, InboundMessage.outcome == inbox.RATE_LIMITED) == 2
    # STOP is honoured at any rate.
    tg_in(telegram.message_update(CHAT, "STOP"))
    assert db.session.get(Volunteer, v.id).telegram_opted_out_at is not None
    answers = count(OutboxMessage, OutboxMessage.channel == "telegram", OutboxMessage.kind == "busy")
    assert answers <= inbox.MAX_ANSWERS_PER_HOUR
