"""Sending the outbox's Telegram rows, and rewriting a call-out in place when its alert ends.

Telegram rows (outbox.channel = "telegram") are claimed apart from SMS rows and paced by their
own pacer, so neither provider waits for the other. One row, one Bot API message:
  alert        the call-out text with its inline buttons (accept with ETA / decline), then a map
               pin of the approximate place (a pin that fails is logged: the call-out went)
  tg_edit      the alert's call-out rewritten with what happened, its buttons taken away
  anything else a plain message (with a reply keyboard when the row's markup says so)
Outcomes, beside the SMS ones:
  429          the row waits retry_after seconds, and the whole Telegram pacer pauses as long
  403          the user blocked the bot: their Telegram is opted out (SMS is not), and a call-out
               fails, so it goes on the volunteer's next channel (alerting.fail_over)
A message the Bot API accepted counts as delivered (API.md, Channels): Telegram sends no reports.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from notifications.telegram import (
    RemoveKeyboard,
    ReplyMarkup,
    TelegramAmbiguous,
    TelegramChannel,
    TelegramChatOptedOut,
    TelegramError,
    TelegramPermanent,
    TelegramRetryable,
)
from notifications.telegram_buttons import callout_keyboard, contact_request_keyboard
from notifications.telegram_console import ConsoleTelegram
from notifications.telegram_texts import with_ending

from . import audit, provider_health
from .clock import utcnow
from .extensions import db
from .models import Alert, Incident, OutboxMessage, Volunteer
from .outbox import Pacer, SendOutcome, record_permanent, record_retry

log = logging.getLogger(__name__)

PROVIDER = "telegram"
# Kinds that still go to a chat whose Telegram is opted out: the confirmation of that opt-out.
_SENT_EVEN_IF_TELEGRAM_OPTED_OUT = {"tg_opted_out"}
# An edit waits for its call-out to be sent (or to fail) this long between looks.
EDIT_WAIT_S = 2.0
# A map pin of the approximate place: drawn with this uncertainty (the exact point goes only to
# those who accept, in the confirmation).
PIN_ACCURACY_M = 1000


def send_claimed(
    message_id: int, channel: TelegramChannel | ConsoleTelegram, pacer: Pacer | None, still_wanted=None
) -> SendOutcome:
    """Send one claimed Telegram row and record the outcome (the caller commits the outcome)."""
    row = db.session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.to_chat_id,
            OutboxMessage.body,
            OutboxMessage.kind,
            OutboxMessage.alert_id,
            OutboxMessage.incident_id,
            OutboxMessage.volunteer_id,
            OutboxMessage.markup,
            OutboxMessage.idempotency_key,
            Volunteer.status.label("volunteer_status"),
            Volunteer.telegram_chat_id,
            Volunteer.telegram_opted_out_at,
            Volunteer.language,
        )
        .outerjoin(Volunteer, Volunteer.id == OutboxMessage.volunteer_id)
        .where(OutboxMessage.id == message_id)
    ).one()
    ours = (OutboxMessage.id == message_id, OutboxMessage.status == "claimed", OutboxMessage.claimed_until >= utcnow())
    edit_of = None
    if row.kind == "tg_edit":
        edit_of, wait = _callout_ref(row.alert_id)
        if wait:
            # The call-out is still on its way: look again shortly, no attempt spent.
            later = utcnow() + timedelta(seconds=EDIT_WAIT_S)
            db.session.execute(
                update(OutboxMessage).where(*ours).values(status="pending", next_attempt_at=later, claimed_until=None)
            )
            db.session.commit()
            return SendOutcome(message_id, row.alert_id, row.kind, "retry")
    paused = pacer.paused_for() if pacer is not None else 0.0
    if paused > 0:
        # Telegram asked us to slow down (a 429 on another row): this one waits as long.
        later = utcnow() + timedelta(seconds=paused)
        db.session.execute(
            update(OutboxMessage).where(*ours).values(status="pending", next_attempt_at=later, claimed_until=None)
        )
        db.session.commit()
        return SendOutcome(message_id, row.alert_id, row.kind, "retry")
    cancel = _why_not_send(row, edit_of) or (still_wanted(row) if still_wanted else None)
    values = (
        dict(status="cancelled", last_error=cancel, failover_at=None)
        if cancel
        else dict(status="sending", attempts=OutboxMessage.attempts + 1, provider=PROVIDER)
    )
    still_ours = db.session.execute(update(OutboxMessage).where(*ours).values(**values)).rowcount
    db.session.commit()  # no transaction stays open across the HTTP call
    if not still_ours:
        return SendOutcome(message_id, row.alert_id, row.kind, "lease_lost")
    if cancel:
        return SendOutcome(message_id, row.alert_id, row.kind, "cancelled")
    if pacer is not None:
        pacer.wait(1)
    chat = str(row.to_chat_id)
    try:
        if row.kind == "tg_edit":
            channel.close_buttons(edit_of, row.body)
            provider_id = None
        elif row.kind == "alert":
            keyboard = callout_keyboard(row.alert_id, row.language)
            provider_id = channel.send(
                chat, row.body, buttons=keyboard, idempotency_key=row.idempotency_key
            ).provider_id
            _send_pin(channel, chat, row.incident_id)
        else:
            provider_id = channel.send(chat, row.body, buttons=_markup(row.markup)).provider_id
    except (TelegramRetryable, TelegramAmbiguous, TelegramPermanent) as exc:
        provider_health.record_attempt(PROVIDER, exc)
        return _failed_attempt(message_id, row, exc, pacer)
    provider_health.record_attempt(PROVIDER, None)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status="delivered",
            provider_id=provider_id,
            provider_status="delivered",
            provider=PROVIDER,
            sent_at=utcnow(),
            claimed_until=None,
            last_error=None,
            failover_at=None,  # accepted by the Bot API counts as delivered
        )
    )
    log.info("telegram %s to chat %s sent as %s", row.kind, row.to_chat_id, provider_id or "an edit")
    return SendOutcome(message_id, row.alert_id, row.kind, "sent", provider_id)


def _failed_attempt(message_id: int, row, exc: TelegramError, pacer: Pacer | None) -> SendOutcome:
    if isinstance(exc, TelegramRetryable):
        if exc.retry_after_s is not None and pacer is not None:
            pacer.pause(exc.retry_after_s)
        return record_retry(message_id, exc, ambiguous=False, delay_s=exc.retry_after_s)
    if isinstance(exc, TelegramChatOptedOut):
        return _opted_out(message_id, row, exc)
    if isinstance(exc, TelegramPermanent):
        return record_permanent(message_id, exc)
    # Telegram has no idempotency key, so a retried send may show twice: counted as such.
    return record_retry(message_id, exc, ambiguous=True)


def _why_not_send(row, edit_of: str | None) -> str | None:
    if row.kind == "tg_edit" and edit_of is None:
        return "the call-out was never shown in Telegram"
    if row.volunteer_id is None:
        return None
    if row.volunteer_status == "opted_out" and row.kind not in ("opted_out", "help"):
        return "the volunteer opted out before it was sent"
    if row.telegram_chat_id != row.to_chat_id:
        return "the volunteer's Telegram chat changed or was unlinked"
    if row.telegram_opted_out_at is not None and row.kind not in _SENT_EVEN_IF_TELEGRAM_OPTED_OUT:
        if row.kind == "tg_edit":
            return None  # an edit shows nothing new; it only takes buttons away
        return "the volunteer stopped Telegram messages before it was sent"
    return None


def _callout_ref(alert_id: int | None) -> tuple[str | None, bool]:
    """The provider id of the alert's Telegram call-out, and whether to wait for it."""
    if alert_id is None:
        return None, False
    callout = db.session.execute(
        select(OutboxMessage.status, OutboxMessage.provider_id)
        .where(OutboxMessage.alert_id == alert_id, OutboxMessage.kind == "alert", OutboxMessage.channel == "telegram")
        .order_by(OutboxMessage.id.desc())
    ).first()
    if callout is None:
        return None, False
    if callout.status in ("pending", "claimed", "sending"):
        return None, True
    return callout.provider_id, False


