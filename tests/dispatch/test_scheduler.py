"""The scheduler as a real process, twice at once, killed mid-run; and embedded, woken by commits."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import PROJECT_ROOT, TestConfig
from dispatch import create_app
from dispatch.extensions import db
from notifications.gateway import MemoryGateway
from tests.fakes.twilio_server import FakeTwilio

from .factories import report, swimmers

FLASK = str(Path(sys.executable).parent / "flask")


def scheduler_process(database_url: str, fake: FakeTwilio) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMS_", "SCHEDULER_"))},
        "DATABASE_URL": database_url,
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE_URL": fake.base_url,
        "SCHEDULER_TICK_S": "0.3",
        "SMS_MAX_PER_SECOND": "20",
    }
    return subprocess.Popen(
        [FLASK, "--app", "wsgi", "scheduler"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.slow
def test_two_scheduler_processes_one_killed_mid_run_send_each_sms_exactly_once(client, auth, migrated_app):
    people = swimmers(40)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 10}])  # 29 alerts
    expected = {v.phone for v in people[:29]}
    db.session.remove()
    url = migrated_app.config["DATABASE_URL"]
    with FakeTwilio() as fake:
        first, second = scheduler_process(url, fake), scheduler_process(url, fake)
        try:
            assert wait_for(lambda: len(fake.messages) >= 5, 30), "no scheduler sent anything"
            first.send_signal(signal.SIGKILL)  # a crash in the middle of the dispatch
            assert wait_for(lambda: len(fake.messages) >= 29, 60), f"only {len(fake.messages)} sent"
            time.sleep(1.0)  # anything doubled would show up now
        finally:
            for proc in (first, second):
                proc.kill()
                proc.wait(10)
        phones = [m["to"] for m in fake.messages]
    # Exactly once each, unless a send was cut by the kill between Twilio's answer and our
    # commit: such a row is re-sent when its lease ends and shows as an ambiguous attempt.
    assert set(phones) == expected
    from sqlalchemy import func, select

    from dispatch.models import OutboxMessage

    ambiguous = db.session.scalar(select(func.sum(OutboxMessage.ambiguous_attempts)))
    assert len(phones) - len(expected) <= (ambiguous or 0)
    assert incident["code"]


def test_the_embedded_scheduler_sends_right_after_a_commit(app, migrated_app):
    config = TestConfig.for_database(
        migrated_app.config["DATABASE_URL"],
        SCHEDULER_EMBEDDED="true",
        SCHEDULER_TICK_S="3600",
        SMS_MAX_PER_SECOND="1000",
    )
    embedded = create_app(config)
    gateway = MemoryGateway()
    embedded.extensions["sms_gateway"] = gateway
    db.session.remove()
    try:
        with embedded.app_context():
            time.sleep(0.5)  # let the first (immediate) tick pass
            from dispatch.users import create_user

            _, token = create_user("embedded@test.local", "coordinator")
            swimmers(3)
            db.session.remove()
        client = embedded.test_client()
        response = client.post(
            "/api/v1/incidents",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "kind": "flood",
                "title": "Wake test",
                "lat": 51.1694,
                "lon": 71.4491,
                "needs": [{"skill": "water_rescue", "count": 1}],
            },
        )
        assert response.status_code == 201
        # The tick is an hour away: only the after-commit wake-up can send these in time.
        assert wait_for(lambda: len(gateway.sent) == 3, 10)
    finally:
        embedded.extensions["scheduler"].shutdown(wait=True)
        with embedded.app_context():
            db.session.remove()
            db.engine.dispose()


def test_an_idle_tick_logs_nothing_at_info_and_a_busy_one_says_what_it_did(app, client, auth, sms, caplog):
    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.schedulers.background import BackgroundScheduler

    from dispatch import jobs, scheduler

    caplog.set_level(logging.DEBUG)
    ran: list[str] = []
    idle = BackgroundScheduler(daemon=True)
    scheduler._add_jobs(idle, app)  # both jobs run at once, then every SCHEDULER_TICK_S
    idle.add_listener(lambda event: ran.append(event.job_id), EVENT_JOB_EXECUTED)
    db.session.remove()
    idle.start()
    try:
        assert wait_for(lambda: len(ran) >= 2, 10), ran
    finally:
        idle.shutdown(wait=True)
    assert sorted(ran[:2]) == sorted([scheduler.DISPATCH_JOB, scheduler.SEND_JOB])
    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert info == [], [f"{r.name}: {r.getMessage()}" for r in info]
    idle_ticks = [r.getMessage() for r in caplog.records if r.name == "dispatch.scheduler"]
    assert sorted(idle_ticks) == [
        "dispatch_tick: {'expired': 0, 'failed_over': 0, 'alerted': 0, 'forgotten_statuses': 0, 'welfare_reminded': 0,"
        " 'welfare_overdue': 0, 'activity_closed': 0, 'warnings_expired': 0}",
        "send_tick: 0",
    ]

    caplog.clear()
    swimmers(2)
    report(client, auth, [{"skill": "water_rescue", "count": 1}])
    db.session.remove()  # the job runs in an app context (and a session) of its own
    scheduler.run_job(app, jobs.send_tick)
    assert len(sms.sent) == 2
    busy = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "dispatch.scheduler"]
    assert busy == [(logging.INFO, "send_tick: 2")]
