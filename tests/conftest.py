"""Shared fixtures: an app on a migrated database (SQLite by default, PostgreSQL when
TEST_DATABASE_URL points at one), a clean registry per test, and tokens for every role."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_migrate import upgrade

from config import TestConfig
from dispatch import create_app
from dispatch.extensions import db
from dispatch.models import Skill

ROLES = ("viewer", "coordinator", "admin")
# What the migrations seed and every test reads: it stays.
KEPT_TABLES = {Skill.__table__.name}


def tables_to_empty() -> list:
    """Every table of the models, children before parents, but the seeded ones: a new model is
    emptied between tests without anyone remembering to list it."""
    return [table for table in reversed(db.metadata.sorted_tables) if table.name not in KEPT_TABLES]


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def is_postgres() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith(("postgresql", "postgres"))


def pytest_collection_modifyitems(config, items):
    # PostgreSQL-only tests are deselected (not skipped) on SQLite, so a CI run that must
    # skip nothing can still run the SQLite pass.
    if is_postgres():
        return
    kept = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_sessionfinish(session, exitstatus):
    # CI sets FAIL_ON_SKIP=1: a skipped test there hides a missing service or package.
    if os.environ.get("FAIL_ON_SKIP") == "1" and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        skipped = reporter.stats.get("skipped", []) if reporter else []
        if skipped:
            session.exitstatus = 1
            if reporter:
                reporter.write_line(f"FAIL_ON_SKIP: {len(skipped)} test(s) were skipped", red=True)


@pytest.fixture(scope="session")
def migrated_app(tmp_path_factory) -> Iterator[Flask]:
    app = create_app(TestConfig.for_database(database_url(tmp_path_factory)))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(migrated_app) -> Iterator[Flask]:
    """The app inside an app context; every test starts with an empty registry (skills stay)."""
    with migrated_app.app_context():
        yield migrated_app
        db.session.rollback()
        for table in tables_to_empty():
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def sms(app):
    """Every SMS the app sends lands here; the pacer does not slow tests down."""
    from dispatch.outbox import Pacer
    from notifications.gateway import MemoryGateway

    saved = app.extensions["sms_gateway"], app.extensions["sms_pacer"]
    gateway = MemoryGateway()
    app.extensions["sms_gateway"], app.extensions["sms_pacer"] = gateway, Pacer(10_000)
    yield gateway
    app.extensions["sms_gateway"], app.extensions["sms_pacer"] = saved


@pytest.fixture
def nominatim(app):
    """A loopback Nominatim behind the app's geocoder (GEOCODER=nominatim, as configured)."""
    from dispatch.geocoding import DatabaseGeocodeCache
    from geo import Geocoder
    from tests.fakes.nominatim_server import FakeNominatim

    with FakeNominatim() as fake:
        app.extensions["geocoder"] = Geocoder(
            fake.base_url, "dispatch-tests", cache=DatabaseGeocodeCache(), min_delay_s=0.0, timeout_s=2.0
        )
        yield fake
        del app.extensions["geocoder"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(app) -> dict[str, str]:
    from dispatch.users import create_user

    return {role: create_user(f"{role}@test.local", role)[1] for role in ROLES}


@pytest.fixture
def auth(tokens):
    """auth("coordinator") -> headers carrying that role's bearer token."""

    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    return headers


@pytest.fixture
def scratch_database_url(request, tmp_path) -> Iterator[str]:
    """An empty database of the kind under test, dropped afterwards: for a migration's data step."""
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{url.database}_{request.node.module.__name__.rsplit('.', 1)[-1]}"[:63]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
