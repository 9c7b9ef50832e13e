"""Coordinators on Telegram and in their own language: `users telegram-link` and `/start <code>`
bind the user's chat; welfare-overdue and HELP alerts about their incidents then go to that chat
(through the outbox, to the fake Telegram) and to their phone, in the language they chose
(`users create --language`, `users set-language`; ru unless set)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch import jobs, users
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from dispatch.models import AuditEvent, OutboxMessage, TelegramLinkCode, User

from .factories import report, swimmers
from .telegram_support import link, run_telegram, telegram, tg_in  # noqa: F401  (fixtures)

CHAT = 7770001
PHONE = "+77017778899"
_sid = iter(range(10**6))


@pytest.fixture
def runner(app):
    def run(*args: str):
        return app.test_cli_runner().invoke(args=["users", *args])

    return run


def text(volunteer, body: str):
    return receive_sms(f"SMcoord{next(_sid):08d}", volunteer.phone, body)


def coordinator() -> User:
    return db.session.scalar(select(User).where(User.email == "coordinator@test.local"))


def link_by_cli(runner, telegram, tg_in, email: str = "coordinator@test.local", chat: int = CHAT) -> str:  # noqa: F811
    result = runner("telegram-link", email)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip().splitlines()[-1]
    code = re.fullmatch(rf"https://t\.me/{telegram.username}\?start=([A-Za-z0-9_-]{{24}})", url).group(1)
    assert tg_in(telegram.start_update(chat, code)).status_code == 200
    return code


def test_a_user_links_their_chat_once_and_is_told_in_their_language(runner, tokens, telegram, tg_in, run_telegram):  # noqa: F811
    assert runner("set-language", "coordinator@test.local", "kk").exit_code == 0
    code = link_by_cli(runner, telegram, tg_in)
    user = coordinator()
    db.session.refresh(user)
    assert user.telegram_chat_id == CHAT and user.language == "kk"
    row = db.session.scalar(select(TelegramLinkCode).where(TelegramLinkCode.user_id == user.id))
    assert row.used_at is not None and row.volunteer_id is None and code not in row.code_hash
    run_telegram()
    assert "үйлестірушінің есептік жазбасына" in telegram.bot_messages(CHAT)[-1].text
    # The code again, from another chat: nothing changes.
    assert tg_in(telegram.start_update(CHAT + 1, code)).status_code == 200
    db.session.refresh(user)
    assert user.telegram_chat_id == CHAT
    events = {e for (e,) in db.session.execute(select(AuditEvent.event))}
    assert {"user_telegram_link_created", "user_telegram_linked", "user_language_set"} <= events


def test_help_and_welfare_alerts_go_to_telegram_and_phone_in_the_users_language(
    runner,
    telegram,  # noqa: F811
    tg_in,  # noqa: F811
    run_telegram,  # noqa: F811
    client,
    auth,
    app,
):
    users.set_phone("coordinator@test.local", PHONE)
    users.set_language("coordinator@test.local", "kk")
    link_by_cli(runner, telegram, tg_in)
    run_telegram()
    people = swimmers(2)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}])
    for person in people:
        assert text(person, f"ДА {incident['code']}").outcome == "accepted"
        text(person, "ПРИБЫЛ")
    assert text(people[0], "ПОМОЩЬ").outcome == "help_on_scene"
    sms = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.to_phone == PHONE)).all()
    assert len(sms) == 1 and "КӨМЕК сұрайды" in sms[0]
    run_telegram()
    help_message = telegram.bot_messages(CHAT)[-1].text
    assert "КӨМЕК сұрайды" in help_message and people[0].phone in help_message
    # The welfare check: overdue after the end, to both channels, in Kazakh.
    text(people[0], "АМАНМЫН")
    assert client.post(f"/api/v1/incidents/{incident['id']}/close", headers=auth("coordinator")).status_code == 200
    ended = utcnow()
    overdue = jobs.welfare_checks(now=ended + timedelta(seconds=app.config["WELFARE_CHECK_S"] + 5))
    assert overdue["welfare_overdue"] >= 1
    sms = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.to_phone == PHONE)).all()
    assert len(sms) == 2 and "АМАНМЫН деп жауап" in sms[1]
    run_telegram()
    assert "АМАНМЫН деп жауап" in telegram.bot_messages(CHAT)[-1].text


def test_without_a_language_alerts_are_russian_and_telegram_only_works_too(
    runner,
    telegram,  # noqa: F811
    tg_in,  # noqa: F811
    run_telegram,  # noqa: F811
    client,
    auth,
):
    link_by_cli(runner, telegram, tg_in)  # no phone: Telegram alone
    person = swimmers(1)[0]
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    text(person, f"ДА {incident['code']}")
    text(person, "ПРИБЫЛ")
    text(person, "ПОМОЩЬ")
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_chat_id == CHAT)).all()
    assert [r.kind for r in rows][-1] == "coordinator_help" and "просит ПОМОЩЬ" in rows[-1].body
    run_telegram()
    assert "просит ПОМОЩЬ" in telegram.bot_messages(CHAT)[-1].text


def test_a_chat_belongs_to_a_user_or_a_volunteer(runner, tokens, telegram, tg_in):  # noqa: F811
    volunteer = link(swimmers(1)[0], CHAT, telegram)
    link_by_cli(runner, telegram, tg_in)
    db.session.refresh(volunteer)
    assert volunteer.telegram_chat_id is None and volunteer.preferred_channel == "sms"
    assert coordinator().telegram_chat_id == CHAT


def test_language_and_link_commands_refuse_bad_input(runner, app):
    created = runner("create", "kz@test.local", "--role", "coordinator", "--language", "en")
    assert (
        created.exit_code == 0 and db.session.scalar(select(User.language).where(User.email == "kz@test.local")) == "en"
    )
    assert runner("create", "x@test.local", "--role", "viewer", "--language", "de").exit_code != 0
    assert runner("set-language", "kz@test.local", "fr").exit_code != 0
    assert runner("set-language", "nobody@test.local", "kk").exit_code != 0
    assert db.session.scalar(select(User.language).where(User.email == "kz@test.local")) == "en"
    # No bot configured: no link.
    result = runner("telegram-link", "kz@test.local")
    assert result.exit_code != 0 and db.session.scalar(select(TelegramLinkCode.id)) is None