def _send_pin(channel: TelegramChannel | ConsoleTelegram, chat: str, incident_id: int | None) -> None:
    incident = db.session.get(Incident, incident_id) if incident_id else None
    if incident is None:
        return
    # The same precision as the call-out's text: about a kilometre.
    lat, lon = round(incident.lat, 2), round(incident.lon, 2)
    try:
        channel.send_pin(chat, lat, lon, accuracy_m=PIN_ACCURACY_M)
    except (TelegramError, ValueError) as exc:
        log.warning("telegram pin for incident %s to chat %s not sent: %s", incident_id, chat, exc)


def _markup(markup: str | None) -> ReplyMarkup | None:
    if markup is None:
        return None
    if markup == "remove":
        return RemoveKeyboard()
    if markup.startswith("contact:"):
        return contact_request_keyboard(markup.removeprefix("contact:"))
    return None


def _opted_out(message_id: int, row, exc: TelegramChatOptedOut) -> SendOutcome:
    """403: the user blocked the bot (or is gone). Their Telegram is opted out, never their SMS."""
    message = db.session.get(OutboxMessage, message_id)
    message.status, message.claimed_until, message.failover_at = "failed", None, None
    message.last_error = f"{exc.reason}: {exc}"[:300]
    volunteer = db.session.get(Volunteer, row.volunteer_id) if row.volunteer_id else None
    if volunteer is not None and volunteer.telegram_chat_id == row.to_chat_id:
        telegram_opted_out(volunteer, f"telegram:{row.to_chat_id}", why=exc.why)
    log.warning("telegram %s to chat %s refused (%s): Telegram opted out", row.kind, row.to_chat_id, exc.why)
    # A call-out goes on the volunteer's next channel (alerting.fail_over), as any failed one does.
    return SendOutcome(message_id, row.alert_id, row.kind, "failed")


