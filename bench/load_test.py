"""Mass-event load test: the production stack under a national emergency, on PostgreSQL.

    make load                                    # full size, about 5-10 minutes
    LOAD_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/dispatch_load make load
    .venv/bin/python -m bench.load_test --volunteers 20000 --incidents 5   # a quick smoke run

What it does, all on 127.0.0.1 and all bounded (a fixed number of incidents, at most
--max-replies replies, a hard time limit; it stops by itself):
  1. (re)creates the database named by LOAD_DATABASE_URL (default dispatch_load), migrates it
     and bulk-inserts the bench/registry.py volunteers (200,000: 60% around the 16 largest
     cities) with COPY, then VACUUM ANALYZE (a freshly loaded table has no visibility map yet);
  2. starts `gunicorn -w 4` and one `flask --app wsgi scheduler`, DISPATCH_ENV=production,
     SMS_BACKEND=twilio pointed at a FakeTwilio running in this process, SMS_MAX_PER_SECOND=200,
     ALERT_TIMEOUT_S=36000 (no expiries to muddy the counts);
  3. opens 50 incidents within a minute (one every 1.2 s, from 8 client threads), spread over the
     16 cities, each needing 44 people of any skill, 17 first aiders and 9 4x4 drivers:
     ceil(44/.35) + ceil(17/.35) + ceil(9/.35) = 201 alerts in the first wave, about 10,050 in
     all, plus the few replacements for those who decline (silent volunteers keep their slots);
  4. answers as the volunteers would: every other alert that reaches the fake Twilio (chosen by
     a seeded hash) is answered 2-20 s later, YES (80%) or NO, in the language of the SMS and
     with the incident's code, signed like Twilio, from a pool of 16 threads at a steady
     --reply-rate per second: about 5,000 replies;
  5. waits until every SMS is out and every reply answered, then checks: every alert SMS sent
     exactly once (provider messages per outbox row and per alert), no need over-filled (filled
     <= count, accepted alerts == filled), no reply lost (every inbound MessageSid stored once),
     nothing left unsent; prints a table and exits 1 if a check fails.
The database is dropped at the end (--keep-db keeps it for a look).
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import queue
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import text

from config import normalize_database_url
from tests.fakes.twilio_server import FakeTwilio
from tests.production.stack import (
    ProductionStack,
    children_of,
    create_postgres_database,
    drop_postgres_database,
    is_postgres_url,
)

from .load_report import ALERT_REPLY_LINE, NEEDS, report, run_checks
from .profile_summary import summarize
from .registry import CITIES, volunteers

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/dispatch_load"
KINDS = ["flood", "fire", "earthquake", "storm", "search_rescue", "missing_person"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a live process has used (Linux /proc), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / hz, sum(ticks[:8]) / hz


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TappedTwilio(FakeTwilio):
    """FakeTwilio that also reports each message it creates, as it creates it. Connections are
    kept alive, as the real API keeps them."""

    def __init__(self) -> None:
        super().__init__(keep_alive=True)
        self.created: queue.Queue = queue.Queue()

    def _decide(self, req):
        status, body, delay_s = super()._decide(req)
        if status == 201:
            self.created.put((time.monotonic(), body["sid"], body["to"], body["body"]))
        return status, body, delay_s


# -- setup -----------------------------------------------------------------------------------


def seed_registry(stack: ProductionStack, count: int) -> float:
    """COPY `count` registry volunteers in; returns seconds. Then VACUUM ANALYZE."""
    started = time.perf_counter()
    bits = dict(stack.query("SELECT code, bit FROM skills"))
    now = datetime.now(UTC).replace(tzinfo=None)
    raw = stack.engine.raw_connection()
    try:
        connection = raw.driver_connection
        with connection.cursor() as cursor:
            columns = (
                "name, phone, lat, lon, skill_mask, language, max_distance_km, available, "
                "status, created_at, updated_at"
            )
            with cursor.copy(f"COPY volunteers ({columns}) FROM STDIN") as copy:
                for v in volunteers(count):
                    mask = sum(1 << bits[s] for s in v["skills"])
                    copy.write_row(
                        (
                            v["name"],
                            v["phone"],
                            v["lat"],
                            v["lon"],
                            mask,
                            v["language"],
                            v["max_distance_km"],
                            True,
                            "active",
                            now,
                            now,
                        )
                    )
        connection.commit()
    finally:
        raw.close()
    with stack.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE volunteers"))
    return time.perf_counter() - started


def incident_plan(count: int, seed: int = 7) -> list[dict]:
    """`count` incidents over the 16 cities (the largest first), a couple of km off centre."""
    rng = random.Random(seed)
    by_size = sorted(CITIES, key=lambda c: -c[3])
    plan = []
    for i in range(count):
        name, lat, lon, _ = by_size[i % len(by_size)]
        lat += rng.gauss(0, 2) / 111.32
        lon += rng.gauss(0, 2) / (111.32 * math.cos(math.radians(lat)))
        plan.append(
            {
                "kind": KINDS[i % len(KINDS)],
                "title": f"{name}: mass event #{i + 1}",
                "lat": round(lat, 5),
                "lon": round(lon, 5),
                "radius_km": 10,
                "max_radius_km": 50,
                "severity": "severe",
                "needs": [{"skill": skill, "count": n} for skill, n in NEEDS],
            }
        )
    return plan


# -- the event -------------------------------------------------------------------------------


@dataclass
class Posted:
    index: int
    started: float
    seconds: float
    status: int
    incident_id: int | None = None
    code: str | None = None


@dataclass
class Reply:
    sid: str
    to: str
    body: str
    code: str
    yes: bool
    started: float = 0.0
    seconds: float = 0.0
    status: int | None = None
    error: str | None = None


@dataclass
class Event:
    stack: ProductionStack
    fake: TappedTwilio
    args: argparse.Namespace
    deadline: float
    posted: list[Posted] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    created: list[tuple[float, str, str, str]] = field(default_factory=list)  # every SMS the fake created
    alert_arrivals: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    skipped_replies: int = 0

    def __post_init__(self) -> None:
        self._due: list[tuple[float, int, Reply]] = []
        self._due_lock = threading.Lock()
        self._sequence = 0
        self._in_flight = 0
        self._stop = threading.Event()
        self._replies_pool = ThreadPoolExecutor(self.args.reply_threads, thread_name_prefix="reply")
        self._incidents_pool = ThreadPoolExecutor(8, thread_name_prefix="incident")

    # The volunteers: each alert SMS that arrives may be answered a little later.
    def _tap(self) -> None:
        while not self._stop.is_set() or not self.fake.created.empty():
            try:
                at, sid, to, body = self.fake.created.get(timeout=0.2)
            except queue.Empty:
                continue
            self.created.append((at, sid, to, body))
            match = ALERT_REPLY_LINE.search(body)
            if match is None:
                continue
            yes_word, code, no_word = match.groups()
            self.alert_arrivals[code].append(at)
            rng = random.Random(zlib.crc32(f"{to}/{code}".encode()))
            if rng.random() >= self.args.reply_share:
                continue
            if len(self.replies) >= self.args.max_replies:
                self.skipped_replies += 1
                continue
            yes = rng.random() < self.args.yes_share
            words = f"{yes_word} {code}" + (f" {rng.choice((10, 15, 30))}" if yes and rng.random() < 0.3 else "")
            reply = Reply("SM" + uuid.uuid4().hex, to, words if yes else f"{no_word} {code}", code, yes)
            self.replies.append(reply)
            with self._due_lock:
                self._sequence += 1
                heapq.heappush(self._due, (at + rng.uniform(2, 20), self._sequence, reply))

    def _send_replies(self) -> None:
        """Releases due replies to the pool, at most --reply-rate a second (a steady stream)."""
        interval = 1.0 / self.args.reply_rate
        next_free = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            with self._due_lock:
                ready = self._due and self._due[0][0] <= now and next_free <= now
                reply = heapq.heappop(self._due)[2] if ready else None
                if reply is not None:
                    self._in_flight += 1
            if reply is None:
                time.sleep(0.005)
                continue
            next_free = max(next_free + interval, now - 1.0)  # may catch up for at most 1 s
            self._replies_pool.submit(self._reply, reply)

    def _reply(self, reply: Reply) -> None:
        params = {
            "MessageSid": reply.sid,
            "AccountSid": self.fake.account_sid,
            "From": reply.to,
            "To": "+15005550006",
            "Body": reply.body,
            "NumMedia": "0",
        }
        reply.started = time.monotonic()
        try:
            response = self.stack.signed_post("/sms/inbound", params, timeout_s=60)
            reply.status = response.status_code
        except requests.RequestException as exc:
            reply.error = type(exc).__name__
        finally:
            reply.seconds = time.monotonic() - reply.started
            with self._due_lock:
                self._in_flight -= 1

    def _post_incident(self, index: int, body: dict) -> None:
        started = time.monotonic()
        try:
            response = self.stack.api("POST", "/api/v1/incidents", self.stack.token, json=body, timeout_s=120)
            status = response.status_code
            data = response.json() if status == 201 else {}
        except requests.RequestException:
            status, data = 0, {}
        self.posted.append(Posted(index, started, time.monotonic() - started, status, data.get("id"), data.get("code")))

    def idle(self) -> bool:
        with self._due_lock:
            waiting = bool(self._due) or self._in_flight > 0
        return not waiting and self.fake.created.empty()

    def run(self, plan: list[dict]) -> float:
        """Post the plan over --window-s, answer as alerts arrive, until everything is quiet."""
        threads = [
            threading.Thread(target=self._tap, name="tap", daemon=True),
            threading.Thread(target=self._send_replies, name="replies", daemon=True),
        ]
        for thread in threads:
            thread.start()
        self.started = time.monotonic()
        self.cpu_at_start = {
            "machine": machine_cpu(),
            "self": own_cpu(),
            "web": self._web_cpu(),
            "scheduler": self._scheduler_cpu(),
        }
        step = self.args.window_s / max(1, len(plan))
        for index, body in enumerate(plan):
            time.sleep(max(0.0, self.started + index * step - time.monotonic()))
            self._incidents_pool.submit(self._post_incident, index, body)
        self._incidents_pool.shutdown(wait=True)
        self.posted_by = time.monotonic()
        quiet_since, last_count = None, -1
        while time.monotonic() < self.deadline:
            time.sleep(1.0)
            outbox_busy = self.stack.scalar("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")
            count = len(self.created)
            if outbox_busy == 0 and self.idle() and count == last_count:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3.0:
                    break
            else:
                quiet_since = None
            last_count = count
            self._progress(outbox_busy)
        finished = time.monotonic()
        self.cpu_at_end = {
            "machine": machine_cpu(),
            "self": own_cpu(),
            "web": self._web_cpu(),
            "scheduler": self._scheduler_cpu(),
        }
        self._stop.set()
        for thread in threads:
            thread.join(5)
        self._replies_pool.shutdown(wait=True, cancel_futures=True)
        return finished

    def _web_cpu(self) -> float:
        master = self.stack.web.pid
        return cpu_seconds(master) + sum(cpu_seconds(pid) for pid in self.stack.worker_pids())

    def _scheduler_cpu(self) -> dict[str, float]:
        """CPU of each scheduler process by what it runs ("all", or "dispatch" and "send"): the
        scheduler itself, not a profiler it runs under (--profile)."""
        used: dict[str, float] = defaultdict(float)
        for role, proc in zip(self.stack.scheduler_roles, self.stack.schedulers, strict=True):
            pids = (proc.pid, *children_of(proc.pid))
            used[role] += sum(cpu_seconds(pid) for pid in pids if "py-spy" not in _command(pid))
        return used

    def cpu_used(self) -> dict[str, float]:
        """CPU seconds used during the event, by component, and the machine's busy share."""
        start, end = self.cpu_at_start, self.cpu_at_end
        busy = end["machine"][0] - start["machine"][0]
        total = end["machine"][1] - start["machine"][1]
        used = {k: end[k] - start[k] for k in ("web", "self")}
        roles = {f"scheduler_{role}": end["scheduler"][role] - start["scheduler"][role] for role in end["scheduler"]}
        used["scheduler"] = sum(roles.values())
        used.update(roles)
        used["machine_busy_share"] = busy / total if total else float("nan")
        used["other"] = busy - sum(used[k] for k in ("web", "scheduler", "self"))
        return used

    def _progress(self, outbox_busy: int) -> None:
        now = time.monotonic()
        if now - getattr(self, "_last_progress", 0) >= 10:
            self._last_progress = now
            answered = sum(1 for r in self.replies if r.status is not None or r.error)
            print(
                f"  t={now - self.started:5.0f}s  incidents {len(self.posted)}/{len(self.args.plan)}  "
                f"SMS at provider {len(self.created)}  outbox waiting {outbox_busy}  "
                f"replies {answered}/{len(self.replies)}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=200_000)
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--window-s", type=float, default=60.0, help="open the incidents within this many seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--sms-rate", type=float, default=200.0, help="SMS_MAX_PER_SECOND")
    parser.add_argument("--sms-concurrency", type=int, default=2, help="SMS_SEND_CONCURRENCY")
    parser.add_argument(
        "--senders",
        type=int,
        default=1,
        help="SMS senders: this many Twilio numbers in TWILIO_FROM_NUMBER, each paced at --sms-rate",
    )
    parser.add_argument(
        "--one-scheduler",
        dest="split",
        action="store_false",
        help="one `flask scheduler` for everything (default: a dispatcher, `--jobs dispatch,cap`, and "
        "a sender process, `--jobs send`, whose CPU per SMS is the sender target's)",
    )
    parser.add_argument("--reply-share", type=float, default=0.5, help="share of alerted volunteers who answer")
    parser.add_argument("--yes-share", type=float, default=0.8, help="share of answers that are YES")
    parser.add_argument("--reply-rate", type=float, default=50.0, help="replies per second at most")
    parser.add_argument("--reply-threads", type=int, default=16)
    parser.add_argument("--max-replies", type=int, default=8_000)
    parser.add_argument("--time-limit-s", type=float, default=840.0, help="the whole run, set-up included")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the scheduler under py-spy and sample the web workers (tools/requirements-dev.txt); "
        "top entries to bench/results/",
    )
    args = parser.parse_args(argv)
    run_started = time.monotonic()
    deadline = run_started + args.time_limit_s

    url = os.environ.get("LOAD_DATABASE_URL") or DEFAULT_DATABASE_URL
    if not is_postgres_url(url):
        parser.error("LOAD_DATABASE_URL must be a PostgreSQL URL (the load test runs 4 workers and a scheduler)")
    name = urlsplit(normalize_database_url(url)).path.lstrip("/")
    logs = Path(tempfile.mkdtemp(prefix="dispatch-load-"))
    print(f"database {name} (dropped and created), logs in {logs}", flush=True)
    url = create_postgres_database(url, name)
    ok = False
    try:
        with TappedTwilio() as fake:
            stack = ProductionStack(
                url,
                fake,
                logs,
                workers=args.workers,
                sms_per_second=args.sms_rate,
                tick_s=0.5,
                ALERT_TIMEOUT_S="36000",
                SMS_SEND_CONCURRENCY=str(args.sms_concurrency),
                TWILIO_FROM_NUMBER=",".join(f"+1500555{6 + i:04d}" for i in range(args.senders)),
            )
            try:
                stack.migrate()
                print(f"seeding {args.volunteers:,} volunteers ...", flush=True)
                seed_s = seed_registry(stack, args.volunteers)
                stack.token = stack.create_user("load@bench.local", "coordinator")
                stack.start_web()
                web_profile = _profile_web(stack, logs) if args.profile else None
                profiles = []  # (role, py-spy's raw file) of each profiled scheduler
                for jobs in ("dispatch,cap", "send") if args.split else (None,):
                    if args.profile:
                        profiles.append((jobs or "all", _profile_scheduler(stack, logs, jobs or "all")))
                    stack.start_scheduler(jobs)
                args.plan = incident_plan(args.incidents)
                print(
                    f"opening {args.incidents} incidents over {args.window_s:g} s; setup took "
                    f"{time.monotonic() - run_started:.0f} s",
                    flush=True,
                )
                event = Event(stack, fake, args, deadline)
                finished = event.run(args.plan)
                if web_profile is not None:
                    _write_web_profile(*web_profile, args)
                checks = run_checks(stack, event, finished < deadline)
                report(
                    stack,
                    event,
                    finished,
                    {"workers": args.workers, "volunteers": args.volunteers, "seed_s": seed_s},
                    checks,
                )
                ok = all(c.ok for c in checks)
                if profiles:
                    _write_profiles(stack, profiles, args)
            finally:
                stack.stop()
    finally:
        if not args.keep_db:
            drop_postgres_database(url, name)
    print(
        f"total {time.monotonic() - run_started:.0f} s; {'all checks passed' if ok else 'CHECKS FAILED'}"
        + ("" if ok else f"; logs kept in {logs}")
    )
    if ok:
        shutil.rmtree(logs, ignore_errors=True)
    return 0 if ok else 1


