"""Use cases on users, their API tokens and console sessions: create, issue and revoke a token,
authenticate, change a password, disable, sign-in lockouts."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from notifications.phones import InvalidPhone, normalize_phone

from . import audit, scopes
from .clock import utcnow
from .errors import DispatchError, DuplicateEmail, NotFound, ValidationFailed
from .extensions import db
from .models import LANGUAGES, ROLES, ApiToken, AuditEvent, User, UserSession

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# Password guessing: this many failures for one email from one address, or from one address
# for any emails, in the window locks sign-in for them until the window has passed (counted in
# the database: all workers agree). An email is never locked from every address, so a guesser
# elsewhere cannot lock a coordinator out; `flask users unlock` lifts a lock early.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL_AND_ADDRESS = 5
MAX_FAILURES_PER_ADDRESS = 20
# A console session unused this long has ended (the session cookie expires with it: web/security.py).
SESSION_IDLE_LIMIT = timedelta(hours=12)
# How often a session in use records that it was seen, and a token that it was used: one write
# per session every few minutes, not one per request.
SEEN_RESOLUTION = timedelta(minutes=5)


class TooManyAttempts(DispatchError):
    status, code, message = 429, "RATE_LIMITED", "Too many failed sign-ins; wait 15 minutes and try again."


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough; passwords get scrypt.
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    email: str,
    role: str,
    password: str | None = None,
    phone: str | None = None,
    regions: Iterable[str] = (),
    organization_ids: Iterable[int] = (),
    language: str = "ru",
) -> tuple[User, str]:
    """A new user and their first API token (returned once, stored only as a hash); no regions
    and no organisations: a national user (dispatch/scopes.py)."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationFailed("Not an email address.", {"fields": {"email": "not an email address"}})
    if role not in ROLES:
        raise ValidationFailed(f"Role must be one of {', '.join(ROLES)}.", {"fields": {"role": "unknown role"}})
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DuplicateEmail()
    user = User(
        email=email, role=role, phone=_checked_phone(phone) if phone else None, language=_checked_language(language)
    )
    user.scope_entries = scopes.entries(regions, organization_ids)
    if password:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    token = _new_token(user, label="created with the user")
    db.session.commit()
    return user, token


def issue_token(email: str, label: str | None = None) -> str:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise ValidationFailed(f"No user {email!r}.")
    token = _new_token(user, label)
    db.session.commit()
    return token


MAX_PASSWORD_CHARS = 256  # the sign-in form refuses a longer one without looking anything up


def set_password(user: User, password: str) -> None:
    """The new hash, and the end of every console session opened with the old password."""
    if len(password) < 10:
        raise ValidationFailed("A password needs at least 10 characters.", {"fields": {"password": "too short"}})
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValidationFailed(
            f"A password has at most {MAX_PASSWORD_CHARS} characters.", {"fields": {"password": "too long"}}
        )
    user.password_hash = generate_password_hash(password)
    if user.id is not None:
        _end_all_sessions(user)


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def authenticate_token(token: str) -> User | None:
    """The token's user, or None for an unknown or revoked token or a disabled user."""
    row = db.session.execute(
        select(ApiToken)
        .join(User)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), User.disabled_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or row.last_used_at < now - SEEN_RESOLUTION:
        # Called before the route does anything, so this commit carries nothing else.
        row.last_used_at = now
        db.session.commit()
    return row.user


def _new_token(user: User, label: str | None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label=label, created_at=utcnow()))
    return token


def get_user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise ValidationFailed(f"No user {email!r}.")
    return user


# -- account administration (flask users ...) ---------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: never the token, which only its owner ever saw."""

    id: int
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_tokens(email: str) -> list[TokenInfo]:
    user = get_user(email)
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return [TokenInfo(t.id, t.label, t.created_at, t.last_used_at, t.revoked_at) for t in rows]


def revoke_token(email: str, *, token_id: int | None = None, label: str | None = None) -> list[int]:
    """Revoke one of the user's tokens by id, or the one live token with that label; the ids revoked
    (none when the token was revoked already). A label two live tokens share is refused."""
    user = get_user(email)
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    if token_id is not None:
        row = db.session.scalar(query.where(ApiToken.id == token_id))
        if row is None:
            raise ValidationFailed(f"{user.email} has no token {token_id}.")
        rows = [row] if row.revoked_at is None else []
    else:
        rows = list(db.session.scalars(query.where(ApiToken.label == label, ApiToken.revoked_at.is_(None))))
        if not rows:
            raise ValidationFailed(f"{user.email} has no live token labelled {label!r}.")
        if len(rows) > 1:
            raise ValidationFailed(
                f"{len(rows)} live tokens are labelled {label!r}: revoke by id ({', '.join(str(r.id) for r in rows)})."
            )
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        _audit(user, "token_revoked", {"token_id": row.id})
    db.session.commit()
    return [row.id for row in rows]


def change_password(email: str, password: str) -> User:
    """A new password; every console session of the user ends."""
    user = get_user(email)
    set_password(user, password)
    _audit(user, "password_changed")
    db.session.commit()
    return user


def disable_user(email: str) -> User:
    """No sign-in, no API token (401), and every open console session ends."""
    user = get_user(email)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        _audit(user, "user_disabled")
    _end_all_sessions(user)
    db.session.commit()
    return user


def _checked_phone(phone: str) -> str:
    try:
        return normalize_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhone as exc:
        raise ValidationFailed(str(exc), {"fields": {"phone": str(exc)}}) from None


