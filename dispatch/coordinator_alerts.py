"""Alerts to a coordinator's own phone and Telegram: a responder's welfare check overdue, HELP
from the scene. They go to the coordinator who posted the incident and to the regional
coordinators whose scope holds its region (scopes.coordinators_to_alert), by SMS when they have a
phone (`users set-phone`) and by Telegram when they linked a chat (`users telegram-link`, or
the console's account page), through the same outbox as every message, in their language
(`users set-language`; ru unless set). The caller commits.
"""

from __future__ import annotations

from notifications.texts import render

from . import scopes
from .models import Incident
from .outbox import enqueue_to_chat, enqueue_to_number


def alert_coordinators(incident: Incident, template: str, **values) -> int:
    """Queue `template` to each coordinator to alert, on each channel they have, once per phone
    number and chat; how many messages."""
    phones: set[str] = set()
    chats: set[int] = set()
    for user in scopes.coordinators_to_alert(incident):
        body = render(template, user.language, code=incident.code, title=incident.title, drill=incident.drill, **values)
        if user.phone is not None and user.phone not in phones:
            phones.add(user.phone)
            enqueue_to_number(user.phone, template, body, incident_id=incident.id)
        if user.telegram_chat_id is not None and user.telegram_chat_id not in chats:
            chats.add(user.telegram_chat_id)
            enqueue_to_chat(user.telegram_chat_id, template, body, incident_id=incident.id)
    return len(phones) + len(chats)