def _profile_scheduler(stack: ProductionStack, logs: Path, role: str) -> Path:
    """The next scheduler started runs under `py-spy record` (sampling from outside: the
    scheduler runs at full speed, py-spy's own CPU is not counted as the scheduler's)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        sys.exit("--profile needs py-spy: .venv/bin/pip install -r tools/requirements-dev.txt")
    raw = logs / f"scheduler-{role.split(',')[0]}.raw"
    stack.scheduler_prefix = [spy, "record", "--nonblocking", "--gil", "-r", "100", "--format", "raw"]
    stack.scheduler_prefix += ["-o", str(raw), "--"]
    return raw


def _profile_web(stack: ProductionStack, logs: Path) -> tuple[subprocess.Popen, Path]:
    """py-spy attached to gunicorn's master and its workers (--subprocesses), wall-clock
    (--idle: a request waiting for a lock or for PostgreSQL counts); stopped after the event."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = logs / "web.raw"
    command = [spy, "record", "--nonblocking", "--idle", "--subprocesses", "-r", "100", "--format", "raw"]
    command += ["-o", str(raw), "--pid", str(stack.web.pid)]
    with (logs / "py-spy-web.log").open("ab") as log:
        spy_process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    time.sleep(1.0)  # attached before the first request
    return spy_process, raw


