"""The SMS simulator (SMS_BACKEND=console and never in production; 404 otherwise): each volunteer's
phone as the console backend "delivered" it, and a box to answer as that volunteer; beside it
their simulated Telegram chat and the reply links their SMS hold.

An answer goes through inbox.receive_sms, the very code path of a real inbound SMS, with a
generated MessageSid; instead of the provider's signature it needs a coordinator's session
and the form's CSRF token.

The Telegram view exists with the simulated Telegram (config TELEGRAM_SIMULATED: no bot token
in development); with a real bot the chats are in Telegram and not shown here. What the
volunteer does in it (a button press, typed text, /start with a link code) becomes the update
Telegram would post (notifications/telegram_console.py) and goes through the webhook's own
handler, telegram_inbox.receive_body; only the secret header is not needed. The reply link
page is not framed (the pages refuse frames): the link taken from the call-out SMS opens in a
new tab, exactly as the volunteer's phone would open it.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from notifications.phones import InvalidPhone, normalize_phone
from notifications.telegram import MAX_CALLBACK_DATA_BYTES
from notifications.telegram_console import ButtonGone

from .. import dashboard, inbox, telegram, telegram_inbox, telegram_links
from ..errors import DispatchError
from ..models import InboundMessage
from ..volunteers import get_volunteer
from .console import by, coordinators_only, dispatch_error
from .live import conditional
from .scoping import reader_scope, require_volunteer

bp = Blueprint("simulator", __name__, url_prefix="/console/simulator", template_folder="templates")
MAX_REPLY_CHARS = InboundMessage.body.type.length  # what a stored inbound SMS holds


def enabled() -> bool:
    # Production must not let anyone sign in and answer as a volunteer, whatever the SMS backend.
    return current_app.config["SMS_BACKEND"] == "console" and current_app.config["DISPATCH_ENV"] != "production"


@bp.before_request
def console_backend_only():
    if not enabled():
        abort(404)
    return coordinators_only()


bp.register_error_handler(DispatchError, dispatch_error)


@bp.get("/")
def index():
    found = None
    phone = request.args.get("phone", "").strip()
    if phone:
        try:
            found = dashboard.volunteer_by_phone(normalize_phone(phone, current_app.config["DEFAULT_PHONE_REGION"]))
        except InvalidPhone:
            found = None
        if found is not None and reader_scope().holds_volunteer(found):
            return redirect(url_for("simulator.thread", volunteer_id=found.id))
        flash(_("No volunteer has that number."), "error")
    sim = telegram.simulated()
    chats = []
    if sim is not None:
        ids = sim.chat_ids()
        linked = dashboard.volunteers_by_chat(ids)
        chats = [
            {"volunteer": linked[c], "last": _last_text(sim.chat(c))}
            for c in ids
            if c in linked and reader_scope().holds_volunteer(linked[c])
        ]
    # The simulator answers as volunteers: only those of the user's scope.
    inboxes = [row for row in dashboard.simulator_inboxes() if reader_scope().holds_volunteer(row["volunteer"])]
    return render_template("simulator/index.html", inboxes=inboxes, phone=phone, chats=chats, simulated=sim)


def _volunteer(volunteer_id: int):
    """The volunteer, 404 outside the signed-in user's scope."""
    return require_volunteer(get_volunteer(volunteer_id))


@bp.get("/<id:volunteer_id>")
def thread(volunteer_id: int):
    volunteer = _volunteer(volunteer_id)
    return _thread_page(volunteer)


def _thread_page(volunteer, status: int = 200):
    return render_template(
        "simulator/thread.html",
        t=dashboard.simulator_thread(volunteer),
        chat=_chat(volunteer),
        links=dashboard.simulator_reply_links(volunteer),
        max_reply=MAX_REPLY_CHARS,
    ), status


