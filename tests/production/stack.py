"""The service as production runs it: gunicorn workers and a scheduler process, as subprocesses
on a fresh database, SMS through a loopback FakeTwilio. Used by tests/production and by
bench/load_test.py.

    with fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp) as url, FakeTwilio() as fake:
        stack = ProductionStack(url, fake, logs=tmp / "logs", workers=2)
        stack.migrate()
        stack.token = stack.create_user("coord@test.local", "coordinator")
        stack.start_web(); stack.start_scheduler()
        stack.api("POST", "/api/v1/incidents", stack.token, json={...})
        ...
        stack.stop()

Everything listens on 127.0.0.1; every process is started here and stopped by its own pid.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from config import PROJECT_ROOT, SETTINGS, normalize_database_url
from notifications.signatures import sign

BIN = Path(sys.executable).parent
FLASK = str(BIN / "flask")
GUNICORN = str(BIN / "gunicorn")
FROM_NUMBER = "+15005550006"
_names = itertools.count(1)


# -- databases -------------------------------------------------------------------------------


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgresql", "postgres"))


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(normalize_database_url(url))
    return urlunsplit(parts._replace(path="/" + name))


def _admin_execute(url: str, *statements: str) -> None:
    """Run statements on the server's `postgres` database outside a transaction (CREATE/DROP DATABASE)."""
    engine = create_engine(_with_database(url, "postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def create_postgres_database(server_url: str, name: str) -> str:
    """(Re)create database `name` on the server of server_url; returns its URL."""
    _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return _with_database(server_url, name)


def drop_postgres_database(server_url: str, name: str) -> None:
    _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(server_url: str | None, tmp_dir: Path, prefix: str = "prod") -> Iterator[str]:
    """A new, empty database: on the PostgreSQL server of server_url (created and dropped
    here, named after it), else a SQLite file in tmp_dir. Not migrated."""
    if not is_postgres_url(server_url):
        yield f"sqlite:///{tmp_dir / f'{prefix}-{next(_names)}.db'}"
        return
    base = urlsplit(normalize_database_url(server_url)).path.lstrip("/") or "dispatch"
    name = f"{base[:40]}_{prefix}_{os.getpid()}_{next(_names)}"
    url = create_postgres_database(server_url, name)
    try:
        yield url
    finally:
        drop_postgres_database(server_url, name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout_s: float, interval_s: float = 0.1):
    """Poll until condition() is truthy (returns it) or timeout_s passes (returns the last value)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


def children_of(pid: int) -> list[int]:
    """Child pids of a process (Linux: /proc/<pid>/task/*/children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return sorted(set(found))


# -- the stack -------------------------------------------------------------------------------


class ProductionStack:
    """gunicorn + `flask --app wsgi scheduler` on one database, SMS to a FakeTwilio-compatible server."""

    def __init__(
        self,
        database_url: str,
        fake,
        logs: Path,
        *,
        workers: int = 2,
        sms_per_second: float = 50,
        tick_s: float = 0.5,
        port: int | None = None,
        **settings: str,
    ) -> None:
        self.database_url = database_url
        self.fake = fake
        self.logs = Path(logs)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.auth_token = fake.auth_token
        self.settings = {
            "DISPATCH_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": database_url,
            "PUBLIC_BASE_URL": self.base_url,
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": fake.base_url,
            "SMS_MAX_PER_SECOND": str(sms_per_second),
            "SCHEDULER_TICK_S": str(tick_s),
            "SCHEDULER_EMBEDDED": "false",
            **{k: str(v) for k, v in settings.items()},
        }
        self.token: str | None = None  # a coordinator's, once create_user has given one
        self.web: subprocess.Popen | None = None
        self.schedulers: list[subprocess.Popen] = []
        self.scheduler_roles: list[str] = []  # each scheduler's --jobs ("all": every job)
        # Run before the scheduler's command (a profiler: bench/load_test.py --profile).
        self.scheduler_prefix: list[str] = []
        self._engine: Engine | None = None
        self._local = threading.local()

    # -- processes ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        # Nothing of the caller's own settings leaks in: only what this stack says.
        inherited = {k: v for k, v in os.environ.items() if k not in SETTINGS and not k.startswith("TWILIO_")}
        return {**inherited, **self.settings}

    def _log(self, name: str):
        return (self.logs / name).open("ab")

    def flask(self, *args: str, timeout_s: float = 120) -> str:
        """Run a `flask --app wsgi` command to completion; its stdout."""
        done = subprocess.run(
            [FLASK, "--app", "wsgi", *args],
            cwd=PROJECT_ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout

    def migrate(self) -> None:
        self.flask("db", "upgrade")

    def create_user(self, email: str, role: str = "coordinator") -> str:
        """A new user through the CLI; its API token (the last line of stdout)."""
        return self.flask("users", "create", email, "--role", role).strip().splitlines()[-1].strip()

    def start_web(self, timeout_s: float = 60) -> None:
        command = [
            GUNICORN,
            "-w",
            str(self.workers),
            "-b",
            f"127.0.0.1:{self.port}",
            # no control socket in $HOME shared by every gunicorn on the machine
            "--no-control-socket",
            "--graceful-timeout",
            "5",
            "wsgi:app",
        ]
        with self._log("gunicorn.log") as log:
            self.web = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        ready = wait_for(lambda: self._healthy() and len(self.worker_pids()) == self.workers, timeout_s, 0.2)
        if not ready:
            raise RuntimeError(f"gunicorn did not come up in {timeout_s} s:\n{self.log_tail('gunicorn.log')}")

    def start_scheduler(self, jobs: str | None = None) -> subprocess.Popen:
        """`flask scheduler`, all its jobs or `jobs` (e.g. "send": a sender process of its own)."""
        with self._log("scheduler.log") as log:
            proc = subprocess.Popen(
                [*self.scheduler_prefix, FLASK, "--app", "wsgi", "scheduler", *(["--jobs", jobs] if jobs else [])],
                cwd=PROJECT_ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.schedulers.append(proc)
        self.scheduler_roles.append(jobs or "all")
        return proc

    def stop_schedulers(self) -> None:
        for proc in self.schedulers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.schedulers:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.schedulers.clear()
        self.scheduler_roles.clear()

    def ensure_web(self) -> None:
        """gunicorn up with all its workers (started again if a drill took the master down)."""
        if self.web is not None and self.web.poll() is None:
            if wait_for(lambda: len(self.worker_pids()) == self.workers and self._healthy(), 30, 0.2):
                return
            self.web.kill()
            self.web.wait(10)
        self.start_web()

    def worker_pids(self) -> list[int]:
        if self.web is None or self.web.poll() is not None:
            return []
        return children_of(self.web.pid)

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        procs = [p for p in (self.web, *self.schedulers) if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._engine is not None:
            self._engine.dispose()

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs / name
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- HTTP --------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _healthy(self) -> bool:
        try:
            return self._session().get(self.base_url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def healthz(self, timeout_s: float = 5) -> int:
        return self._session().get(self.base_url + "/healthz", timeout=timeout_s).status_code

    def api(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json=None,
        timeout_s: float = 30,
        headers: dict[str, str] | None = None,
        **kwargs,
    ) -> requests.Response:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self._session().request(
            method, self.base_url + path, json=json, headers=headers, timeout=timeout_s, **kwargs
        )

    def signed_post(self, path: str, params: dict[str, str], timeout_s: float = 30) -> requests.Response:
        """POST a form as Twilio would: signed over PUBLIC_BASE_URL + path with the auth token."""
        signature = sign(self.base_url + path, params, self.auth_token)
        return self._session().post(
            self.base_url + path, data=params, timeout=timeout_s, headers={"X-Twilio-Signature": signature}
        )

    def sms_in(self, from_phone: str, body: str, sid: str | None = None, timeout_s: float = 30) -> requests.Response:
        params = {
            "MessageSid": sid or "SM" + secrets.token_hex(16),
            "AccountSid": self.fake.account_sid,
            "From": from_phone,
            "To": FROM_NUMBER,
            "Body": body,
        }
        return self.signed_post("/sms/inbound", params, timeout_s)

    def sms_status(self, message_sid: str, status: str, error_code: int | None = None) -> requests.Response:
        return self.signed_post("/sms/status", self.fake.status_callback_params(message_sid, status, error_code))

    # -- the database, read directly for the checks ----------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            # NullPool: no connection outlives a query (a database restart or DROP DATABASE
            # meets no idle connection of ours).
            self._engine = create_engine(normalize_database_url(self.database_url), poolclass=NullPool)
        return self._engine

    def query(self, sql: str, **params) -> list:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def empty_tables(self) -> None:
        """Delete everything but users, tokens and the skill catalogue (children first)."""
        with self.engine.begin() as connection:
            for table in (
                "audit_events",
                "inbound",
                "outbox",
                "alerts",
                "needs",
                "incidents",
                "geocode_cache",
                "volunteers",
            ):
                connection.execute(text(f"DELETE FROM {table}"))

    def scalar(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
