"""Linking a Telegram chat to a volunteer, and that chat's own opt-out.

A coordinator makes a single-use code (TelegramLinkCode, only its SHA-256 kept, valid
LINK_VALID for at most 24 h) and gives the volunteer https://t.me/<bot>?start=<code>, printed as
a QR code at a front office or sent any way they like. `/start <code>` in the bot links the chat
that sent it. A shared contact links too, when it is the sender's own (Telegram sets
contact.user_id to the sender for the share-my-number button) and its number is a volunteer's.
Linking makes Telegram the volunteer's preferred channel; one chat belongs to one volunteer.

A user (a coordinator) links a chat the same way (create_user_link: the console's account page or
`users telegram-link EMAIL`): welfare-overdue and HELP alerts about their incidents then go to
that chat too (dispatch/coordinator_alerts.py). A chat is a volunteer's or a user's, not both.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from notifications.phones import InvalidPhone, normalize_phone
from notifications.telegram_texts import phrase

from . import audit, scopes, telegram_outbox
from .clock import utcnow
from .errors import DispatchError, NotFound
from .extensions import db
from .models import TelegramLinkCode, User, Volunteer
from .outbox import enqueue_to_chat

LINK_VALID = timedelta(hours=24)
# 24 base64url characters: 144 random bits, within Telegram's start payload (64 of A-Z a-z 0-9 _ -).
CODE_BYTES = 18
_CODE_FORMAT = re.compile(r"[A-Za-z0-9_-]{24}")
SIMULATED_START_PATH = "/console/simulator/telegram/start"  # dispatch/web/simulator.py


class TelegramNotConfigured(DispatchError):
    """409: the service has no bot (TELEGRAM_BOT_TOKEN unset): there is nothing to link to."""

    status, code, message = 409, "TELEGRAM_NOT_CONFIGURED", "Telegram is not configured on this service."


@dataclass(frozen=True)
class LinkCode:
    code: str
    url: str
    expires_at: datetime


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def create_link(volunteer_id: int, actor: str, scope: scopes.Scope = scopes.NATIONAL) -> LinkCode:
    """A new single-use link for the volunteer, and commit. Earlier unused codes stay valid
    until they expire (a printed QR code may still be on its way to them). Out of scope: 404."""
    if not current_app.config["TELEGRAM_ENABLED"]:
        raise TelegramNotConfigured()
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or volunteer.erased_at is not None or not scope.holds_volunteer(volunteer):
        raise NotFound(f"No volunteer {volunteer_id}.")
    code = secrets.token_urlsafe(CODE_BYTES)
    now = utcnow()
    row = TelegramLinkCode(
        code_hash=hash_code(code),
        volunteer_id=volunteer.id,
        created_by=actor[:64],
        created_at=now,
        expires_at=now + LINK_VALID,
    )
    db.session.add(row)
    audit.record(actor, "telegram_link_created", volunteer_id=volunteer.id)
    db.session.commit()
    return LinkCode(code=code, url=link_url(code), expires_at=row.expires_at)


def create_user_link(user_id: int, actor: str) -> LinkCode:
    """A new single-use link for a user's own chat (the alerts about their incidents), and commit."""
    if not current_app.config["TELEGRAM_ENABLED"]:
        raise TelegramNotConfigured()
    user = db.session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise NotFound(f"No user {user_id}.")
    code = secrets.token_urlsafe(CODE_BYTES)
    now = utcnow()
    row = TelegramLinkCode(
        code_hash=hash_code(code), user_id=user.id, created_by=actor[:64], created_at=now, expires_at=now + LINK_VALID
    )
    db.session.add(row)
    audit.record(actor, "user_telegram_link_created", details={"user_id": user.id})
    db.session.commit()
    return LinkCode(code=code, url=link_url(code), expires_at=row.expires_at)


def link_url(code: str) -> str:
    """t.me/<bot>?start=<code>; with the simulated Telegram of development, the simulator's
    page that plays "open the link and press Start" (there is no bot to open)."""
    if current_app.config["TELEGRAM_SIMULATED"]:
        return f"{current_app.config['PUBLIC_BASE_URL']}{SIMULATED_START_PATH}?code={code}"
    return f"https://t.me/{current_app.config['TELEGRAM_BOT_USERNAME']}?start={code}"


