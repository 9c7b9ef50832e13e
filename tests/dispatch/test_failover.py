"""Failover between channels (API.md, Channels): SMS_BACKEND through a loopback FakeTwilio, the
SMS_FALLBACK_BACKEND through a loopback FakeSmsGate, Telegram through a FakeTelegram, each with
its real client. Every rule: a failed or undelivered report or a silent deadline moves the
call-out to the next channel once; delivered stops it; no channel left fails and replaces the
alert; late reports change nothing; a blocked bot goes to SMS; a failing provider is skipped
and tried again after its cool-down; the deadline survives a new process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from config import TestConfig
from dispatch import alerting, create_app, jobs, provider_health
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Alert, AuditEvent, Need, OutboxMessage, ProviderHealth
from dispatch.outbox import Pacer
from notifications.gateway import SmsAmbiguous, SmsRetryable
from notifications.smsgate import SmsGateGateway
from tests.fakes.smsgate_server import FakeSmsGate

from . import factories
from .telegram_support import link

CHAT = 7780001


@pytest.fixture
def one_at_a_time(app, monkeypatch):
    """One alert per open place, so who is asked next is plain to see."""
    monkeypatch.setitem(app.config, "EXPECTED_ACCEPTANCE", 1.0)


@pytest.fixture
def fallback(app, twilio):
    """SMS_FALLBACK_BACKEND=smsgate: a FakeSmsGate behind the app's second SMS gateway (the
    primary, SMS_BACKEND, is the `twilio` fixture's FakeTwilio)."""
    saved = app.config["SMS_FALLBACK_BACKEND"], app.config["SMSGATE_SIGNING_KEY"]
    with FakeSmsGate() as fake:
        gateway = SmsGateGateway(fake.base_url, fake.username, fake.password, timeout_s=0.5)
        app.extensions["sms_fallback_gateway"], app.extensions["sms_fallback_pacer"] = gateway, Pacer(10_000)
        app.config["SMS_FALLBACK_BACKEND"], app.config["SMSGATE_SIGNING_KEY"] = "smsgate", fake.signing_key
        try:
            yield fake
        finally:
            gateway.close()
            app.extensions.pop("sms_fallback_gateway")
            app.extensions.pop("sms_fallback_pacer")
            app.config["SMS_FALLBACK_BACKEND"], app.config["SMSGATE_SIGNING_KEY"] = saved


def callouts(alert_id: int | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.kind == "alert").order_by(OutboxMessage.id)
    if alert_id is not None:
        query = query.where(OutboxMessage.alert_id == alert_id)
    db.session.expire_all()
    return list(db.session.scalars(query))


def route(row: OutboxMessage) -> str:
    return f"{row.channel}:{row.route or 'main'}"


def start(client, auth, count: int = 1) -> tuple[dict, list]:
    volunteers = [factories.volunteer(km=i + 1) for i in range(count)]
    incident = factories.report(client, auth, [{"skill": None, "count": 1}])
    jobs.send_outbox()
    return incident, volunteers


def the_alert(volunteer_id: int) -> Alert:
    db.session.expire_all()
    return db.session.scalar(select(Alert).where(Alert.volunteer_id == volunteer_id))


@pytest.mark.parametrize("status", ["failed", "undelivered"])
def test_a_failed_or_undelivered_report_sends_it_once_more_on_the_fallback_at_once(
    client, auth, twilio, fallback, status_in, one_at_a_time, status
):
    incident, (v,) = start(client, auth)
    (first,) = callouts()
    assert (route(first), first.provider, first.status) == ("sms:main", "twilio", "sent")
    assert first.failover_at is not None
    assert status_in(first.provider_id, status, "30003").status_code == 200
    rows = callouts()
    assert [route(r) for r in rows] == ["sms:main", "sms:fallback"]
    assert rows[0].failover_at is None
    jobs.send_outbox()
    assert [m.phone_numbers for m in fallback.messages] == [[v.phone]]
    # The same text, so the same reply link, as the first SMS.
    assert fallback.messages[0].text == rows[0].body
    assert the_alert(v.id).status == "sent"  # still waiting for an answer
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "alert_failed_over")).all()
    assert [(e.details["from"], e.details["to"]) for e in events] == [("sms", "sms_fallback")]
    # Every attempt on every channel is listed with its provider and status.
    body = client.get(f"/api/v1/incidents/{incident['id']}/alerts", headers=auth("viewer")).get_json()
    assert body["items"][0]["deliveries"] == [
        {"channel": "sms", "provider": "twilio", "status": status},
        {"channel": "sms", "provider": "smsgate", "status": "sent"},
    ]
    # The same report again changes nothing.
    status_in(first.provider_id, status)
    assert len(callouts()) == 2


