"""The account administration commands: list and revoke tokens, change a password, disable and
enable a user, as `flask --app wsgi users ...` runs them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch.extensions import db
from dispatch.models import ApiToken, User
from dispatch.users import check_password, create_user


@pytest.fixture
def runner(app):
    def run(*args: str, input: str | None = None):
        return app.test_cli_runner().invoke(args=["users", *args], input=input)

    return run


def token_works(client, token: str) -> bool:
    status = client.get("/api/v1/skills", headers={"Authorization": f"Bearer {token}"}).status_code
    assert status in (200, 401)
    return status == 200


def token_ids(email: str) -> list[int]:
    user = db.session.scalar(select(User).where(User.email == email))
    return [t.id for t in sorted(user.tokens, key=lambda t: t.id)]


def test_tokens_lists_labels_and_use_never_the_secret(runner, client):
    first = runner("create", "ops@test.local", "--role", "coordinator").stdout.split()[-1]
    second = runner("token", "ops@test.local", "--label", "bulk import").stdout.split()[-1]
    assert token_works(client, first)
    result = runner("tokens", "OPS@test.local")
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.strip().splitlines()
    assert header.split("\t") == ["id", "created", "last_used", "state", "label"]
    assert len(rows) == 2
    used, unused = (row.split("\t") for row in rows)
    assert used[0] == str(token_ids("ops@test.local")[0]) and used[2].endswith("Z") and used[3] == "live"
    assert used[4] == "created with the user"
    assert unused[2] == "never" and unused[4] == "bulk import"
    for secret in (first, second):
        assert secret not in result.output
    assert runner("tokens", "nobody@test.local").exit_code == 1


def test_a_revoked_token_answers_401_and_the_others_still_work(runner, client):
    first = runner("create", "rev@test.local", "--role", "viewer").stdout.split()[-1]
    second = runner("token", "rev@test.local", "--label", "laptop").stdout.split()[-1]
    first_id, _second_id = token_ids("rev@test.local")
    result = runner("revoke", "rev@test.local", "--id", str(first_id))
    assert result.exit_code == 0 and f"revoked token {first_id}" in result.output
    assert not token_works(client, first) and token_works(client, second)
    again = runner("revoke", "rev@test.local", "--id", str(first_id))
    assert again.exit_code == 0 and "revoked already" in again.output
    assert runner("revoke", "rev@test.local", "--label", "laptop").exit_code == 0
    assert not token_works(client, second)
    assert "revoked " in runner("tokens", "rev@test.local").stdout.splitlines()[2]


def test_revoking_by_a_label_two_tokens_share_revokes_nothing(runner, client):
    runner("create", "twin@test.local", "--role", "viewer")
    tokens = [runner("token", "twin@test.local", "--label", "phone").stdout.split()[-1] for _ in range(2)]
    result = runner("revoke", "twin@test.local", "--label", "phone")
    assert result.exit_code == 1 and "revoke by id" in result.output
    assert all(token_works(client, token) for token in tokens)


def test_revoke_refuses_what_is_not_the_users_token(runner, client):
    runner("create", "a@test.local", "--role", "viewer")
    other = runner("create", "b@test.local", "--role", "viewer").stdout.split()[-1]
    (b_token_id,) = token_ids("b@test.local")
    assert runner("revoke", "a@test.local", "--id", str(b_token_id)).exit_code == 1
    assert runner("revoke", "a@test.local", "--label", "no such label").exit_code == 1
    assert runner("revoke", "a@test.local").exit_code == 2  # neither --id nor --label
    assert token_works(client, other)
    assert db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.id == b_token_id)) is None


def test_password_is_prompted_twice_or_read_from_stdin(runner):
    user, _token = create_user("pw@test.local", "coordinator", password="the first password")
    assert runner("password", "pw@test.local", input="second password!\nsecond password!\n").exit_code == 0
    db.session.refresh(user)
    assert check_password(user, "second password!")
    result = runner("password", "pw@test.local", "--password-stdin", input="third password!\n")
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert check_password(user, "third password!")


def test_a_short_password_changes_nothing(runner):
    user, _token = create_user("short@test.local", "coordinator", password="the first password")
    result = runner("password", "short@test.local", "--password-stdin", input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    db.session.refresh(user)
    assert check_password(user, "the first password")
    assert runner("password", "nobody@test.local", "--password-stdin", input="long enough pw\n").exit_code == 1


def test_a_disabled_users_tokens_answer_401_until_enabled(runner, client):
    token = runner("create", "off@test.local", "--role", "admin").stdout.split()[-1]
    assert token_works(client, token)
    assert runner("disable", "off@test.local").exit_code == 0
    response = client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "UNAUTHORIZED"
    assert runner("enable", "off@test.local").exit_code == 0
    assert token_works(client, token)
    assert runner("disable", "nobody@test.local").exit_code == 1


def test_a_user_phone_for_welfare_and_help_alerts(runner):
    from dispatch.extensions import db
    from dispatch.models import User

    created = runner("create", "duty@test.local", "--role", "coordinator", "--phone", "8 701 777 88 99")
    assert created.exit_code == 0 and len(created.stdout.split()[-1]) > 20  # the token stays the last line
    assert db.session.query(User).filter_by(email="duty@test.local").one().phone == "+77017778899"
    assert runner("set-phone", "duty@test.local", "+7 702 111 22 33").exit_code == 0
    assert db.session.query(User).filter_by(email="duty@test.local").one().phone == "+77021112233"
    bad = runner("set-phone", "duty@test.local", "12345")
    assert bad.exit_code == 1 and "error" in bad.stderr
    assert db.session.query(User).filter_by(email="duty@test.local").one().phone == "+77021112233"
    assert runner("set-phone", "duty@test.local").exit_code == 0
    assert db.session.query(User).filter_by(email="duty@test.local").one().phone is None
    assert runner("create", "bad@test.local", "--role", "viewer", "--phone", "x").exit_code == 1