def redeem_code(code: str, chat_id: int, user_id: int) -> Volunteer | User | None:
    """`/start <code>`: the volunteer (or user) the code links this chat to, once; None for a
    code that is unknown, used or expired (nothing changes). The caller commits."""
    if not _CODE_FORMAT.fullmatch(code):
        return None
    now = utcnow()
    # One UPDATE takes the code, so two /start with one code (two workers) link once.
    row = db.session.scalar(select(TelegramLinkCode).where(TelegramLinkCode.code_hash == hash_code(code)))
    if row is None:
        return None
    taken = db.session.execute(
        update(TelegramLinkCode)
        .where(TelegramLinkCode.id == row.id, TelegramLinkCode.used_at.is_(None), TelegramLinkCode.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if not taken:
        return None
    if row.user_id is not None:
        user = db.session.get(User, row.user_id)
        if user is None or user.disabled_at is not None:
            return None
        link_user_chat(user, chat_id)
        return user
    volunteer = db.session.get(Volunteer, row.volunteer_id)
    if volunteer is None or volunteer.erased_at is not None:
        return None
    link_chat(volunteer, chat_id, user_id, how="code")
    return volunteer


def volunteer_by_contact(phone: str) -> Volunteer | None:
    try:
        normalized = normalize_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhone:
        return None
    return db.session.scalar(select(Volunteer).where(Volunteer.phone == normalized, Volunteer.erased_at.is_(None)))


def link_user_chat(user: User, chat_id: int) -> None:
    """This chat is the user's now (any other link to it, a user's or a volunteer's, ends); they
    are told so in their language."""
    db.session.execute(
        update(User).where(User.telegram_chat_id == chat_id, User.id != user.id).values(telegram_chat_id=None)
    )
    db.session.execute(
        update(Volunteer)
        .where(Volunteer.telegram_chat_id == chat_id)
        .values(telegram_chat_id=None, telegram_user_id=None, preferred_channel="sms")
    )
    db.session.flush()
    user.telegram_chat_id = chat_id
    audit.record(f"telegram:{chat_id}", "user_telegram_linked", details={"user_id": user.id})
    enqueue_to_chat(chat_id, "tg_linked", phrase("coordinator_linked", user.language), markup="remove")


def link_chat(volunteer: Volunteer, chat_id: int, user_id: int, how: str) -> None:
    """This chat is the volunteer's now (another volunteer's link to it ends, and a user's),
    Telegram their preferred channel, any Telegram opt-out lifted; they are told so in their
    language."""
    db.session.execute(update(User).where(User.telegram_chat_id == chat_id).values(telegram_chat_id=None))
    db.session.execute(
        update(Volunteer)
        .where(Volunteer.telegram_chat_id == chat_id, Volunteer.id != volunteer.id)
        .values(telegram_chat_id=None, telegram_user_id=None, preferred_channel="sms")
    )
    db.session.flush()
    volunteer.telegram_chat_id, volunteer.telegram_user_id = chat_id, user_id
    volunteer.preferred_channel, volunteer.telegram_opted_out_at = "telegram", None
    audit.record(f"telegram:{chat_id}", "telegram_linked", volunteer_id=volunteer.id, details={"how": how})
    enqueue_to_chat(
        chat_id, "tg_linked", phrase("linked", volunteer.language), volunteer_id=volunteer.id, markup="remove"
    )


def stop_or_start(volunteer: Volunteer, stop: bool, actor: str) -> str:
    """STOP or START typed in Telegram: about Telegram only; SMS stays as it is."""
    if stop:
        telegram_outbox.telegram_opted_out(volunteer, actor, why="stop")
        enqueue_to_chat(
            volunteer.telegram_chat_id,
            "tg_opted_out",
            phrase("tg_opted_out", volunteer.language),
            volunteer_id=volunteer.id,
        )
        return "telegram_opted_out"
    if volunteer.telegram_opted_out_at is not None:
        volunteer.telegram_opted_out_at = None
        audit.record(actor, "telegram_opted_in", volunteer_id=volunteer.id)
    enqueue_to_chat(
        volunteer.telegram_chat_id, "tg_opted_in", phrase("tg_opted_in", volunteer.language), volunteer_id=volunteer.id
    )
    return "telegram_opted_in"
