"""The dispatch application: create_app(config) is a short list of register_* steps."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import PROJECT_ROOT, Config

from .extensions import db, migrate


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_mapping(config.as_dict())
    # Fields in the order the code writes them, Cyrillic as text rather than \u escapes.
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # Row ids in URLs: <id:...> is a positive 32-bit integer; anything else is a 404, never
    # an overflow deep in the database driver.
    app.url_map.converters["id"] = RowIdConverter
    if app.config["TRUSTED_PROXY_HOPS"]:
        # Behind N proxies: the client's address (sign-in lockouts, logs) comes from X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXY_HOPS"])
    register_extensions(app)
    from . import volunteer_search  # noqa: F401  (its listener keeps the search terms in step)
    from .api import register_api
    from .cli import register_cli
    from .errors import register_error_handlers
    from .geocoding import register_geocoder
    from .headers import register_headers
    from .health import register_health
    from .limits import register_limits
    from .scheduler import start_embedded
    from .sms import register_sms
    from .telegram import register_telegram
    from .web import register_web
    from .webhooks import register_webhooks

    register_error_handlers(app)
    register_limits(app)
    register_headers(app)
    register_sms(app)
    register_telegram(app)
    register_geocoder(app)
    register_health(app)
    register_api(app)
    register_webhooks(app)
    register_web(app)
    register_cli(app)
    if app.config["SCHEDULER_EMBEDDED"]:
        start_embedded(app)
    return app


class RowIdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=2**31 - 1)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _ensure_sqlite_dir(db.engine.url.database)


def _ensure_sqlite_dir(path: str | None) -> None:
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # SQLite: enforce foreign keys, let readers and one writer overlap (WAL), and wait
    # for a lock instead of failing at once when the scheduler and a request both write.
    if _is_sqlite(dbapi_connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        # Let SQLAlchemy, not the driver, begin transactions (see _sqlite_begin).
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    # SQLite has no SELECT ... FOR UPDATE: a transaction that reads and then writes (claim
    # the outbox, fill a need) must hold the write lock from its first statement, or two of
    # them read the same state. BEGIN IMMEDIATE does that; PostgreSQL uses row locks instead.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")