def _write_web_profile(spy_process: subprocess.Popen, raw: Path, args: argparse.Namespace) -> None:
    """Stop the web sampler (py-spy writes its file on SIGINT) and write where the requests'
    wall time went (samples inside a request only) to bench/results/."""
    spy_process.send_signal(signal.SIGINT)
    try:
        spy_process.wait(60)
    except subprocess.TimeoutExpired:
        spy_process.kill()
        spy_process.wait(5)
    if not raw.exists():
        print("web profile: py-spy wrote nothing", flush=True)
        return
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"web-profile-{datetime.now(UTC):%Y%m%d-%H%M%S}.txt"
    head = (
        f"py-spy of the gunicorn workers under make load (wall time inside requests, waits included): "
        f"{args.volunteers:,} volunteers, {args.incidents} incidents, --senders {args.senders}\n"
    )
    out.write_text(head + summarize(raw, inside="Flask.wsgi_app (flask/app.py"))
    shutil.copy(raw, out.with_suffix(".raw"))  # the collapsed stacks, for a closer look
    print(f"web profile: {out}\n{out.read_text()}", flush=True)


def _write_profiles(stack: ProductionStack, profiles: list[tuple[str, Path]], args: argparse.Namespace) -> None:
    """Stop the profiled schedulers (py-spy writes its file when its child exits) and write the
    top entries of each to bench/results/."""
    for proc in stack.schedulers:
        for pid in children_of(proc.pid):
            os.kill(pid, signal.SIGTERM)
        proc.wait(30)
    stack.schedulers.clear()
    stack.scheduler_roles.clear()
    RESULTS.mkdir(exist_ok=True)
    for role, raw in profiles:
        name = role.split(",")[0]
        out = RESULTS / f"scheduler-{name}-profile-{datetime.now(UTC):%Y%m%d-%H%M%S}.txt"
        head = (
            f"py-spy of the scheduler process running --jobs {role} under make load: {args.volunteers:,} "
            f"volunteers, {args.incidents} incidents, --senders {args.senders}, SMS_MAX_PER_SECOND {args.sms_rate:g}\n"
        )
        out.write_text(head + summarize(raw))
        shutil.copy(raw, out.with_suffix(".raw"))
        print(f"scheduler profile ({role}): {out}\n{out.read_text()}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
