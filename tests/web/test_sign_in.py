"""The sign-in lockout: per email from one address and per address (never an email from every
address), counted on exactly what is stored whatever the email's length, and lifted by an admin."""

from __future__ import annotations

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import AuditEvent
from dispatch.users import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_EMAIL_AND_ADDRESS,
    create_user,
)

from .conftest import PASSWORD, csrf_token

HERE, THERE = "198.51.100.7", "203.0.113.20"


def attempt(client, email: str, password: str, address: str = HERE):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_wrong_passwords_lock_that_email_from_that_address_only(app, client):
    create_user("guess@test.local", "coordinator", password=PASSWORD)
    for _ in range(MAX_FAILURES_PER_EMAIL_AND_ADDRESS):
        assert attempt(client, "guess@test.local", "wrong guess").status_code == 401
    # Locked here now, even with the right password: guessing on cannot find it.
    locked = attempt(client, "Guess@Test.local ", PASSWORD)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.get_data(as_text=True)
    # The coordinator at their own desk is not locked out by someone guessing elsewhere.
    assert attempt(app.test_client(), "guess@test.local", PASSWORD, address=THERE).status_code == 302


def test_an_over_long_email_is_locked_out_like_any_other(app, client):
    email = "a" * 70 + "@test.local"
    for _ in range(MAX_FAILURES_PER_EMAIL_AND_ADDRESS):
        assert attempt(client, email, "wrong guess").status_code == 401
    assert attempt(client, email, "wrong guess").status_code == 429
    actors = db.session.scalars(select(AuditEvent.actor).where(AuditEvent.event == "login_failed")).all()
    assert actors and all(len(actor) <= 64 for actor in actors)


def test_one_address_is_locked_whatever_emails_it_tries(app, client):
    create_user("mine@test.local", "coordinator", password=PASSWORD)
    for n in range(MAX_FAILURES_PER_ADDRESS):
        assert attempt(client, f"spray{n}@test.local", "wrong guess").status_code == 401
    assert attempt(client, "mine@test.local", PASSWORD).status_code == 429
    assert attempt(app.test_client(), "mine@test.local", PASSWORD, address=THERE).status_code == 302


def test_an_over_long_address_is_counted_as_stored(app, client):
    address = "2001:db8::" + "f" * 80  # what a misconfigured proxy could hand over
    for _ in range(MAX_FAILURES_PER_EMAIL_AND_ADDRESS):
        assert attempt(client, "x@test.local", "wrong guess", address=address).status_code == 401
    assert attempt(client, "x@test.local", "wrong guess", address=address).status_code == 429


def test_an_admin_unlocks_an_email_at_once(app, client):
    create_user("locked@test.local", "coordinator", password=PASSWORD)
    for _ in range(MAX_FAILURES_PER_EMAIL_AND_ADDRESS):
        attempt(client, "locked@test.local", "wrong guess")
    assert attempt(client, "locked@test.local", PASSWORD).status_code == 429
    result = app.test_cli_runner().invoke(args=["users", "unlock", "Locked@test.local"])
    assert result.exit_code == 0, result.output
    assert attempt(client, "locked@test.local", PASSWORD).status_code == 302
    # The failures stay in the audit trail; the unlock is recorded beside them.
    assert db.session.scalar(select(func.count()).where(AuditEvent.event == "login_failed")) == 2 * 5
    assert db.session.scalar(select(func.count()).where(AuditEvent.event == "login_unlocked")) == 1


def test_an_admin_unlocks_an_address(app, client):
    create_user("office@test.local", "coordinator", password=PASSWORD)
    for n in range(MAX_FAILURES_PER_ADDRESS):
        attempt(client, f"spray{n}@test.local", "wrong guess")
    assert attempt(client, "office@test.local", PASSWORD).status_code == 429
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "unlock", "office@test.local"]).exit_code == 0
    assert attempt(client, "office@test.local", PASSWORD).status_code == 429  # the address is still locked
    assert runner.invoke(args=["users", "unlock", "office@test.local", "--address", HERE]).exit_code == 0
    assert attempt(client, "office@test.local", PASSWORD).status_code == 302


def test_unlocking_an_unknown_user_is_an_error(app):
    result = app.test_cli_runner().invoke(args=["users", "unlock", "nobody@test.local"])
    assert result.exit_code == 1 and "No user" in result.output


def test_a_nul_in_the_email_is_a_wrong_sign_in_not_a_server_error(app, client):
    create_user("nul@test.local", "coordinator", password=PASSWORD)
    for email in ("nul@test.local\x00", "\x00", "nul\x01@test.local"):
        response = attempt(client, email, PASSWORD)
        assert response.status_code == 400 and "Wrong email or password" in response.get_data(as_text=True)
    # Nothing was looked up or counted: the real sign-in still works at once.
    assert attempt(client, "nul@test.local", PASSWORD).status_code == 302