def set_phone(email: str, phone: str | None) -> User:
    """The user's own phone (E.164), where alerts about incidents they posted are texted; None
    removes it."""
    user = get_user(email)
    user.phone = _checked_phone(phone) if phone else None
    _audit(user, "user_phone_set" if user.phone else "user_phone_removed")
    db.session.commit()
    return user


def _checked_language(language: str) -> str:
    if language not in LANGUAGES:
        problem = f"must be one of {', '.join(LANGUAGES)}"
        raise ValidationFailed(f"The language {problem}.", {"fields": {"language": problem}})
    return language


def set_language(email: str, language: str, actor: str = "cli") -> User:
    """The language of the alerts to the user's own phone and Telegram (kk, ru, en)."""
    user = get_user(email)
    checked = _checked_language(language)
    if user.language != checked:
        user.language = checked
        db.session.add(
            AuditEvent(
                at=utcnow(), actor=actor, event="user_language_set", details={"user_id": user.id, "language": checked}
            )
        )
    db.session.commit()
    return user


def unlink_telegram(email: str, actor: str = "cli") -> User:
    """No more alerts to the user's Telegram chat."""
    user = get_user(email)
    if user.telegram_chat_id is not None:
        user.telegram_chat_id = None
        db.session.add(
            AuditEvent(at=utcnow(), actor=actor, event="user_telegram_unlinked", details={"user_id": user.id})
        )
    db.session.commit()
    return user


def enable_user(email: str) -> User:
    user = get_user(email)
    if user.disabled_at is not None:
        user.disabled_at = None
        _audit(user, "user_enabled")
    db.session.commit()
    return user


def _audit(user: User, event: str, details: dict | None = None) -> None:
    db.session.add(AuditEvent(at=utcnow(), actor="cli", event=event, details={"user_id": user.id, **(details or {})}))


# -- console sessions ---------------------------------------------------------------------------


def start_session(user: User) -> str:
    """A new console session for a signed-in user: the key goes in the session cookie, its hash here."""
    now = utcnow()
    # Sessions left to expire (never signed out) go when anyone signs in, so the table stays small.
    db.session.execute(delete(UserSession).where(UserSession.seen_at < now - SESSION_IDLE_LIMIT))
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, key_hash=hash_token(key), created_at=now, seen_at=now))
    db.session.commit()
    return key


def session_user(key: str) -> User | None:
    """The user of a live session: None once it was ended, went idle, or its user was disabled.
    Called at the start of a request (web/account.py), so the commit carries nothing else."""
    now = utcnow()
    row = db.session.execute(
        select(UserSession)
        .join(User)
        .where(
            UserSession.key_hash == hash_token(key),
            UserSession.seen_at >= now - SESSION_IDLE_LIMIT,
            User.disabled_at.is_(None),
            User.password_hash.is_not(None),
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.seen_at < now - SEEN_RESOLUTION:
        row.seen_at = now
        db.session.commit()
    return row.user


def end_session(key: str) -> None:
    db.session.execute(delete(UserSession).where(UserSession.key_hash == hash_token(key)))
    db.session.commit()


def _end_all_sessions(user: User) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


# -- sign-in lockout ----------------------------------------------------------------------------
# Failures are audit events counted by actor. Every actor is built to fit the column whole, so
# what is counted is exactly what was stored, whatever the length of the email or address.


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _email_key(email: str) -> str:
    return f"email:{_digest(email.strip().lower())}"


def _pair_key(email: str, address: str | None) -> str:
    return f"login:{_digest(email.strip().lower() + chr(10) + str(address))}"


def check_login_allowed(email: str, address: str | None) -> None:
    """Raise TooManyAttempts while this email from this address, or this address, is locked out."""
    window_start = utcnow() - LOGIN_WINDOW
    for actor, limit, unlocked_by in (
        (audit.address_actor(address), MAX_FAILURES_PER_ADDRESS, audit.address_actor(address)),
        (_pair_key(email, address), MAX_FAILURES_PER_EMAIL_AND_ADDRESS, _email_key(email)),
    ):
        unlocked_at = db.session.scalar(
            select(func.max(AuditEvent.at)).where(
                AuditEvent.event == "login_unlocked", AuditEvent.actor == unlocked_by, AuditEvent.at > window_start
            )
        )
        if audit.count_recent(actor, "login_failed", LOGIN_WINDOW, since=unlocked_at) >= limit:
            raise TooManyAttempts()


def record_login_failure(email: str, address: str | None) -> None:
    now = utcnow()
    for actor in (_pair_key(email, address), audit.address_actor(address)):
        db.session.add(AuditEvent(at=now, actor=actor, event="login_failed"))
    db.session.commit()


def unlock_sign_in(email: str | None = None, address: str | None = None) -> None:
    """Lift the lockout of an email (from every address) and/or of an address, now."""
    if email is not None:
        get_user(email)
    actors = ([_email_key(email)] if email is not None else []) + (
        [audit.address_actor(address)] if address is not None else []
    )
    now = utcnow()
    for actor in actors:
        db.session.add(AuditEvent(at=now, actor=actor, event="login_unlocked", details={"by": "cli"}))
    db.session.commit()


# -- scopes, from the console (national admins) ---------------------------------------------------


def list_users() -> list[User]:
    """Every user, by email (the console's user administration)."""
    return list(db.session.scalars(select(User).order_by(User.email)))


def get_user_by_id(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


def change_scope(user_id: int, regions: Iterable[str], organization_ids: Iterable[int], actor: str) -> User:
    """Replace a user's scope (both empty: national), audited; nothing changes on a bad region or
    organisation (ValidationFailed)."""
    user = get_user_by_id(user_id)
    scopes.set_scope(user, regions, organization_ids, actor)
    db.session.commit()
    return user
