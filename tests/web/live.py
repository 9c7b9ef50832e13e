"""A real server for browser tests: the app on 127.0.0.1:<free port> in a thread (werkzeug's
make_server), against the test database, with the console SMS backend and a scheduler
thread calling jobs.tick() as the embedded scheduler would."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass

from werkzeug.serving import make_server

from config import TestConfig
from dispatch import create_app, jobs
from dispatch.extensions import db

log = logging.getLogger(__name__)
TICK_S = 0.3


def closed_port() -> int:
    """A loopback port nothing listens on: map tiles there are 'unreachable', as offline."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    tile_url: str
    stop: threading.Event
    threads: list[threading.Thread]
    server: object
    app: object

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        for thread in self.threads:
            thread.join(timeout=10)
        with self.app.app_context():
            db.engine.dispose()


def start(database_url: str, **overrides: str) -> LiveServer:
    tile_url = f"http://127.0.0.1:{closed_port()}/{{z}}/{{x}}/{{y}}.png"
    app = create_app(
        TestConfig.for_database(
            database_url,
            SMS_BACKEND="console",
            MAP_TILE_URL=tile_url,
            MAP_TILE_ATTRIBUTION="test tiles",
            SMS_MAX_PER_SECOND="100",
            **overrides,
        )
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    stop = threading.Event()

    def tick_forever() -> None:
        while not stop.wait(TICK_S):
            with app.app_context():
                try:
                    jobs.tick()
                except Exception:  # as the real scheduler: log, and try again next tick
                    log.exception("tick failed")
                    db.session.rollback()

    threads = [
        threading.Thread(target=server.serve_forever, daemon=True),
        threading.Thread(target=tick_forever, daemon=True),
    ]
    for thread in threads:
        thread.start()
    return LiveServer(f"http://127.0.0.1:{server.server_port}", tile_url, stop, threads, server, app)
