"""Production mode as a test: gunicorn workers and a scheduler process on a fresh database
(PostgreSQL when TEST_DATABASE_URL points at one, else a SQLite file), SMS through a loopback
FakeTwilio, everything over real HTTP on 127.0.0.1.

One stack per module (its start-up costs seconds); each test gets empty tables, a reset
FakeTwilio, the web workers all up and a scheduler process of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fakes.twilio_server import FakeTwilio

from .stack import ProductionStack, fresh_database

SMS_PER_SECOND = 50
TICK_S = 0.5


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> Iterator[ProductionStack]:
    tmp = tmp_path_factory.mktemp("production")
    with FakeTwilio() as fake, fresh_database(os.environ.get("TEST_DATABASE_URL"), tmp) as url:
        stack = ProductionStack(url, fake, tmp / "logs", workers=2, sms_per_second=SMS_PER_SECOND, tick_s=TICK_S)
        try:
            stack.migrate()
            stack.token = stack.create_user("coordinator@production.test", "coordinator")
            stack.start_web()
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def stack(production: ProductionStack) -> Iterator[ProductionStack]:
    production.stop_schedulers()
    production.ensure_web()
    production.empty_tables()
    production.fake.reset()
    production.start_scheduler()
    yield production
    production.stop_schedulers()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # A failed drill shows what the processes said.
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and stack is not None:
        for name in ("gunicorn.log", "scheduler.log"):
            report.sections.append((f"production {name} (tail)", stack.log_tail(name, 6000)))
