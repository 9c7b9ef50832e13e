"""The DATABASE_URL form the README gives for a primary with a standby works as written."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from config import TestConfig
from dispatch import create_app
from dispatch.extensions import db
from tests.production.stack import free_port


@pytest.mark.postgres
def test_a_url_listing_several_hosts_reaches_the_one_that_takes_writes():
    live = urlsplit(os.environ["TEST_DATABASE_URL"])
    host, port = live.hostname or "127.0.0.1", live.port or 5432
    user, database = live.username or "postgres", live.path.lstrip("/")
    # The first host is down (as a failed primary would be); libpq goes on to the next one
    # and, with target_session_attrs=read-write, only settles for a server that is not in recovery.
    url = (f"postgresql://{user}@/{database}?host=127.0.0.1:{free_port()}&host={host}:{port}"
           "&target_session_attrs=read-write&connect_timeout=2")
    app = create_app(TestConfig.for_database(url))
    with app.app_context():
        try:
            server = db.session.execute(text("SELECT inet_server_port(), pg_is_in_recovery()")).one()
            assert tuple(server) == (port, False)
            assert app.test_client().get("/healthz").status_code == 200
        finally:
            db.session.remove()
            db.engine.dispose()
