"""The auth matrix over every route: anonymous, viewer, coordinator, admin."""

from __future__ import annotations

import re

import pytest

from dispatch.models import ROLES
from dispatch.users import create_user, hash_token

# Public by design: health, the API description, the public status; the SMS webhooks are
# guarded by the provider's signature instead (tests/dispatch/test_webhooks.py).
PUBLIC = {
    "/healthz",
    "/api/v1/openapi.json",
    "/api/v1/status",
    "/static/<path:filename>",
    "/sms/inbound",
    "/sms/status",
    "/sms/smsgate",
    "/telegram/webhook",
}


def protected_routes(app) -> list[tuple[str, str, str]]:
    """(method, url, required role) for every route that declares a role."""
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        role = getattr(view, "required_role", None)
        if role is None:
            # Pages (session login, CSRF) have their own matrix in tests/web.
            assert rule.rule in PUBLIC or not rule.rule.startswith(("/api/", "/sms/")), f"{rule.rule} declares no role"
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url, role))
    return routes


def test_every_api_route_declares_a_role_or_is_public(app):
    assert len(protected_routes(app)) >= 7


def test_matrix(app, client, tokens):
    for method, url, required in protected_routes(app):
        response = client.open(url, method=method)
        assert response.status_code == 401, (method, url)
        assert response.get_json()["error"]["code"] == "UNAUTHORIZED"
        response = client.open(url, method=method, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401, (method, url)
        response = client.open(url, method=method, headers={"Authorization": f"Basic {tokens['admin']}"})
        assert response.status_code == 401, (method, url)
        for role in ROLES:
            response = client.open(url, method=method, headers={"Authorization": f"Bearer {tokens[role]}"})
            if ROLES.index(role) < ROLES.index(required):
                assert response.status_code == 403, (method, url, role)
                assert response.get_json()["error"]["code"] == "FORBIDDEN"
            else:
                assert response.status_code not in (401, 403), (method, url, role)


def test_tokens_are_stored_hashed(app):
    user, token = create_user("hash@test.local", "viewer")
    assert [t.token_hash for t in user.tokens] == [hash_token(token)]
    assert token not in hash_token(token)


def test_passwords_are_hashed_with_scrypt(app):
    from dispatch.users import check_password

    user, _ = create_user("pw@test.local", "coordinator", password="correct horse battery")
    assert user.password_hash.startswith("scrypt:")
    assert check_password(user, "correct horse battery")
    assert not check_password(user, "wrong horse battery")


@pytest.mark.parametrize(("email", "role"), [("not-an-email", "viewer"), ("x@y.z", "superuser")])
def test_bad_users_are_refused(app, email, role):
    from dispatch.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        create_user(email, role)
