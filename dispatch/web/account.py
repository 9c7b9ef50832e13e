"""Signing in to the console (Flask-Login sessions), signing out, and the coordinator's preferences.

The session cookie carries only the key of a server-side session (dispatch/users.py), so signing
out, changing the password or disabling the user ends it for good: a copied cookie is refused
from anywhere afterwards.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import segno
from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from .. import dashboard, telegram_links, users
from ..errors import DispatchError
from ..models import User
from ..schemas import has_control_characters
from .i18n import LANGUAGES, TIMEZONES, error_message, remember_language, select_timezone, valid_timezone

bp = Blueprint("account", __name__, template_folder="templates")
bp.before_request(remember_language)
login_manager = LoginManager()
MAX_EMAIL_CHARS = User.email.type.length
# Checked against when the email is unknown, so a wrong email costs the same time as a wrong password.
_NOBODY_HASH = generate_password_hash("no such user")


class SessionUser(UserMixin):
    """Flask-Login's view of a User (the model stays free of web concerns)."""

    def __init__(self, user: User, session_key: str):
        self.user = user
        self.session_key = session_key

    def get_id(self) -> str:
        return self.session_key

    @property
    def email(self) -> str:
        return self.user.email

    def has_role(self, role: str) -> bool:
        return self.user.has_role(role)


@login_manager.user_loader
def load_user(session_key: str) -> SessionUser | None:
    user = users.session_user(session_key)
    return SessionUser(user, session_key) if user is not None else None


def load_user_first() -> None:
    """Look the session up before the view runs: the lookup may commit (it records that the
    session was seen), which must never commit a view's unfinished work."""
    if request.endpoint != "static":
        current_user._get_current_object()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("console.incident_list")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    email = request.form.get("email", "").strip()
    if request.method == "POST":
        if len(email) > MAX_EMAIL_CHARS or len(request.form.get("password", "")) > users.MAX_PASSWORD_CHARS:
            # No account has one this long: refused before any look-up, hash or failure count.
            error = _(
                "An email has at most %(email)d characters and a password at most %(password)d.",
                email=MAX_EMAIL_CHARS,
                password=users.MAX_PASSWORD_CHARS,
            )
            return render_template("account/login.html", error=error, email=""), 400
        if has_control_characters(email):
            # No account has such an email, and PostgreSQL refuses a NUL in a query: no look-up.
            return render_template("account/login.html", error=_("Wrong email or password."), email=""), 400
        try:
            users.check_login_allowed(email, request.remote_addr)
        except users.TooManyAttempts:
            error = _("Too many failed sign-ins; wait 15 minutes and try again.")
            return render_template("account/login.html", error=error, email=email), 429
        user = dashboard.user_by_email(email) if email else None
        password = request.form.get("password", "")
        if user is None or not user.password_hash or user.disabled_at is not None:
            check_password_hash(_NOBODY_HASH, password)
        elif users.check_password(user, password):
            kept = {k: session[k] for k in ("lang", "tz") if k in session}
            session.clear()  # nothing from before signing in carries over, the CSRF token neither
            g.pop("csrf_token", None)
            session.update(kept)
            session.permanent = True  # the cookie expires after PERMANENT_SESSION_LIFETIME unused
            login_user(SessionUser(user, users.start_session(user)))
            return redirect(_safe_next(request.args.get("next")))
        users.record_login_failure(email, request.remote_addr)
        error = _("Wrong email or password.")
    status = 401 if error else 200
    return render_template("account/login.html", error=error, email=email), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        users.end_session(current_user.session_key)
    logout_user()
    flash(_("You are signed out."))
    return redirect(url_for("account.login"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    if request.method == "POST":
        tz = valid_timezone(request.form.get("timezone"))
        lang = request.form.get("language")
        if tz is None or lang not in LANGUAGES:
            flash(_("Choose a language and a time zone from the lists."), "error")
        else:
            session["tz"], session["lang"] = tz, lang
            # The same language for the alerts to their own phone and Telegram.
            users.set_language(current_user.user.email, lang, actor=f"user:{current_user.user.id}")
            return redirect(url_for("account.preferences", saved=1))
    return render_template(
        "account/preferences.html",
        timezones=TIMEZONES,
        timezone=select_timezone(),
        saved=request.args.get("saved") == "1",
        telegram_enabled=current_app.config["TELEGRAM_ENABLED"],
        user=current_user.user,
    )


@bp.post("/preferences/telegram-link")
@login_required
def telegram_link():
    """A single-use link that binds the user's own Telegram chat (alerts about their incidents)."""
    try:
        link = telegram_links.create_user_link(current_user.user.id, f"user:{current_user.user.id}")
    except DispatchError as exc:
        return render_template(
            "error.html", status=exc.status, message=error_message(exc.code, exc.message)
        ), exc.status
    # Drawn here as inline SVG (no script, nothing fetched), as for volunteers' links.
    qr_svg = segno.make(link.url, error="m").svg_inline(scale=6, title=link.url)
    return render_template("account/telegram_link.html", link=link, qr_svg=qr_svg), 201


@bp.post("/preferences/telegram-unlink")
@login_required
def telegram_unlink():
    users.unlink_telegram(current_user.user.email, f"user:{current_user.user.id}")
    return redirect(url_for("account.preferences", saved=1))


def register_account(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "account.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    app.before_request(load_user_first)
    app.register_blueprint(bp)
