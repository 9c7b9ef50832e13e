"""The reply link page, `/r/<token>`: a volunteer on a one-way SMS sender answers a call-out here.

Plain HTML forms (no script), in the volunteer's own language whatever the browser says. GET
only shows; link previewers fetch links, so nothing happens until a button is pressed (POST),
and then the use case is the same as a YES or NO by SMS (dispatch/reply_links.py). Once
accepted, the page offers the on-scene buttons for the responder's state (I'm on scene, Done,
I'm safe, HELP): the same use cases as ARRIVED, DONE, SAFE and HELP by SMS.

Forged posts. The token in the URL is the credential, so a cross-site post would have to know
it already. Flask-WTF's CSRF is not used here: it needs a session cookie (a first visit from an
SMS app's in-app browser may have none, or lose it), and on HTTPS it insists on a Referer header
from this site, which this page, sent with `Referrer-Policy: no-referrer`, never gets. Instead
each form carries a token signed with SECRET_KEY and bound to this link (no cookie, valid
FORM_MAX_AGE), and a post that a browser marks as coming from another site (`Sec-Fetch-Site`, or
an `Origin` other than ours) is refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer

from notifications.reply_lexer import MAX_ETA_MIN
from notifications.telegram_buttons import ETA_CHOICES_MIN

from .. import reply_links
from ..extensions import csrf
from ..models import Alert

bp = Blueprint("reply", __name__, template_folder="templates")
# A page left open on a phone still answers after a long while; the alert decides what counts.
FORM_MAX_AGE_S = 24 * 3600
_FORM_SALT = "reply-link-form"
NOTICES = {
    "form_expired": _l("This page had expired. Please press the button again."),
    "no_answer": _l("Please press one of the buttons."),
    "bad_eta": _l("Minutes must be a whole number from 1 to %(max)d.", max=MAX_ETA_MIN),
    # A scene button that does not fit the responder's state: nothing was changed.
    "not_arrived": _l("You have not said you are on scene yet: press “I'm on scene” first. Nothing was changed."),
    "already_arrived": _l("You had already said you are on scene."),
    "already_left": _l("You have already left the scene. Nothing was changed."),
    "incident_ended": _l("This call-out has ended. Nothing was changed."),
    "not_on_scene": _l("You have not accepted this call-out. Nothing was changed."),
    "help_not_on_scene": _l("HELP is for responders on scene. If you are in danger, call 112."),
}
# After a scene button did what it says (post/redirect/get: ?said=).
SAID = {
    "arrived": _l("Thank you: the coordinators know you are on scene."),
    "done": _l("Thank you for your help! The coordinators know you have left."),
    "safe": _l("Thank you: the coordinators know you are safe."),
    "help": _l("The coordinators have been alerted and will contact you. If you are in danger, call 112."),
}


@bp.after_request
def private_headers(response: Response) -> Response:
    # The token is in the URL: it must not travel in a Referer, sit in a cache or be indexed.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _message(status: int, title: str, message: str):
    return render_template("reply/message.html", title=title, message=message), status


@bp.before_request
def refuse_guessers():
    try:
        reply_links.check_address(request.remote_addr)
    except reply_links.TooManyUnknownLinks as exc:
        body, status = _message(
            429,
            _("Too many wrong links"),
            _("Too many wrong links were opened from your network. Try again in 15 minutes."),
        )
        return body, status, exc.headers()
    return None


def _alert_or_404(token: str) -> Alert | None:
    alert = reply_links.find_alert(token)
    if alert is None:
        reply_links.record_unknown(request.remote_addr)
    return alert


def _not_found():
    return _message(
        404, _("Link not found"), _("This link does not work. Check that it was copied whole from the SMS.")
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_FORM_SALT)


def _form_token(alert: Alert) -> str:
    return _serializer().dumps(alert.reply_token_hash)


def _form_token_valid(alert: Alert, given: str) -> bool:
    try:
        return _serializer().loads(given, max_age=FORM_MAX_AGE_S) == alert.reply_token_hash
    except BadData:
        return False


def _from_another_site() -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    # With no-referrer a browser sends "Origin: null" on its own forms; a real other origin is refused.
    origin = request.headers.get("Origin")
    if origin in (None, "null"):
        return False
    ours = {_origin(request.host_url), _origin(current_app.config["PUBLIC_BASE_URL"])}
    return _origin(origin) not in ours


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _render(token: str, alert: Alert, status: int = 200, notice: str | None = None, said: str | None = None):
    page = reply_links.page(alert)
    with force_locale(page.language):
        html = render_template(
            "reply/page.html",
            p=page,
            token=token,
            form_token=_form_token(alert),
            eta_choices=ETA_CHOICES_MIN,
            max_eta=MAX_ETA_MIN,
            notice=str(NOTICES[notice]) if notice else None,
            said=str(SAID[said]) if said in SAID else None,
        )
    return html, status


@bp.get("/r/<token>")
def show(token: str):
    alert = _alert_or_404(token)
    if alert is None:
        return _not_found()
    return _render(token, alert, said=request.args.get("said"))


@bp.post("/r/<token>")
def answer(token: str):
    alert = _alert_or_404(token)
    if alert is None:
        return _not_found()
    if _from_another_site():
        with force_locale(reply_links.page(alert).language):
            return _message(
                403,
                _("Not allowed"),
                _("This answer did not come from this page. Open the link in the SMS and press the button again."),
            )
    if not _form_token_valid(alert, request.form.get("form_token", "")):
        return _render(token, alert, 400, "form_expired")
    scene = request.form.get("scene")
    if scene is not None:
        return _scene(token, alert, scene)
    choice = request.form.get("answer")
    eta_text = request.form.get("eta_min", "").strip()
    if choice not in ("accept", "decline"):
        return _render(token, alert, 400, "no_answer")
    eta_min = None
    if choice == "accept" and eta_text:
        if not (eta_text.isascii() and eta_text.isdigit() and 0 < int(eta_text) <= MAX_ETA_MIN):
            return _render(token, alert, 400, "bad_eta")
        eta_min = int(eta_text)
    reply_links.answer(alert.id, choice == "accept", eta_min)
    # Post/redirect/get: the page then shows what happened, and a reload posts nothing again.
    return redirect(url_for("reply.show", token=token), 303)


def _scene(token: str, alert: Alert, intent: str):
    """ARRIVED, DONE, SAFE or HELP pressed: the same use cases as the words by SMS."""
    if intent not in reply_links.SCENE_WORDS:
        return _render(token, alert, 400, "no_answer")
    outcome = reply_links.from_scene(alert.id, intent)
    if outcome in reply_links.SCENE_DONE:
        return redirect(url_for("reply.show", token=token, said=intent), 303)
    return _render(token, alert, 409, outcome if outcome in NOTICES else "incident_ended")


def register_reply(app: Flask) -> None:
    # Its own defence against forged posts (see the module docstring), not Flask-WTF's.
    csrf.exempt(bp)
    app.register_blueprint(bp)
