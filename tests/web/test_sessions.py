"""Console sessions end on the server: signing out, a new password or disabling the user refuses
a session cookie from anywhere afterwards, idle sessions end, and CSRF tokens have a lifetime."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import UserSession
from dispatch.users import SESSION_IDLE_LIMIT
from dispatch.web.security import CSRF_TOKEN_LIFETIME

from .conftest import PASSWORD, csrf_token, sign_in

ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "another browser"}


def copy_of_session(app, client):
    """A second client, at another address, holding a copy of `client`'s session cookie."""
    name = app.config["SESSION_COOKIE_NAME"]
    thief = app.test_client()
    thief.environ_base.update(ELSEWHERE)
    thief.set_cookie(name, client.get_cookie(name).value)
    return thief


def signed_long_ago(serializer: URLSafeTimedSerializer, value, seconds: float) -> str:
    """What `serializer.dumps(value)` gave `seconds` ago (itsdangerous stamps the signing time)."""

    class SignedThen(serializer.signer):
        def get_timestamp(self) -> int:
            return int(time.time() - seconds)

    serializer.signer = SignedThen
    return serializer.dumps(value)


def test_a_session_cookie_copied_before_signing_out_is_refused_after_it(app, console):
    thief = copy_of_session(app, console)
    assert thief.get("/console/").status_code == 200  # the copy works while the session lives
    assert console.post_form("/logout").status_code == 302
    for client in (thief, console):
        response = client.get("/console/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), response
    # Nor can the copy post a form with a token it read before.
    token = csrf_token(thief, "/login")
    response = thief.post("/preferences", data={"csrf_token": token, "language": "ru", "timezone": "Asia/Almaty"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert db.session.scalars(select(UserSession)).all() == []


def test_signing_out_ends_only_that_session(app, client, coordinator):
    assert sign_in(client, coordinator.email).status_code == 302
    other_desk = app.test_client()
    other_desk.environ_base.update(ELSEWHERE)
    assert sign_in(other_desk, coordinator.email).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/console/")})
    assert client.get("/console/").status_code == 302
    assert other_desk.get("/console/").status_code == 200


def test_a_new_password_from_the_command_line_ends_every_session(app, console, coordinator):
    thief = copy_of_session(app, console)
    result = app.test_cli_runner().invoke(
        args=["users", "password", coordinator.email, "--password-stdin"], input="a brand new password\n"
    )
    assert result.exit_code == 0, result.output
    assert console.get("/console/").status_code == 302
    assert thief.get("/console/").status_code == 302
    assert sign_in(console, coordinator.email, PASSWORD).status_code == 401
    assert sign_in(console, coordinator.email, "a brand new password").status_code == 302
    assert console.get("/console/").status_code == 200


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(app, console, coordinator):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "disable", coordinator.email]).exit_code == 0
    assert console.get("/console/").status_code == 302
    refused = sign_in(console, coordinator.email)
    assert refused.status_code == 401 and "Wrong email or password" in refused.get_data(as_text=True)
    assert runner.invoke(args=["users", "enable", coordinator.email]).exit_code == 0
    assert sign_in(console, coordinator.email).status_code == 302
    assert console.get("/console/").status_code == 200


def test_a_session_unused_for_the_idle_limit_has_ended(console):
    assert console.get("/console/").status_code == 200
    db.session.execute(update(UserSession).values(seen_at=utcnow() - SESSION_IDLE_LIMIT - timedelta(minutes=1)))
    db.session.commit()
    assert console.get("/console/").status_code == 302


def test_a_session_in_use_stays_alive(console):
    an_hour_ago = utcnow() - timedelta(hours=1)
    db.session.execute(update(UserSession).values(seen_at=an_hour_ago))
    db.session.commit()
    assert console.get("/console/").status_code == 200
    seen = db.session.scalars(select(UserSession.seen_at)).one()
    assert seen > an_hour_ago + timedelta(minutes=59)


def test_the_session_cookie_expires_with_the_idle_limit(app, client, coordinator):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == SESSION_IDLE_LIMIT == timedelta(hours=12)
    sign_in(client, coordinator.email)
    expires = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).expires
    assert expires is not None
    expected = datetime.now(UTC) + SESSION_IDLE_LIMIT
    assert abs((expires - expected).total_seconds()) < 60


def test_a_form_older_than_the_csrf_lifetime_gets_the_expired_page(app, console):
    assert app.config["WTF_CSRF_TIME_LIMIT"] == CSRF_TOKEN_LIFETIME.total_seconds() == 12 * 3600
    console.get("/console/")  # the session holds the raw token the form's token signs
    with console.session_transaction() as session:
        raw = session["csrf_token"]
    serializer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    lifetime_s = CSRF_TOKEN_LIFETIME.total_seconds()
    stale = signed_long_ago(serializer, raw, lifetime_s + 60)
    response = console.post("/logout", data={"csrf_token": stale})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert console.get("/console/").status_code == 200  # still signed in: the stale form did nothing
    # A form from earlier in the same shift still posts.
    recent = signed_long_ago(URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token"), raw, lifetime_s - 3600)
    assert console.post("/logout", data={"csrf_token": recent}).status_code == 302
    assert console.get("/console/").status_code == 302
