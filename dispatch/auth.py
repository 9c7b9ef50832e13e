"""Bearer-token authentication and the role check every API route declares."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from . import users
from .errors import Forbidden, Unauthorized
from .models import User


def current_user() -> User:
    return g.user


def actor() -> str:
    """Who is acting, as the audit trail writes it."""
    return f"user:{g.user.id}"


def sees_personal_data() -> bool:
    """Coordinators and admins see volunteers' phone numbers and exact homes; a viewer does not
    (presenters.volunteer_json and the like)."""
    return g.user.has_role("coordinator")


def require_role(role: str):
    """viewer < coordinator < admin: 401 without a valid token, 403 when the role is too low."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized()
            user = users.authenticate_token(token.strip())
            if user is None:
                raise Unauthorized("The bearer token is not valid.")
            if not user.has_role(role):
                raise Forbidden(f"This needs the {role} role; you are {user.role}.")
            g.user = user
            return view(*args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return decorate
