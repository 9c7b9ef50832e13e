"""Linking a Telegram chat to a volunteer: the coordinator's single-use link (API), /start with
its code, and a shared contact that must be the sender's own; PATCH preferred_channel."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import TelegramLinkCode, Volunteer

from . import factories

CHAT = 5550001


def new_link(client, auth, volunteer_id: int):
    return client.post(f"/api/v1/volunteers/{volunteer_id}/telegram-link", headers=auth("coordinator"))


def test_link_code_is_single_use_and_expires_within_a_day(client, auth, telegram):
    v = factories.volunteer(language="kk")
    response = new_link(client, auth, v.id)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"code", "url", "expires_at"}
    assert body["url"] == f"https://t.me/{telegram.username}?start={body['code']}"
    assert body["expires_at"].endswith("Z")
    row = db.session.scalar(select(TelegramLinkCode))
    assert row.code_hash != body["code"] and body["code"] not in row.code_hash  # only the hash is kept
    assert timedelta(hours=23) < row.expires_at - row.created_at <= timedelta(hours=24)


def test_link_needs_a_coordinator_and_a_volunteer(client, auth, telegram):
    v = factories.volunteer()
    assert client.post(f"/api/v1/volunteers/{v.id}/telegram-link", headers=auth("viewer")).status_code == 403
    assert new_link(client, auth, 999_999).status_code == 404


def test_link_without_telegram_configured_is_409(client, auth, app):
    v = factories.volunteer()
    response = new_link(client, auth, v.id)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "TELEGRAM_NOT_CONFIGURED"


def test_start_with_code_links_once(client, auth, telegram, tg_in, run_telegram):
    v = factories.volunteer(language="kk")
    code = new_link(client, auth, v.id).get_json()["code"]
    assert tg_in(telegram.start_update(CHAT, code)).status_code == 200
    db.session.refresh(v)
    assert (v.telegram_chat_id, v.telegram_user_id, v.preferred_channel) == (CHAT, CHAT, "telegram")
    run_telegram()
    assert "Telegram чаты" in telegram.bot_messages(CHAT)[-1].text  # told in Kazakh
    # The same code again, from another chat: nothing linked, a polite answer in three languages.
    other = CHAT + 1
    assert tg_in(telegram.start_update(other, code)).status_code == 200
    assert db.session.scalar(select(Volunteer).where(Volunteer.telegram_chat_id == other)) is None
    run_telegram()
    refusal = telegram.bot_messages(other)[-1].text
    assert "сілтеме" in refusal and "ссылка" in refusal and "link" in refusal


def test_expired_and_wrong_codes_link_nothing(client, auth, telegram, tg_in, run_telegram):
    v = factories.volunteer()
    code = new_link(client, auth, v.id).get_json()["code"]
    row = db.session.scalar(select(TelegramLinkCode))
    row.expires_at = row.created_at - timedelta(seconds=1)
    db.session.commit()
    tg_in(telegram.start_update(CHAT, code))
    tg_in(telegram.start_update(CHAT, "x" * 24))
    tg_in(telegram.start_update(CHAT, "not a code at all"))
    db.session.refresh(v)
    assert v.telegram_chat_id is None and v.preferred_channel == "sms"
    run_telegram()
    assert len(telegram.bot_messages(CHAT)) == 3


def test_own_contact_links_when_the_number_is_registered(telegram, tg_in, run_telegram):
    v = factories.volunteer(phone="+77011234567")
    # As the phone shares it: no plus sign.
    assert tg_in(telegram.contact_update(CHAT, "77011234567")).status_code == 200
    db.session.refresh(v)
    assert v.telegram_chat_id == CHAT and v.preferred_channel == "telegram"
    run_telegram()
    assert "связан" in telegram.bot_messages(CHAT)[-1].text


def test_someone_elses_contact_links_nothing(telegram, tg_in, run_telegram):
    v = factories.volunteer(phone="+77011234567")
    tg_in(telegram.contact_update(CHAT, "+77011234567", contact_user_id=CHAT + 42))
    tg_in(telegram.contact_update(CHAT, "+77011234567", contact_user_id=None))
    db.session.refresh(v)
    assert v.telegram_chat_id is None
    run_telegram()
    shown = telegram.bot_messages(CHAT)
    assert len(shown) == 2 and all("контакт" in m.text for m in shown)
    assert shown[0].reply_markup["keyboard"][0][0]["request_contact"] is True


def test_unknown_number_is_told_politely(telegram, tg_in, run_telegram):
    tg_in(telegram.contact_update(CHAT, "+77019999999"))
    assert db.session.scalar(select(Volunteer).where(Volunteer.telegram_chat_id == CHAT)) is None
    run_telegram()
    assert "реестре" in telegram.bot_messages(CHAT)[-1].text


def test_patch_preferred_channel(client, auth, telegram):
    v = factories.volunteer()
    url = f"/api/v1/volunteers/{v.id}"
    response = client.patch(url, json={"preferred_channel": "telegram"}, headers=auth("coordinator"))
    assert response.status_code == 400
    assert "preferred_channel" in response.get_json()["error"]["details"]["fields"]
    v.telegram_chat_id = CHAT
    db.session.commit()
    body = client.patch(url, json={"preferred_channel": "telegram"}, headers=auth("coordinator")).get_json()
    assert (body["preferred_channel"], body["telegram_linked"]) == ("telegram", True)
    body = client.patch(url, json={"preferred_channel": "sms"}, headers=auth("coordinator")).get_json()
    assert body["preferred_channel"] == "sms"
    assert client.patch(url, json={"preferred_channel": "pigeon"}, headers=auth("coordinator")).status_code == 400


def test_set_webhook_command_registers_the_secret(app, telegram):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert telegram.webhook["url"] == f"{app.config['PUBLIC_BASE_URL']}/telegram/webhook"
    assert telegram.webhook["secret_token"] == app.config["TELEGRAM_WEBHOOK_SECRET"]
    assert telegram.webhook["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    info = runner.invoke(args=["telegram", "webhook-info"])
    assert "/telegram/webhook" in info.output


def test_set_webhook_command_without_telegram_fails_clearly(app):
    result = app.test_cli_runner().invoke(args=["telegram", "set-webhook"])
    assert result.exit_code != 0 and "not configured" in result.output
