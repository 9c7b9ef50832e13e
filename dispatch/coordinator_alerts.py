"""Alerts to a coordinator's own phone and Telegram: a responder's welfare check overdue, HELP
from the scene. They go to the coordinator who posted the incident, by SMS when they have a
phone (`users set-phone`) and by Telegram when they linked a chat (`users telegram-link`, or
the console's account page), through the same outbox as every message, in their language
(`users set-language`; ru unless set). The caller commits.
"""

from __future__ import annotations

from notifications.texts import render

from .extensions import db
from .models import Incident, User
from .outbox import enqueue_to_chat, enqueue_to_number


def alert_coordinators(incident: Incident, template: str, **values) -> int:
    """Queue `template` to the poster of the incident on each channel they have; how many."""
    if incident.reported_by_id is None:
        return 0
    user = db.session.get(User, incident.reported_by_id)
    if user is None or user.disabled_at is not None:
        return 0
    body = render(template, user.language, code=incident.code, title=incident.title, drill=incident.drill, **values)
    sent = 0
    if user.phone is not None:
        enqueue_to_number(user.phone, template, body, incident_id=incident.id)
        sent += 1
    if user.telegram_chat_id is not None:
        enqueue_to_chat(user.telegram_chat_id, template, body, incident_id=incident.id)
        sent += 1
    return sent
