"""The primary PostgreSQL server is lost mid-run and its synchronous standby promoted: the
production stack (gunicorn + scheduler, DATABASE_URL listing both hosts) carries on by itself and
nothing it had answered for is lost. Two servers of the test's own; the machine's is untouched."""

from __future__ import annotations

import time

import pytest
import requests

from tests.fakes.twilio_server import FakeTwilio

from .drills import (
    alerts,
    check_each_sms_once,
    check_needs,
    check_replies_stored_once,
    drill,
    post_incident,
    register_bulk,
    wait_drained,
    with_retries,
)
from .pg_pair import PgPair
from .stack import ProductionStack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def healthy(stack: ProductionStack) -> bool:
    try:
        return stack.api("GET", "/healthz", timeout_s=5).status_code == 200
    except requests.RequestException:
        return False


def test_primary_lost_standby_promoted_the_service_carries_on_and_loses_nothing(tmp_path):
    pair = PgPair()
    stack = None
    with FakeTwilio() as fake:
        try:
            pair.start("dispatch")
            stack = ProductionStack(
                pair.url("dispatch"), fake, tmp_path / "logs", workers=2, sms_per_second=50, tick_s=0.5
            )
            stack.migrate()
            stack.token = stack.create_user("coordinator@failover.test", "coordinator")
            stack.start_web()
            stack.start_scheduler()
            register_bulk(stack, 40, "776")
            incident = post_incident(stack, [{"skill": None, "count": 6}])  # 18 alerts
            assert fake.wait_for_messages(18, 30), len(fake.messages)
            alerted = [a["phone"] for a in alerts(stack, incident["id"])]
            sids = [f"SM{i + 1:032x}" for i in range(6)]
            for p, sid in zip(alerted[:3], sids[:3]):
                assert stack.sms_in(p, "YES", sid=sid).status_code == 200

            # The primary dies the moment those acceptances were answered; the standby takes over.
            crashed_at = time.monotonic()
            pair.crash_primary()
            pair.promote_standby()
            promoted_at = time.monotonic()
            assert wait_for(lambda: healthy(stack), 30, 0.1), stack.log_tail("gunicorn.log")
            web_back_at = time.monotonic()

            # What was answered before the crash is there: synchronous replication lost nothing.
            accepted = {a["phone"] for a in alerts(stack, incident["id"]) if a["status"] == "accepted"}
            assert accepted == set(alerted[:3])
            # And the service goes on: more replies, the confirmations and stand-downs go out.
            for p, sid in zip(alerted[3:6], sids[3:]):
                response, _ = with_retries(lambda: stack.sms_in(p, "YES", sid=sid))
                assert response.status_code == 200, response.text
            wait_drained(stack, 60)
            statuses = {a["phone"]: a["status"] for a in alerts(stack, incident["id"])}
            assert {p for p, s in statuses.items() if s == "accepted"} == set(alerted[:6])
            assert stack.scalar("SELECT pg_is_in_recovery()") is False
            assert stack.scalar("SELECT inet_server_port()") == pair.standby_port
            ledger = check_each_sms_once(stack, faults=True)
            assert {r.to_phone for r in ledger.sent if r.kind == "confirmation"} == set(alerted[:6])
            check_replies_stored_once(stack, sids)
            check_needs(stack)
            drill(
                f"PostgreSQL failover: primary crashed, standby promoted in {promoted_at - crashed_at:.1f} s, "
                f"web answering {web_back_at - promoted_at:.2f} s later; 3 acceptances from before the crash "
                f"kept, 3 after; {len(ledger.sent)} SMS sent, {len(ledger.extra)} re-sent, "
                f"{ledger.ambiguous} ambiguous"
            )
        finally:
            if stack is not None:
                stack.stop()
            pair.stop()
