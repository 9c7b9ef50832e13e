"""The SMS simulator (SMS_BACKEND=console and never in production; 404 otherwise): each volunteer's
phone as the console backend "delivered" it, and a box to answer as that volunteer.

An answer goes through inbox.receive_sms, the very code path of a real inbound SMS, with a
generated MessageSid; instead of the provider's signature it needs a coordinator's session
and the form's CSRF token.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from notifications.phones import InvalidPhone, normalize_phone

from .. import dashboard, inbox
from ..errors import DispatchError
from ..models import InboundMessage
from ..volunteers import get_volunteer
from .console import coordinators_only, dispatch_error
from .live import conditional

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
        if found is not None:
            return redirect(url_for("simulator.thread", volunteer_id=found.id))
        flash(_("No volunteer has that number."), "error")
    return render_template("simulator/index.html", inboxes=dashboard.simulator_inboxes(), phone=phone)


@bp.get("/<id:volunteer_id>")
def thread(volunteer_id: int):
    volunteer = get_volunteer(volunteer_id)
    return _thread_page(volunteer)


def _thread_page(volunteer, status: int = 200):
    return render_template(
        "simulator/thread.html", t=dashboard.simulator_thread(volunteer), max_reply=MAX_REPLY_CHARS
    ), status


@bp.get("/<id:volunteer_id>/live")
def thread_live(volunteer_id: int):
    volunteer = get_volunteer(volunteer_id)
    return conditional(
        render_template("simulator/_thread_live.html", t=dashboard.simulator_thread(volunteer)), "text/html"
    )


@bp.post("/<id:volunteer_id>/reply")
def reply(volunteer_id: int):
    volunteer = get_volunteer(volunteer_id)
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
    flash(
        _(
            "Sent as %(name)s. The service's answer appears here once the outbox sends it.",
            name=volunteer.name or volunteer.id,
        )
    )
    return redirect(url_for("simulator.thread", volunteer_id=volunteer_id))