def test_no_report_by_the_deadline_goes_on_the_next_channel_once(client, auth, twilio, fallback, one_at_a_time):
    _, (v,) = start(client, auth)
    (first,) = callouts()
    assert alerting.fail_over_due(utcnow()) == 0  # not due yet
    later = first.failover_at + timedelta(seconds=1)
    assert alerting.fail_over_due(later) == 1
    assert alerting.fail_over_due(later) == 0  # claimed once
    assert [route(r) for r in callouts()] == ["sms:main", "sms:fallback"]
    jobs.send_outbox()
    assert len(fallback.messages) == 1 and len(twilio.messages) == 1


def test_delivered_before_the_deadline_changes_nothing(client, auth, twilio, fallback, status_in, one_at_a_time):
    _, (v,) = start(client, auth)
    (first,) = callouts()
    status_in(first.provider_id, "delivered")
    assert callouts()[0].failover_at is None
    assert alerting.fail_over_due(utcnow() + timedelta(hours=1)) == 0
    assert len(callouts()) == 1 and the_alert(v.id).status == "delivered"


def test_no_channel_left_fails_the_alert_and_asks_the_next_candidate(client, auth, twilio, status_in, one_at_a_time):
    _, (v1, v2) = start(client, auth, count=2)
    (first,) = callouts()
    assert first.volunteer_id == v1.id
    status_in(first.provider_id, "undelivered")
    assert the_alert(v1.id).status == "failed"
    assert the_alert(v2.id) is not None and the_alert(v2.id).status == "queued"
    # Silence with no channel left is not a failure: the alert waits out its reply time.
    jobs.send_outbox()
    second = callouts()[-1]
    assert second.failover_at is None  # no channel to go on: no deadline to check
    assert alerting.fail_over_due(utcnow() + timedelta(hours=1)) == 0
    assert the_alert(v2.id).status == "sent"


def test_a_call_out_with_a_next_channel_has_a_deadline_and_one_without_has_none(client, auth, twilio, telegram):
    linked = link(factories.volunteer(km=1.0), CHAT, telegram)
    sms_only = factories.volunteer(km=2.0)
    factories.report(client, auth, [{"skill": None, "count": 1}])
    deadlines = {row.volunteer_id: row.failover_at for row in callouts()}
    assert deadlines[linked.id] is not None and deadlines[sms_only.id] is None
    jobs.send_outbox()
    deadlines = {row.volunteer_id: row.failover_at for row in callouts()}
    assert deadlines[linked.id] is not None and deadlines[sms_only.id] is None


def test_a_late_report_on_the_first_call_out_after_failover_doubles_nothing(
    client, auth, twilio, fallback, status_in, one_at_a_time
):
    _, (v,) = start(client, auth)
    (first,) = callouts()
    alerting.fail_over_due(first.failover_at + timedelta(seconds=1))
    jobs.send_outbox()
    status_in(first.provider_id, "failed")  # late: the call-out went on already
    assert len(callouts()) == 2
    status_in(first.provider_id, "delivered")  # older news than failed: ignored
    jobs.send_outbox()
    assert len(twilio.messages) == 1 and len(fallback.messages) == 1
    assert the_alert(v.id).status == "sent"


def test_a_late_delivered_report_stops_a_failover_still_queued(
    client, auth, twilio, fallback, status_in, one_at_a_time
):
    _, (v,) = start(client, auth)
    (first,) = callouts()
    alerting.fail_over_due(first.failover_at + timedelta(seconds=1))
    status_in(first.provider_id, "delivered")  # it did arrive after all
    jobs.send_outbox()
    assert fallback.messages == []
    assert callouts()[-1].status == "cancelled"
    assert the_alert(v.id).status == "delivered"


