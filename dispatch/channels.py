"""Which channel a call-out goes on, and which one next when it fails (API.md, Channels).

A route is one channel through one provider:
  sms            SMS through SMS_BACKEND            (outbox channel "sms", route None)
  sms_fallback   SMS through SMS_FALLBACK_BACKEND   (outbox channel "sms", route "fallback")
  telegram       the linked Telegram chat            (outbox channel "telegram")
The order for a volunteer: their preferred channel, then sms, then sms_fallback, then telegram,
each only where they can be reached on it (a phone without a problem and not opted out; a
linked, not opted-out chat with Telegram on; a configured fallback). A new call-out skips the
routes whose provider is down (dispatch/provider_health.py), unless every one is.
"""

from __future__ import annotations

from flask import current_app

from . import provider_health
from .models import OutboxMessage, Volunteer
from .outbox import provider_name, telegram_reachable

ROUTES = ("sms", "sms_fallback", "telegram")


def route_of(channel: str, route: str | None) -> str:
    """The route of an outbox row (its channel and its route column)."""
    if channel == "telegram":
        return "telegram"
    return "sms_fallback" if route == "fallback" else "sms"


def outbox_route(route: str) -> str | None:
    """The outbox row's route column for a route."""
    return "fallback" if route == "sms_fallback" else None


def provider_of(route: str) -> str | None:
    """The provider that carries a route here: twilio, smsgate, console or telegram; None when
    the route is not configured."""
    # The gateways registered by dispatch/sms.py and dispatch/telegram.py (read here, below them).
    extensions = current_app.extensions
    if route == "telegram":
        enabled = current_app.config["TELEGRAM_ENABLED"] and "telegram_channel" in extensions
        return "telegram" if enabled else None
    if route == "sms_fallback":
        gateway = extensions.get("sms_fallback_gateway")
        return provider_name(gateway) if gateway is not None else None
    return provider_name(extensions["sms_gateway"])


def configured() -> dict[str, str]:
    """{route: provider} for every route this service can send on."""
    found = {route: provider_of(route) for route in ROUTES}
    return {route: provider for route, provider in found.items() if provider is not None}


def _sms_reachable(volunteer: Volunteer) -> bool:
    return volunteer.phone is not None and volunteer.phone_problem is None and volunteer.status != "opted_out"


def reachable(volunteer: Volunteer, route: str) -> bool:
    if provider_of(route) is None:
        return False
    if route == "telegram":
        return telegram_reachable(volunteer)
    return _sms_reachable(volunteer)


def order(volunteer: Volunteer) -> list[str]:
    """The routes to try for this volunteer, in order, where they can be reached."""
    preferred = "telegram" if volunteer.preferred_channel == "telegram" else "sms"
    return [route for route in dict.fromkeys((preferred, *ROUTES)) if reachable(volunteer, route)]


def first_route(volunteer: Volunteer, down: set[str] | None = None) -> str | None:
    """Where a new call-out goes: the first reachable route whose provider is not down (the
    first reachable one when all are down: a call-out is never dropped for that). `down`: the
    providers down now, when the caller has read them already (a wave reads them once)."""
    routes = order(volunteer)
    if not routes:
        return None
    if down is None:
        down = provider_health.down_providers()
    return next((route for route in routes if provider_of(route) not in down), routes[0])


def has_next_route(volunteer: Volunteer, route: str) -> bool:
    """Whether a call-out on `route` could go on another route for this volunteer, should it
    fail or stay silent (a new call-out's failover deadline is pointless without one)."""
    return any(other != route and provider_of(other) != provider_of(route) for other in order(volunteer))


def next_route(volunteer: Volunteer, tried: list[OutboxMessage]) -> str | None:
    """The next route after the call-outs already tried (outbox rows): never a route, nor a
    provider, that carried (or was to carry) this alert before."""
    routes = {route_of(row.channel, row.route) for row in tried}
    providers = {row.provider for row in tried if row.provider}
    left = [r for r in order(volunteer) if r not in routes and provider_of(r) not in providers]
    if not left:
        return None
    # A provider that is down comes last: it is tried only when nothing else is left.
    down = provider_health.down_providers()
    return next((route for route in left if provider_of(route) not in down), left[0])
