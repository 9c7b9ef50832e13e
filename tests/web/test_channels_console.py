"""The console's view of channels: every call-out of an alert with its provider and status on the
incident page, and each provider's health on /console/channels, in the coordinator's language."""

from __future__ import annotations

from dispatch import provider_health
from dispatch.extensions import db
from dispatch.models import OutboxMessage
from notifications.gateway import SmsRetryable
from tests.dispatch.factories import alert, incident, volunteer


def callout(inc, a, v, **fields) -> None:
    db.session.add(
        OutboxMessage(
            to_phone=v.phone, body="x", kind="alert", alert_id=a.id, incident_id=inc.id, volunteer_id=v.id, **fields
        )
    )


def test_incident_page_lists_every_call_out_with_its_provider_and_status(console):
    v = volunteer(1, name="Failed over")
    inc = incident()
    a = alert(inc, v, status="sent")
    callout(inc, a, v, status="undelivered", provider="twilio")
    callout(inc, a, v, status="sent", provider="smsgate", route="fallback")
    db.session.commit()
    html = console.get(f"/console/incidents/{inc.id}").get_data(as_text=True)
    row = html.split("Failed over", 1)[1].split("</tr>", 1)[0]
    assert "SMS (Twilio): Undelivered" in row and "SMS (SMSGate): Sent" in row


def test_channels_page_shows_a_provider_skipped_after_failures_with_its_error(console):
    for _ in range(provider_health.FAILURES_TO_SKIP):
        provider_health.record_attempt("console", SmsRetryable("the gateway <b>refused</b>"))
    db.session.commit()
    html = console.get("/console/channels").get_data(as_text=True)
    row = html.split('data-provider="console"', 1)[1].split("</tr>", 1)[0]
    assert "Skipped for new call-outs" in row and f"<td>{provider_health.FAILURES_TO_SKIP}</td>" in row
    assert "&lt;b&gt;refused&lt;/b&gt;" in row  # outside text is text, never markup
    assert "/console/channels" in console.get("/console/").get_data(as_text=True)


def test_channels_page_in_russian_and_kazakh(console):
    provider_health.record_attempt("console", None)
    db.session.commit()
    for lang, words in (
        ("ru", ("Каналы и провайдеры", "Работает", "отчётов пока нет", "SMS (основной)")),
        ("kk", ("Арналар мен провайдерлер", "Жұмыс істейді", "әзірге есеп жоқ", "SMS (негізгі)")),
    ):
        console.set_cookie("lang", lang)
        html = console.get("/console/channels", headers={"Accept-Language": lang}).get_data(as_text=True)
        for word in words:
            assert word in html, (lang, word)
        for english in ("Working", "Provider", "Failures in a row", "no reports yet"):
            assert english not in html, (lang, english)
