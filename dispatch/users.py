"""Use cases on users and their API tokens: create, issue a token, authenticate."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .clock import utcnow
from .errors import DispatchError, DuplicateEmail, ValidationFailed
from .extensions import db
from .models import ROLES, ApiToken, AuditEvent, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
# Password guessing: this many failures for one email, or from one address, in the window
# locks sign-in for them until the window has passed (counted in the database: all workers agree).
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20


class TooManyAttempts(DispatchError):
    status, code, message = 429, "RATE_LIMITED", "Too many failed sign-ins; wait 15 minutes and try again."


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough; passwords get scrypt.
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(email: str, role: str, password: str | None = None) -> tuple[User, str]:
    """A new user and their first API token (returned once, stored only as a hash)."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationFailed("Not an email address.", {"fields": {"email": "not an email address"}})
    if role not in ROLES:
        raise ValidationFailed(f"Role must be one of {', '.join(ROLES)}.", {"fields": {"role": "unknown role"}})
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DuplicateEmail()
    user = User(email=email, role=role)
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
    if len(password) < 10:
        raise ValidationFailed("A password needs at least 10 characters.", {"fields": {"password": "too short"}})
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValidationFailed(f"A password has at most {MAX_PASSWORD_CHARS} characters.",
                               {"fields": {"password": "too long"}})
    user.password_hash = generate_password_hash(password)


def check_password(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password)


def authenticate_token(token: str) -> User | None:
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    return row.user if row else None


def _new_token(user: User, label: str | None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label=label, created_at=utcnow()))
    return token


def check_login_allowed(email: str, address: str | None) -> None:
    """Raise TooManyAttempts while this email or this client address is locked out."""
    since = utcnow() - LOGIN_WINDOW
    for actor, limit in ((f"email:{email.strip().lower()}", MAX_FAILURES_PER_EMAIL),
                         (f"address:{address}", MAX_FAILURES_PER_ADDRESS)):
        failures = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(
                AuditEvent.event == "login_failed", AuditEvent.actor == actor, AuditEvent.at > since)
        )
        if failures >= limit:
            raise TooManyAttempts()


def record_login_failure(email: str, address: str | None) -> None:
    for actor in (f"email:{email.strip().lower()}"[:64], f"address:{address}"[:64]):
        db.session.add(AuditEvent(at=utcnow(), actor=actor, event="login_failed"))
    db.session.commit()