def telegram_opted_out(volunteer: Volunteer, actor: str, why: str) -> None:
    """STOP in Telegram or a blocked bot: Telegram messages stop; SMS goes on."""
    if volunteer.telegram_opted_out_at is None:
        volunteer.telegram_opted_out_at = utcnow()
        audit.record(actor, "telegram_opted_out", volunteer_id=volunteer.id, details={"why": why})


# -- rewriting a call-out when its alert ends -------------------------------------------------


def close_callout(alert: Alert, ending: str) -> OutboxMessage | None:
    """Queue the rewrite of the alert's Telegram call-out (in the caller's transaction): its text
    and what happened (ENDINGS: accepted, declined, stood_down, expired, closed, cancelled), its
    buttons taken away, so a press cannot come after it matters. None when it never went to Telegram."""
    callout = db.session.execute(
        select(OutboxMessage.body, OutboxMessage.to_chat_id, OutboxMessage.volunteer_id)
        .where(
            OutboxMessage.alert_id == alert.id,
            OutboxMessage.kind == "alert",
            OutboxMessage.channel == "telegram",
            OutboxMessage.status.not_in(("cancelled", "failed")),
        )
        .order_by(OutboxMessage.id.desc())
    ).first()
    if callout is None:
        return None
    language = db.session.scalar(select(Volunteer.language).where(Volunteer.id == callout.volunteer_id))
    edit = OutboxMessage(
        channel="telegram",
        to_phone="",
        to_chat_id=callout.to_chat_id,
        body=with_ending(callout.body, ending, language)[:1600],
        kind="tg_edit",
        segments=1,
        priority=1,
        volunteer_id=callout.volunteer_id,
        incident_id=alert.incident_id,
        alert_id=alert.id,
        status="pending",
        next_attempt_at=utcnow(),
    )
    db.session.add(edit)
    return edit