def test_a_call_out_stuck_behind_a_provider_outage_moves_instead_of_going_twice(
    client, auth, twilio, fallback, one_at_a_time
):
    twilio.down()
    _, (v,) = start(client, auth)
    (first,) = callouts()
    assert first.status == "pending" and first.attempts == 1
    alerting.fail_over_due(first.failover_at + timedelta(seconds=1))
    rows = callouts()
    assert [(route(r), r.status) for r in rows] == [("sms:main", "cancelled"), ("sms:fallback", "pending")]
    twilio.up()
    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()
    jobs.send_outbox()
    assert twilio.messages == [] and len(fallback.messages) == 1
    assert the_alert(v.id).status == "sent"


def test_telegram_first_then_sms_when_the_bot_is_blocked(client, auth, telegram, run_telegram, sms, one_at_a_time):
    v = link(factories.volunteer(km=1.0), CHAT, telegram)
    telegram.block(CHAT)
    factories.report(client, auth, [{"skill": None, "count": 1}])
    run_telegram()
    rows = callouts()
    assert [(route(r), r.status) for r in rows] == [("telegram:main", "failed"), ("sms:main", "pending")]
    jobs.send_outbox()
    assert [m.to for m in sms.sent] == [v.phone] and "/r/" in sms.sent[0].body
    assert the_alert(v.id).status == "sent"


def test_sms_preferred_falls_back_to_telegram_when_the_sms_fails(
    client, auth, twilio, telegram, run_telegram, status_in, one_at_a_time
):
    v = link(factories.volunteer(km=1.0), CHAT, telegram)
    v.preferred_channel = "sms"
    db.session.commit()
    factories.report(client, auth, [{"skill": None, "count": 1}])
    jobs.send_outbox()
    (first,) = callouts()
    status_in(first.provider_id, "failed")
    run_telegram()
    assert [(route(r), r.status) for r in callouts()] == [("sms:main", "failed"), ("telegram:main", "delivered")]
    assert the_alert(v.id).status == "delivered"  # the Bot API took it


def test_a_provider_failing_in_a_row_is_skipped_until_a_send_after_its_cool_down_succeeds(
    client, auth, twilio, fallback, one_at_a_time
):
    twilio.down()
    for i in range(provider_health.FAILURES_TO_SKIP):
        factories.volunteer(km=1 + i)
    factories.report(client, auth, [{"skill": None, "count": provider_health.FAILURES_TO_SKIP}])
    jobs.send_outbox()
    health = db.session.get(ProviderHealth, "twilio")
    assert health.consecutive_failures == provider_health.FAILURES_TO_SKIP
    assert provider_health.down_providers() == {"twilio"}
    # A new call-out goes to the fallback at once.
    late = factories.volunteer(km=0.5)
    factories.report(client, auth, [{"skill": None, "count": 1}], title="Second")
    assert [route(r) for r in callouts() if r.volunteer_id == late.id] == ["sms:fallback"]
    jobs.send_outbox()
    assert [m.phone_numbers for m in fallback.messages] == [[late.phone]]
    # After the cool-down the next send is the probe; it succeeds, and Twilio is used again.
    twilio.up()
    cooled = utcnow() - timedelta(seconds=provider_health.COOL_DOWN_S + 1)
    db.session.execute(update(ProviderHealth).values(last_failure_at=cooled))
    db.session.commit()
    assert provider_health.down_providers() == set()
    third = factories.volunteer(km=0.3)
    factories.report(client, auth, [{"skill": None, "count": 1}], title="Third")
    assert [route(r) for r in callouts() if r.volunteer_id == third.id] == ["sms:main"]
    jobs.send_outbox()
    assert third.phone in [m["to"] for m in twilio.messages]
    db.session.expire_all()
    assert db.session.get(ProviderHealth, "twilio").consecutive_failures == 0


def test_a_bad_number_is_not_the_providers_failure(client, auth, twilio, one_at_a_time):
    twilio.fail_next(400, code=21211)
    start(client, auth, count=2)
    health = db.session.get(ProviderHealth, "twilio")
    assert health.consecutive_failures == 0 and health.last_success_at is not None