def _chat(volunteer) -> dict:
    """The Telegram column: "simulated" (with its entries, newest first), "real" or "off"."""
    sim = telegram.simulated()
    if sim is None:
        return {"mode": "real" if telegram.has_bot() else "off", "entries": []}
    chat_id = volunteer.telegram_chat_id
    entries = [(e, _utc(e.sent_at)) for e in reversed(sim.chat(chat_id))] if chat_id is not None else []
    return {"mode": "simulated", "chat_id": chat_id, "entries": entries, "volunteer": volunteer}


@bp.get("/<id:volunteer_id>/live")
def thread_live(volunteer_id: int):
    volunteer = _volunteer(volunteer_id)
    return conditional(
        render_template("simulator/_thread_live.html", t=dashboard.simulator_thread(volunteer)), "text/html"
    )


@bp.post("/<id:volunteer_id>/reply")
def reply(volunteer_id: int):
    volunteer = _volunteer(volunteer_id)
    body = request.form.get("body", "").strip()
    if not body or volunteer.phone is None:
        flash(_("Write the text the volunteer sends."), "error")
        return _thread_page(volunteer, 400)
    if len(body) > MAX_REPLY_CHARS:
        # Refused, not cut: a cut text could read as another answer than the one typed.
        flash(
            _(
                "An SMS can be up to %(max)d characters long; this one has %(length)d. Nothing was sent.",
                max=MAX_REPLY_CHARS,
                length=len(body),
            ),
            "error",
        )
        return _thread_page(volunteer, 400)
    inbox.receive_sms(f"SIM{uuid.uuid4().hex}", volunteer.phone, body)
    flash(_("Sent as %(name)s. The service's answer appears here once the outbox sends it.", name=_name(volunteer)))
    return redirect(url_for("simulator.thread", volunteer_id=volunteer_id))


# -- the simulated Telegram ------------------------------------------------------------------------


def _simulated_or_404():
    sim = telegram.simulated()
    if sim is None:
        abort(404)  # a real bot, or Telegram off: there is no simulated chat to act in
    return sim


def _linked_or_409(volunteer):
    if volunteer.telegram_chat_id is None:
        flash(_("This volunteer has no Telegram chat yet. Nothing was sent."), "error")
        return _thread_page(volunteer, 409)
    return None


@bp.get("/<id:volunteer_id>/telegram/live")
def telegram_live(volunteer_id: int):
    _simulated_or_404()
    volunteer = _volunteer(volunteer_id)
    return conditional(render_template("simulator/_telegram_live.html", chat=_chat(volunteer)), "text/html")


@bp.get("/<id:volunteer_id>/links/live")
def links_live(volunteer_id: int):
    volunteer = _volunteer(volunteer_id)
    html = render_template("simulator/_links_live.html", links=dashboard.simulator_reply_links(volunteer))
    return conditional(html, "text/html")


