"""Telegram updates: store each once per update_id, then link, read the reply, or apply a press.

Every update is kept as an inbound message (message_sid "tg:<update_id>", unique: the same
update twice is handled once; from_phone "tg:<chat_id>", so the per-sender limit of the SMS inbox
counts a chat's updates the same way), channel "telegram". Then:
  /start <code>      links the chat (telegram_links); a bad code gets a polite answer, nothing else
  a shared contact   links when it is the sender's own and its number a volunteer's
  text               from a linked chat: the same reply words and use cases as an SMS
                     (inbox.handle_text), answered in Telegram; from any other chat: how to link
  a button press     accept (with the button's ETA) or decline, through the same path as the
                     reply link page, only by the volunteer linked to that alert; always answered
  my_chat_member     "kicked" (the user blocked the bot) opts their Telegram out; a restart lifts it
Answers go through the outbox like any message (durable, paced); only the answer to a press is
made at once, after the commit, since its spinner waits for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from notifications.telegram import TelegramError
from notifications.telegram_buttons import CallbackDataError, decode_callback_data
from notifications.telegram_texts import in_all_languages, phrase
from notifications.telegram_updates import (
    CallbackQuery,
    ChatMemberChange,
    MalformedUpdate,
    Message,
    UnknownUpdate,
    Update,
    parse_update,
)

from . import audit, inbox, reply_links, telegram, telegram_links, telegram_outbox
from .clock import utcnow
from .extensions import db
from .models import Alert, OutboxMessage, Volunteer
from .outbox import enqueue_to_chat

log = logging.getLogger(__name__)

SID_PREFIX = "tg:"
# A chat that is not linked is told how to link at most this often (two bots cannot ping-pong).
HINT_EVERY = timedelta(hours=24)


@dataclass(frozen=True)
class Handled:
    result: str  # what the webhook answers: handled, duplicate, stored_not_acted_on, ignored
    callback_answer: tuple[str, str] | None = None  # (callback_query_id, text) to answer at once


def sender_key(chat_id: int) -> str:
    return f"tg:{chat_id}"


MALFORMED_UPDATE = "telegram_malformed"  # the audit action of a signed update we cannot read


def receive_body(body: bytes) -> dict:
    """What /telegram/webhook does with the raw body of an update once its secret header is
    checked (and the simulated Telegram of development with the updates it makes): parse,
    handle and commit, answer a press at once; the webhook's JSON answer.

    An update this version cannot read will never become readable, and Telegram re-delivers
    anything but a 2xx: a malformed one is audited and answered like a handled one."""
    try:
        update = parse_update(body)
    except MalformedUpdate as exc:
        audit.record("telegram", MALFORMED_UPDATE, details={"reason": str(exc)[:200]})
        db.session.commit()
        log.warning("telegram: signed update refused as malformed: %s", exc)
        return {"ok": True, "result": "malformed"}
    if isinstance(update, UnknownUpdate):
        return {"ok": True, "result": "ignored", "kind": update.kind}
    handled = receive_update(update)
    if handled.callback_answer is not None:
        answer_press(handled.callback_answer)
    return {"ok": True, "result": handled.result}


def receive_update(update: Update) -> Handled:
    """Handle one parsed update and commit (not for UnknownUpdate: the webhook ignores those)."""
    if isinstance(update, Message):
        return _message(update)
    if isinstance(update, CallbackQuery):
        return _press(update)
    if isinstance(update, ChatMemberChange):
        return _membership(update)
    return Handled("ignored")


def _linked(chat_id: int) -> Volunteer | None:
    return db.session.scalar(select(Volunteer).where(Volunteer.telegram_chat_id == chat_id))


# -- messages --------------------------------------------------------------------------------------


def _message(message: Message) -> Handled:
    if message.chat_type != "private" or message.from_id is None:
        return Handled("ignored")  # groups and channels: the bot talks to people one by one
    if message.contact is not None:
        body = "[contact]"  # the number is not kept with the message: the registry has it
    else:
        body = message.text or "[no text]"
    inbound = inbox.store(f"{SID_PREFIX}{message.update_id}", sender_key(message.chat_id), body, channel="telegram")
    if inbound is None:
        return Handled("duplicate")
    volunteer = _linked(message.chat_id)
    if message.start_payload is not None:
        inbound.outcome = _start(message, message.start_payload)
    elif message.text is not None and message.text.strip().split("@", 1)[0] == "/start":
        inbound.outcome = _greet(message, volunteer)
    elif message.contact is not None:
        inbound.outcome = _contact(message)
    elif message.text is None:
        inbound.outcome = "ignored"  # a sticker, a photo: nothing to read
    elif not inbox.handle_text(inbound, volunteer, channel="telegram"):
        inbound.outcome = "not_linked"
        _hint(message.chat_id, message.language_code)
    if inbound.volunteer_id is None and volunteer is not None:
        inbound.volunteer_id = volunteer.id
    db.session.commit()
    if inbound.outcome == inbox.RATE_LIMITED:
        return Handled("stored_not_acted_on")
    return Handled("handled")


def _start(message: Message, code: str) -> str:
    assert message.from_id is not None
    holder = telegram_links.redeem_code(code, message.chat_id, message.from_id)
    if holder is None:
        audit.record(sender_key(message.chat_id), "telegram_link_refused", details={"how": "code"})
        enqueue_to_chat(message.chat_id, "tg_code_invalid", in_all_languages("code_invalid"))
        return "link_refused"
    return "linked"


def _greet(message: Message, volunteer: Volunteer | None) -> str:
    if volunteer is not None:
        enqueue_to_chat(message.chat_id, "tg_linked", phrase("linked", volunteer.language), volunteer_id=volunteer.id)
        return "linked_already"
    _hint(message.chat_id, message.language_code, always=True)
    return "not_linked"


def _contact(message: Message) -> str:
    language = _language(message.language_code)
    own = message.own_phone
    if own is None:
        # Someone else's card, or a number typed by hand: no proof it is the sender's.
        audit.record(sender_key(message.chat_id), "telegram_link_refused", details={"how": "contact_not_own"})
        enqueue_to_chat(
            message.chat_id, "tg_contact_not_own", in_all_languages("contact_not_own"), markup=f"contact:{language}"
        )
        return "contact_not_own"
    volunteer = telegram_links.volunteer_by_contact(own)
    if volunteer is None:
        audit.record(sender_key(message.chat_id), "telegram_link_refused", details={"how": "contact_unknown"})
        enqueue_to_chat(message.chat_id, "tg_contact_unknown", in_all_languages("contact_unknown"), markup="remove")
        return "contact_unknown"
    assert message.from_id is not None
    telegram_links.link_chat(volunteer, message.chat_id, message.from_id, how="contact")
    return "linked"


def _language(code: str | None) -> str:
    code = (code or "").split("-", 1)[0].lower()
    return code if code in ("kk", "ru", "en") else "ru"  # as for strangers' presses: Russian


def _hint(chat_id: int, language_code: str | None, always: bool = False) -> None:
    """How to link, with the share-my-number button; at most once per HINT_EVERY unless asked."""
    if not always:
        recent = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.to_chat_id == chat_id,
                OutboxMessage.kind == "tg_hint",
                OutboxMessage.created_at > utcnow() - HINT_EVERY,
            )
        )
        if recent:
            return
    enqueue_to_chat(chat_id, "tg_hint", in_all_languages("not_linked"), markup=f"contact:{_language(language_code)}")


# -- button presses --------------------------------------------------------------------------------


def _press(query: CallbackQuery) -> Handled:
    chat_id = query.message.chat_id if query.message is not None else query.from_id
    inbound = inbox.store(
        f"{SID_PREFIX}{query.update_id}", sender_key(chat_id), (query.data or "")[:64], channel="telegram"
    )
    if inbound is None:
        return Handled("duplicate")
    volunteer = db.session.scalar(select(Volunteer).where(Volunteer.telegram_user_id == query.from_id))
    # Someone who is no volunteer: Russian, the language most people in Kazakhstan read.
    language = volunteer.language if volunteer is not None else "ru"
    if inbox.over_limit(inbound.from_phone):
        inbound.outcome = inbox.RATE_LIMITED  # a client pressing far faster than a person
        db.session.commit()
        return Handled("stored_not_acted_on", (query.callback_query_id, phrase("press_ended", language)))
    try:
        answer = decode_callback_data(query.data or "")
    except CallbackDataError:
        inbound.outcome = "unknown_button"
        db.session.commit()
        return Handled("handled", (query.callback_query_id, phrase("press_unknown", language)))
    alert = db.session.get(Alert, answer.alert_id)
    if alert is None or volunteer is None or alert.volunteer_id != volunteer.id:
        # A press by someone who is not the alert's volunteer (a forwarded message, a forged
        # client): nothing changes.
        inbound.outcome = "not_yours"
        audit.record(sender_key(chat_id), "telegram_press_refused", details={"alert_id": answer.alert_id})
        db.session.commit()
        return Handled("handled", (query.callback_query_id, phrase("press_not_yours", language)))
    inbound.volunteer_id = volunteer.id
    outcome = reply_links.answer(alert.id, answer.accept, answer.eta_min, inbound=inbound)
    if outcome is None:
        inbound.outcome = "already_ended"
        db.session.commit()
        return Handled("handled", (query.callback_query_id, phrase("press_ended", language)))
    key = "press_accepted" if answer.accept and outcome in ("accepted", "already_accepted") else "press_declined"
    if answer.accept and key != "press_accepted":
        key = "press_ended"  # a late accept that was stood by
    return Handled("handled", (query.callback_query_id, phrase(key, language)))


def answer_press(callback: tuple[str, str]) -> None:
    """Stop the pressed button's spinner with a short notice. Best effort: it expires anyway."""
    query_id, text = callback
    try:
        telegram.channel().answer_button(query_id, text=text)
    except TelegramError as exc:
        log.warning("telegram: answering a button press failed: %s", exc)


# -- the bot's membership in a chat ----------------------------------------------------------------


def _membership(change: ChatMemberChange) -> Handled:
    inbound = inbox.store(
        f"{SID_PREFIX}{change.update_id}",
        sender_key(change.chat_id),
        f"[{change.old_status} -> {change.new_status}]",
        channel="telegram",
    )
    if inbound is None:
        return Handled("duplicate")
    volunteer = _linked(change.chat_id)
    if volunteer is not None:
        inbound.volunteer_id = volunteer.id
        if change.blocked:
            telegram_outbox.telegram_opted_out(volunteer, sender_key(change.chat_id), why="blocked")
            inbound.outcome = "telegram_opted_out"
        elif change.unblocked and volunteer.telegram_opted_out_at is not None:
            volunteer.telegram_opted_out_at = None
            audit.record(sender_key(change.chat_id), "telegram_opted_in", volunteer_id=volunteer.id)
            inbound.outcome = "telegram_opted_in"
    inbound.outcome = inbound.outcome or "ignored"
    db.session.commit()
    return Handled("handled")