def test_the_deadline_is_in_the_row_a_new_scheduler_process_keeps_it(
    client, auth, twilio, fallback, one_at_a_time, migrated_app
):
    _, (v,) = start(client, auth)
    # Time passes while no scheduler runs; another process starts and its dispatch tick acts.
    db.session.execute(update(OutboxMessage).values(failover_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    url = migrated_app.config["DATABASE_URL"]
    settings = dict(
        SMS_FALLBACK_BACKEND="smsgate",
        SMSGATE_URL=fallback.base_url,
        SMSGATE_USERNAME=fallback.username,
        SMSGATE_PASSWORD=fallback.password,
        SMSGATE_SIGNING_KEY=fallback.signing_key,
    )
    other = create_app(TestConfig.for_database(url, **settings))
    with other.app_context():
        assert jobs.dispatch_tick()["failed_over"] == 1
        assert jobs.dispatch_tick()["failed_over"] == 0
        jobs.send_outbox()
        db.session.remove()
    with other.app_context():
        db.engine.dispose()
    assert [route(r) for r in callouts()] == ["sms:main", "sms:fallback"]
    assert [m.phone_numbers for m in fallback.messages] == [[v.phone]]


def test_a_reply_through_the_fallbacks_webhook_counts_once(
    client, auth, twilio, fallback, status_in, smsgate_in, one_at_a_time
):
    _, (v,) = start(client, auth)
    status_in(callouts()[0].provider_id, "failed")
    jobs.send_outbox()
    event = fallback.received_event(v.phone.lstrip("+"), "YES 15")
    assert smsgate_in(event).status_code == 200
    assert smsgate_in(event).status_code == 200  # the same event again
    assert the_alert(v.id).status == "accepted"
    need = db.session.scalar(select(Alert.filled_need_id).where(Alert.volunteer_id == v.id))
    assert need is not None
    assert db.session.get(Need, need).filled == 1


def test_healthz_detail_and_the_console_show_each_provider(client, auth, twilio, fallback, status_in, one_at_a_time):
    _, (v,) = start(client, auth)
    status_in(callouts()[0].provider_id, "delivered")
    plain = client.get("/healthz").get_json()
    assert plain["status"] == "ok" and "providers" not in plain
    detail = client.get("/healthz?detail=1").get_json()
    assert detail["status"] == "ok"
    by_provider = {p["provider"]: p for p in detail["providers"]}
    assert by_provider["twilio"]["role"] == "sms" and by_provider["smsgate"]["role"] == "sms_fallback"
    assert by_provider["twilio"]["state"] == "ok" and by_provider["twilio"]["delivery_ratio"] == 1.0
    assert (by_provider["twilio"]["delivered"], by_provider["twilio"]["reported"]) == (1, 1)
    assert by_provider["smsgate"]["reported"] == 0 and by_provider["smsgate"]["delivery_ratio"] is None
    assert "last_error" not in by_provider["twilio"]  # public: no error text


def test_each_failure_kind_is_recorded_with_its_error_and_numbers_masked(app):
    for _ in range(2):
        provider_health.record_attempt("twilio", SmsAmbiguous("no answer sending to +77011234567"))
    db.session.commit()
    row = db.session.get(ProviderHealth, "twilio")
    assert row.consecutive_failures == 2 and "+77011234567" not in row.last_error
    provider_health.record_attempt("twilio", None)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ProviderHealth, "twilio").consecutive_failures == 0


def test_while_the_main_provider_is_skipped_other_sms_go_through_the_fallback(
    client, auth, twilio, fallback, text_in, one_at_a_time
):
    _, (v,) = start(client, auth)
    for _ in range(provider_health.FAILURES_TO_SKIP):
        provider_health.record_attempt("twilio", SmsRetryable("connection refused"))
    db.session.commit()
    assert text_in(v.phone, "YES").status_code == 200
    confirmation = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    assert confirmation.route == "fallback"
    jobs.send_outbox()
    assert [m.phone_numbers for m in fallback.messages] == [[v.phone]]