@bp.post("/<id:volunteer_id>/telegram/press")
def telegram_press(volunteer_id: int):
    """A press on an inline button of the chat: a callback_query through the webhook's handler."""
    sim = _simulated_or_404()
    volunteer = _volunteer(volunteer_id)
    refused = _linked_or_409(volunteer)
    if refused is not None:
        return refused
    message_id, data = request.form.get("message_id", ""), request.form.get("data", "")
    if not message_id.isascii() or not message_id.isdigit() or len(message_id) > 15 or not data:
        flash(_("That is not a button of this chat. Nothing was sent."), "error")
        return _thread_page(volunteer, 400)
    if len(data.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_DATA_BYTES:
        flash(_("That is not a button of this chat. Nothing was sent."), "error")
        return _thread_page(volunteer, 400)
    try:
        update = sim.user_press(volunteer.telegram_chat_id, int(message_id), data, language_code=volunteer.language)
    except ButtonGone:
        flash(_("That button is no longer under the message. Nothing was sent."), "error")
        return _thread_page(volunteer, 409)
    telegram_inbox.receive_body(update)
    flash(_("Pressed as %(name)s. The bot's answer appears here once the outbox sends it.", name=_name(volunteer)))
    return redirect(url_for("simulator.thread", volunteer_id=volunteer_id))


@bp.post("/<id:volunteer_id>/telegram/say")
def telegram_say(volunteer_id: int):
    """Text typed to the bot: a message update through the webhook's handler."""
    sim = _simulated_or_404()
    volunteer = _volunteer(volunteer_id)
    refused = _linked_or_409(volunteer)
    if refused is not None:
        return refused
    body = request.form.get("body", "").strip()
    if not body:
        flash(_("Write the text the volunteer sends."), "error")
        return _thread_page(volunteer, 400)
    if len(body) > MAX_REPLY_CHARS:
        flash(
            _(
                "A message can be up to %(max)d characters long here; this one has %(length)d. Nothing was sent.",
                max=MAX_REPLY_CHARS,
                length=len(body),
            ),
            "error",
        )
        return _thread_page(volunteer, 400)
    telegram_inbox.receive_body(sim.user_text(volunteer.telegram_chat_id, body, language_code=volunteer.language))
    flash(_("Sent as %(name)s. The bot's answer appears here once the outbox sends it.", name=_name(volunteer)))
    return redirect(url_for("simulator.thread", volunteer_id=volunteer_id))


@bp.post("/<id:volunteer_id>/telegram/link")
def telegram_link(volunteer_id: int):
    """Link with one click, the real way: a single-use link code, then `/start <code>` from the
    volunteer's simulated chat, through the webhook's handler."""
    sim = _simulated_or_404()
    volunteer = _volunteer(volunteer_id)
    code = telegram_links.create_link(volunteer.id, actor=f"user:{by().id}").code
    chat_id = volunteer.telegram_chat_id or telegram.simulated_chat_id(volunteer.id)
    telegram_inbox.receive_body(sim.user_text(chat_id, f"/start {code}", language_code=volunteer.language))
    flash(_("%(name)s opened the link and pressed Start in the simulated Telegram.", name=_name(volunteer)))
    return redirect(url_for("simulator.thread", volunteer_id=volunteer_id))


@bp.route("/telegram/start", methods=["GET", "POST"])
def telegram_start():
    """Where a Telegram link made in development points (telegram_links.link_url): GET shows what
    opening it does, and changes nothing (link previewers fetch links); POST presses Start, from a
    new simulated chat, as the person the link was given to."""
    sim = _simulated_or_404()
    code = (request.form.get("code") if request.method == "POST" else request.args.get("code")) or ""
    code = code.strip()[:64]
    if request.method == "GET":
        return render_template("simulator/start.html", code=code)
    if not code:
        flash(_("This link has no code."), "error")
        return render_template("simulator/start.html", code=code), 400
    chat_id = telegram.SIMULATED_CHAT_BASE * 2 + secrets.randbelow(10**9)
    telegram_inbox.receive_body(sim.user_text(chat_id, f"/start {code}"))
    linked = dashboard.volunteers_by_chat([chat_id]).get(chat_id)
    if linked is not None and not reader_scope().holds_volunteer(linked):
        flash(_("%(name)s opened the link and pressed Start in the simulated Telegram.", name=_("Volunteer")))
        return redirect(url_for("simulator.index"))
    if linked is None:
        flash(_("The bot did not accept this link: it is unknown, used or expired. Nothing was linked."), "error")
        return render_template("simulator/start.html", code=code), 409
    flash(_("%(name)s opened the link and pressed Start in the simulated Telegram.", name=_name(linked)))
    return redirect(url_for("simulator.thread", volunteer_id=linked.id))


def _last_text(entries) -> str:
    return next((e.text for e in reversed(entries) if e.kind == "text"), "")


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC).replace(tzinfo=None)  # stored times are naive UTC


def _name(volunteer) -> str:
    return volunteer.name or f"#{volunteer.id}"
