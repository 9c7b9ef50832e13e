"""Production mode over real HTTP: `gunicorn -w 2` and a `flask --app wsgi scheduler` process on
a fresh database, SMS through a loopback FakeTwilio. The happy path, then the fault drills: a
web worker killed mid-burst, the scheduler killed mid-dispatch, the SMS provider down,
PostgreSQL restarted. After each: every SMS went out exactly once (or, where a crash cut a
send between the provider's answer and our record, re-sent and counted as ambiguous), no need
over-filled, no reply lost.

Drill timings are printed with a DRILL prefix (`pytest -s tests/production` shows them).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from config import normalize_database_url

from .drills import (
    ALMATY,
    ASTANA,
    alert_sms_count,
    alerts,
    check_each_sms_once,
    check_needs,
    check_replies_stored_once,
    drill,
    incident,
    phone,
    post_incident,
    register_bulk,
    wait_drained,
    with_retries,
)
from .stack import wait_for

pytestmark = pytest.mark.slow


# -- the happy path ---------------------------------------------------------------------------


def test_an_incident_is_staffed_over_http_and_every_sms_goes_out_once(stack):
    phones = []
    for i in range(8):
        response = stack.api(
            "POST",
            "/api/v1/volunteers",
            stack.token,
            json={
                "name": f"Responder {i}",
                "phone": phone("701", i),
                "lat": ASTANA[0] + i * 0.001,
                "lon": ASTANA[1],
                "skills": ["first_aid"],
                "language": ("kk", "ru", "en")[i % 3],
                "max_distance_km": 30,
            },
        )
        assert response.status_code == 201, response.text
        phones.append(response.json()["phone"])
    assert (
        stack.api(
            "POST",
            "/api/v1/volunteers",
            stack.token,
            json={"name": "Again", "phone": phones[0], "lat": 51.0, "lon": 71.0, "skills": [], "language": "en"},
        ).json()["error"]["code"]
        == "DUPLICATE_PHONE"
    )

    started = time.monotonic()
    created = post_incident(stack, [{"skill": "first_aid", "count": 2}])  # ceil(2 / 0.35) = 6 alerts
    assert created["status"] == "dispatching"
    assert stack.fake.wait_for_messages(6, 15), f"{len(stack.fake.messages)} of 6 alerts reached Twilio"
    assert wait_for(lambda: {a["status"] for a in alerts(stack, created["id"])} == {"sent"}, 10)
    drill(f"happy path: 6 alerts at the provider {time.monotonic() - started:.2f} s after the POST")
    alerted = [a["phone"] for a in alerts(stack, created["id"])]
    assert len(alerted) == 6 and set(alerted) <= set(phones)

    # Twilio reports the first one delivered (a signed status callback).
    first = next(m for m in stack.fake.messages if m["to"] == alerted[0])
    assert stack.sms_status(first["sid"], "delivered").status_code == 200
    assert wait_for(lambda: alerts(stack, created["id"])[0]["status"] == "delivered", 5)

    # Unsigned: refused, nothing stored.
    forged = requests.post(
        stack.base_url + "/sms/inbound", data={"MessageSid": "SMforged", "From": alerted[1], "Body": "YES"}, timeout=10
    )
    assert forged.status_code == 403
    # Two volunteers say yes (one in Russian, with an ETA); Twilio delivers the first one twice.
    yes = stack.sms_in(alerted[1], "YES", sid="SM" + "1" * 32)
    assert yes.status_code == 200 and yes.headers["Content-Type"].startswith("text/xml")
    assert stack.sms_in(alerted[1], "YES", sid="SM" + "1" * 32).status_code == 200
    assert stack.sms_in(alerted[2], f"да {created['code']} 15", sid="SM" + "2" * 32).status_code == 200

    staffed = wait_for(lambda: (d := incident(stack, created["id"]))["status"] == "staffed" and d, 10)
    assert staffed, incident(stack, created["id"])
    assert staffed["needs"] == [{"skill": "first_aid", "count": 2, "filled": 2}]
    assert sorted(r["eta_min"] or 0 for r in staffed["responders"]) == [0, 15]
    statuses = Counter(a["status"] for a in alerts(stack, created["id"]))
    assert statuses == {"accepted": 2, "stood_down": 4}

    # 6 alerts + 2 confirmations + 4 stand-downs, each once.
    assert stack.fake.wait_for_messages(12, 15), f"{len(stack.fake.messages)} of 12 SMS reached Twilio"
    wait_drained(stack, 10)
    ledger = check_each_sms_once(stack)
    assert ledger.kinds() == {"alert": 6, "confirmation": 2, "stand_down": 4}
    assert set(ledger.to("confirmation")) == {alerted[1], alerted[2]}
    assert set(ledger.to("stand_down")) == set(alerted) - {alerted[1], alerted[2]}
    assert len(stack.fake.messages) == 12
    assert stack.scalar("SELECT count(*) FROM inbound") == 2  # Twilio's repeat was handled once
    check_needs(stack)


# -- fault drills ------------------------------------------------------------------------------


def test_a_web_worker_killed_mid_burst_is_replaced_and_nothing_is_lost(stack):
    register_bulk(stack, 40, "702")
    created = post_incident(stack, [{"skill": None, "count": 10}])  # 29 alerts
    assert wait_for(lambda: alert_sms_count(stack) >= 29, 15)
    alerted = [a["phone"] for a in alerts(stack, created["id"])]

    # The burst: 120 registrations (far away, so not alerted), a YES or NO from every alerted
    # volunteer, reads; 8 clients at once on 2 workers, a worker killed a quarter of the way in.
    jobs = [("register", i) for i in range(120)]
    jobs += [("reply", p, "YES" if i % 3 == 0 else "NO") for i, p in enumerate(alerted)]
    jobs += [("health", i) for i in range(40)] + [("read", i) for i in range(20)]
    random.Random(11).shuffle(jobs)
    sids = {job: "SM" + f"{i:032x}" for i, job in enumerate(jobs) if job[0] == "reply"}

    def run(job):
        started = time.monotonic()
        if job[0] == "register":
            response, retries = with_retries(
                lambda: stack.api(
                    "POST",
                    "/api/v1/volunteers",
                    stack.token,
                    json={
                        "name": f"Late {job[1]}",
                        "phone": phone("707", job[1]),
                        "lat": ALMATY[0],
                        "lon": ALMATY[1],
                        "skills": ["first_aid"],
                        "language": "ru",
                    },
                )
            )
            # A retry after a cut connection may find the first attempt committed.
            ok = response.status_code == 201 or (retries and response.status_code == 409)
        elif job[0] == "reply":
            response, retries = with_retries(lambda: stack.sms_in(job[1], job[2], sid=sids[job]))
            ok = response.status_code == 200
        elif job[0] == "health":
            response, retries = with_retries(lambda: stack.api("GET", "/healthz"))
            ok = response.status_code == 200
        else:
            response, retries = with_retries(
                lambda: stack.api("GET", f"/api/v1/incidents/{created['id']}", stack.token)
            )
            ok = response.status_code == 200
        return job, ok, response.status_code, retries, started, time.monotonic()

    before = stack.worker_pids()
    assert len(before) == 2
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        assert wait_for(lambda: sum(f.done() for f in futures) >= len(jobs) // 4, 30, 0.01)
        victim = before[0]
        killed_at = time.monotonic()
        stack.kill(victim)
        respawned = wait_for(lambda: (p := stack.worker_pids()) and len(p) == 2 and victim not in p and p, 15, 0.05)
        respawn_s = time.monotonic() - killed_at
        results = [f.result(timeout=60) for f in futures]
    assert respawned, f"gunicorn did not replace worker {victim}: {stack.worker_pids()}"

    failed = [(r[0], r[2]) for r in results if not r[1]]
    assert failed == [], failed
    retried = sum(r[3] for r in results)
    after_kill = [r for r in results if r[4] > killed_at]
    assert after_kill, "nothing was asked after the kill"
    first_answer_s = min(r[5] for r in after_kill) - killed_at
    drill(
        f"web worker kill -9: replaced in {respawn_s:.2f} s, first answer after the kill in "
        f"{first_answer_s:.2f} s, {len(after_kill)} requests after it, {retried} retried after a cut "
        f"connection, {len(jobs)} requests, 0 failed"
    )

    assert stack.scalar("SELECT count(*) FROM volunteers WHERE phone LIKE '+7707%'") == 120
    check_replies_stored_once(stack, list(sids.values()))
    assert stack.scalar("SELECT count(*) FROM inbound") == len(sids)
    wait_drained(stack, 20)
    check_needs(stack)
    check_each_sms_once(stack)


def test_the_scheduler_killed_mid_dispatch_is_replaced_and_every_alert_goes_out(stack):
    register_bulk(stack, 70, "705")
    created = post_incident(stack, [{"skill": None, "count": 20}])  # ceil(20 / 0.35) = 58 alerts
    # The request queues the first alerting.WAVE_BATCH, the scheduler's tick the rest.
    assert wait_for(lambda: len(alerts(stack, created["id"])) == 58, 15)
    expected = {a["phone"] for a in alerts(stack, created["id"])}
    assert len(expected) == 58
    assert stack.fake.wait_for_messages(5, 15), "the scheduler sent nothing"
    first = stack.schedulers[0]
    first.kill()  # SIGKILL, mid-dispatch
    first.wait(10)
    killed_at = time.monotonic()
    at_kill = len(stack.fake.messages)
    leased = stack.scalar("SELECT count(*) FROM outbox WHERE status = 'sending'")
    stack.start_scheduler()

    assert wait_for(lambda: {m["to"] for m in stack.fake.messages} >= expected, 50, 0.2), (
        f"{len({m['to'] for m in stack.fake.messages})} of {len(expected)} alerted"
    )
    all_out_s = time.monotonic() - killed_at
    wait_drained(stack, 10)
    ledger = check_each_sms_once(stack, faults=True)
    assert {m["to"] for m in stack.fake.messages} == expected
    assert ledger.kinds() == {"alert": 58}
    # Each row the dead scheduler held was taken over after its lease and counted as ambiguous.
    assert ledger.ambiguous >= leased
    assert Counter(a["status"] for a in alerts(stack, created["id"])) == {"sent": 58}
    drill(
        f"scheduler kill -9 after {at_kill} of 58 alerts: {leased} rows held under lease, all 58 out "
        f"{all_out_s:.1f} s after the kill (lease 20 s), {len(ledger.extra)} re-sent, "
        f"{ledger.ambiguous} ambiguous attempts counted"
    )


OUTAGE_S = 60


def test_sms_provider_down_for_a_minute_then_back_every_alert_goes_out_once(stack):
    register_bulk(stack, 40, "747")
    stack.fake.down()  # 503 to everything
    down_at = time.monotonic()
    created = post_incident(stack, [{"skill": None, "count": 10}])  # 29 alerts
    assert stack.fake.wait_for_requests(29, 10), "nothing tried to send during the outage"
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    refused = len(stack.fake.requests)
    # Held back by the outage: not sent, not expired, not failed, not replaced.
    statuses = Counter(a["status"] for a in alerts(stack, created["id"]))
    assert statuses == {"queued": 29}, statuses
    assert stack.fake.messages == []
    stack.fake.up()
    up_at = time.monotonic()

    # Backoff is capped at 30 s (outbox.BACKOFF_MAX_S): all go within that, plus a tick.
    assert wait_for(lambda: alert_sms_count(stack) >= 29, 45, 0.2), f"{alert_sms_count(stack)} of 29 sent"
    all_out_s = time.monotonic() - up_at
    wait_drained(stack, 10)
    ledger = check_each_sms_once(stack, faults=True)
    assert ledger.extra == []  # a 503 creates nothing: each alert went out exactly once
    assert ledger.kinds() == {"alert": 29} and len(stack.fake.messages) == 29
    assert len({m["to"] for m in stack.fake.messages}) == 29
    assert Counter(a["status"] for a in alerts(stack, created["id"])) == {"sent": 29}
    drill(
        f"SMS provider down {up_at - down_at:.1f} s: {refused} sends refused with 503, all 29 alerts out "
        f"{all_out_s:.1f} s after it came back, each once"
    )


def _cluster_for_port(port: int) -> tuple[str, str]:
    """(version, name) of the local cluster on this port, from pg_lsclusters."""
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            return fields[0], fields[1]
    return "15", "main"


def _pg_ready(host: str, port: int) -> bool:
    return subprocess.run(["pg_isready", "-h", host, "-p", str(port), "-q"]).returncode == 0


@pytest.mark.postgres
def test_postgresql_restarted_mid_run_the_service_recovers_and_nothing_is_lost(stack):
    assert shutil.which("pg_ctlcluster"), "pg_ctlcluster is needed to restart PostgreSQL"
    url = urlsplit(normalize_database_url(stack.database_url))
    host, port = url.hostname or "127.0.0.1", url.port or 5432
    version, cluster = _cluster_for_port(port)
    register_bulk(stack, 60, "771")
    register_bulk(stack, 15, "775", at=ALMATY)
    first = post_incident(stack, [{"skill": None, "count": 15}])  # 43 alerts
    assert stack.fake.wait_for_messages(3, 15)

    # Readers keep asking all through the restart (bounded: at most 600 requests, 60 s).
    answers: list[tuple[float, int | None]] = []
    stop = threading.Event()

    def keep_asking():
        for _ in range(600):
            if stop.is_set():
                return
            try:
                status = stack.api("GET", "/healthz", timeout_s=5).status_code
            except requests.RequestException:
                status = None
            answers.append((time.monotonic(), status))
            time.sleep(0.1)

    reader = threading.Thread(target=keep_asking, daemon=True)
    reader.start()
    restarted_at = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert wait_for(lambda: _pg_ready(host, port), 30, 0.2), "PostgreSQL did not come back"
    ready_at = time.monotonic()
    assert wait_for(lambda: any(t > ready_at and s == 200 for t, s in answers), 15, 0.1), answers[-10:]
    web_back_at = min(t for t, s in answers if t > ready_at and s == 200)
    stop.set()
    reader.join(10)
    errors = sum(1 for t, s in answers if t >= restarted_at and s != 200)

    # After it: replies and a new incident work, and the first incident's alerts all went out.
    alerted = [a["phone"] for a in alerts(stack, first["id"])]
    sids = []
    for i, p in enumerate(alerted[:20]):
        sid = "SM" + f"{i + 1:032x}"
        response, _ = with_retries(lambda: stack.sms_in(p, "YES" if i % 2 else "NO", sid=sid))
        assert response.status_code == 200, response.text
        sids.append(sid)
    second = post_incident(stack, [{"skill": None, "count": 3}], at=ALMATY, title="After the restart")
    assert len(alerts(stack, second["id"])) == 9
    wait_drained(stack, 45)
    ledger = check_each_sms_once(stack, faults=True)
    expected = {a["phone"] for i in (first["id"], second["id"]) for a in alerts(stack, i)}
    assert {m["to"] for m in stack.fake.messages} >= expected
    check_replies_stored_once(stack, sids)
    check_needs(stack)
    drill(
        f"PostgreSQL restart: server back after {ready_at - restarted_at:.1f} s, web answering "
        f"{web_back_at - ready_at:.2f} s later, {errors} failed health checks in between; "
        f"{len(ledger.sent)} SMS sent, {len(ledger.extra)} re-sent, {ledger.ambiguous} ambiguous"
    )
