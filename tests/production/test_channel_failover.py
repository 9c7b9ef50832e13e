"""The primary SMS provider (SMS_BACKEND=twilio, a loopback FakeTwilio) goes down for a minute in
production mode (gunicorn + a scheduler process): every call-out still reaches its volunteer
through SMS_FALLBACK_BACKEND (a loopback FakeSmsGate), once per channel, and replies sent through
the fallback's webhook are applied once. FAILOVER_AFTER_S is 5 s here (120 by default), so the
drill does not wait two minutes for the silent call-outs to move."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest

from tests.fakes.smsgate_server import FakeSmsGate
from tests.fakes.twilio_server import FakeTwilio

from .drills import alerts, check_needs, drill, post_incident, register_bulk, wait_drained
from .stack import ProductionStack, fresh_database, wait_for

pytestmark = pytest.mark.slow

OUTAGE_S = 60.0
FAILOVER_AFTER_S = 5


def smsgate_post(stack: ProductionStack, event) -> int:
    return stack.api("POST", "/sms/smsgate", data=event.body, headers=event.headers).status_code


def provider_states(stack: ProductionStack) -> dict[str, str]:
    detail = stack.api("GET", "/healthz?detail=1").json()
    return {p["provider"]: p["state"] for p in detail["providers"]}


def test_primary_sms_down_for_a_minute_every_call_out_arrives_by_the_fallback_once(tmp_path):
    with (
        FakeTwilio() as twilio,
        FakeSmsGate() as smsgate,
        fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp_path, "chfail") as url,
    ):
        stack = ProductionStack(
            url,
            twilio,
            tmp_path / "logs",
            workers=2,
            sms_per_second=50,
            tick_s=0.5,
            SMS_FALLBACK_BACKEND="smsgate",
            SMSGATE_URL=smsgate.base_url,
            SMSGATE_USERNAME=smsgate.username,
            SMSGATE_PASSWORD=smsgate.password,
            SMSGATE_SIGNING_KEY=smsgate.signing_key,
            FAILOVER_AFTER_S=str(FAILOVER_AFTER_S),
        )
        try:
            stack.migrate()
            stack.token = stack.create_user("coordinator@channels.test", "coordinator")
            stack.start_web()
            stack.start_scheduler()
            phones = register_bulk(stack, 30, "705")

            twilio.down("503")
            down_at = time.monotonic()
            incident = post_incident(stack, [{"skill": None, "count": 3}])  # 9 call-outs
            alerted = [a["phone"] for a in alerts(stack, incident["id"])]
            assert len(alerted) == 9
            # Each goes on by the fallback: at once once Twilio has failed 5 in a row, else after
            # FAILOVER_AFTER_S in the outbox.
            assert smsgate.wait_for_messages(9, FAILOVER_AFTER_S + 20), len(smsgate.messages)
            reached_at = time.monotonic()
            assert provider_states(stack)["twilio"] == "down"

            # Three accept through the fallback phone's webhook, each event posted twice.
            for p in alerted[:3]:
                event = smsgate.received_event(p.lstrip("+"), "YES 20")
                assert smsgate_post(stack, event) == 200
                assert smsgate_post(stack, event) == 200
            # The phone reports the call-outs delivered.
            for message in smsgate.messages:
                assert smsgate_post(stack, smsgate.delivery_event(message.id, "sms:delivered")) == 200

            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            twilio.up()
            wait_drained(stack, 90)

            statuses = {a["phone"]: a for a in alerts(stack, incident["id"])}
            assert {p for p, a in statuses.items() if a["status"] == "accepted"} == set(alerted[:3])
            # Every alerted volunteer got the call-out once by SMSGate and never by Twilio.
            alert_texts = stack.query("SELECT to_phone, body FROM outbox WHERE kind = 'alert'")
            bodies = {body for _, body in alert_texts}
            by_fallback = Counter(m.phone_numbers[0] for m in smsgate.messages if m.text in bodies)
            assert by_fallback == Counter(set(alerted)), by_fallback
            assert not [m for m in twilio.messages if m["body"] in bodies]
            for a in statuses.values():
                providers = [d["provider"] for d in a["deliveries"] if d["status"] not in ("cancelled",)]
                assert len(providers) == len(set(providers)), a["deliveries"]
            # Nothing is left unsent or failed; each recorded send is at its provider, once.
            rows = stack.query("SELECT kind, status, provider, provider_id, to_phone FROM outbox")
            assert not [r for r in rows if r.status in ("pending", "claimed", "sending", "failed")]
            ids = Counter(r.provider_id for r in rows if r.provider_id)
            assert all(n == 1 for n in ids.values())
            smsgate_ids = {m.id for m in smsgate.messages}
            twilio_ids = {m["sid"] for m in twilio.messages}
            for r in rows:
                if r.provider_id:
                    assert r.provider_id in (smsgate_ids if r.provider == "smsgate" else twilio_ids), r
            confirmations = Counter(r.to_phone for r in rows if r.kind == "confirmation" and r.provider_id)
            assert confirmations == Counter(alerted[:3])
            # Replies applied once: three stored (the replays were not), the needs filled once.
            stored = stack.scalar("SELECT count(*) FROM inbound")
            assert stored == 3
            check_needs(stack)
            assert set(phones) >= set(alerted)
            assert wait_for(lambda: provider_states(stack)["smsgate"] == "ok", 5)
            detail = stack.api("GET", "/healthz?detail=1").json()
            ratio = {p["provider"]: p["delivery_ratio"] for p in detail["providers"]}
            assert ratio["smsgate"] == 1.0
            drill(
                f"primary SMS down {OUTAGE_S:.0f} s (FAILOVER_AFTER_S={FAILOVER_AFTER_S}): 9 call-outs all reached "
                f"by the fallback {reached_at - down_at:.1f} s after the outage began, 0 by both; "
                f"3 replies through the fallback applied once; {len(twilio.messages)} SMS by Twilio after it "
                f"came back, {len(smsgate.messages)} by SMSGate"
            )
        finally:
            stack.stop()
