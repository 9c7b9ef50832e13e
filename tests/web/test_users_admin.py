"""The console's user administration (/console/users): national admins list users with their
role, scope and state and set a scope (audited); anyone else gets 403; a bad region or
organisation is a form error and changes nothing; a post without its CSRF token changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch import scopes
from dispatch.extensions import db
from dispatch.models import AuditEvent
from dispatch.users import create_user, disable_user
from tests.dispatch.factories import organization

from .conftest import PASSWORD, csrf_token, sign_in


@pytest.fixture
def people(app):
    office = organization("Almaty Rescue", region="KZ-75")
    regional, _ = create_user("regional@test.local", "coordinator", password=PASSWORD, regions=["KZ-75"])
    member, _ = create_user("member@test.local", "viewer", password=PASSWORD, organization_ids=[office.id])
    create_user("gone@test.local", "viewer", password=PASSWORD)
    disable_user("gone@test.local")
    return {"office": office, "regional": regional, "member": member}


def signed_in(client, email: str, role: str, **scope):
    create_user(email, role, password=PASSWORD, **scope)
    assert sign_in(client, email).status_code == 302
    return client


def post_scope(client, user_id: int, data: dict, lang: str = "en"):
    return client.post(
        f"/console/users/{user_id}/scope?lang={lang}", data={"csrf_token": csrf_token(client, "/console/"), **data}
    )


def test_national_admin_lists_users_with_role_scope_and_state(client, people):
    admin = signed_in(client, "boss@test.local", "admin")
    html = admin.get("/console/users?lang=ru").get_data(as_text=True)
    assert "regional@test.local" in html and "member@test.local" in html and "gone@test.local" in html
    assert "Алматы" in html and "Almaty Rescue" in html and "Вся страна" in html
    assert "Координатор" in html and "Наблюдатель" in html and "Администратор" in html
    assert "Отключён" in html
    # The header links the page for them.
    assert 'href="/console/users"' in html


def test_national_admin_sets_a_scope_audited(client, people):
    admin = signed_in(client, "boss@test.local", "admin")
    regional = people["regional"]
    form = admin.get(f"/console/users/{regional.id}/scope?lang=kk").get_data(as_text=True)
    assert 'value="KZ-75" selected' in form and "Алматы облысы" in form and "Ұлытау облысы" in form
    response = post_scope(
        admin, regional.id, {"regions": ["KZ-71", "KZ-75"], "organization_ids": [str(people["office"].id)]}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert scopes.describe(regional) == {"regions": ["KZ-71", "KZ-75"], "organization_ids": [people["office"].id]}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "user_scope_set"))
    assert event.actor.startswith("user:") and event.details["before"]["regions"] == ["KZ-75"]
    # Both lists empty: the whole country.
    assert post_scope(admin, regional.id, {}).status_code == 302
    db.session.expire_all()
    assert scopes.of(regional).national


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"regions": ["KZ-99"]}, "scope-regions-error"),
        ({"regions": ["KZ-71"], "organization_ids": ["abc"]}, "scope-organizations-error"),
        ({"organization_ids": ["999999"]}, "scope-organizations-error"),
    ],
)
def test_a_bad_region_or_organisation_is_a_form_error_and_changes_nothing(client, people, data, field):
    admin = signed_in(client, "boss@test.local", "admin")
    response = post_scope(admin, people["regional"].id, data, lang="ru")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}"' in html and (
        "Выберите регионы из списка." in html or "Выберите организации из списка." in html
    )
    db.session.expire_all()
    assert scopes.describe(people["regional"]) == {"regions": ["KZ-75"], "organization_ids": []}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.event == "user_scope_set")) is None


def test_a_post_without_its_csrf_token_changes_nothing(client, people):
    admin = signed_in(client, "boss@test.local", "admin")
    response = admin.post(f"/console/users/{people['regional'].id}/scope", data={"regions": ["KZ-71"]})
    assert response.status_code == 400
    db.session.expire_all()
    assert scopes.describe(people["regional"])["regions"] == ["KZ-75"]


@pytest.mark.parametrize(
    ("role", "scope"),
    [("admin", {"regions": ["KZ-75"]}), ("coordinator", {}), ("viewer", {})],
)
def test_scoped_admins_and_non_admins_get_403(client, people, role, scope):
    user = signed_in(client, "someone@test.local", role, **scope)
    assert user.get("/console/users?lang=ru").status_code == 403
    assert user.get(f"/console/users/{people['regional'].id}/scope").status_code == 403
    response = post_scope(user, people["regional"].id, {"regions": ["KZ-71"]}, lang="ru")
    assert response.status_code == 403
    if role == "admin":
        assert "администраторам всей страны" in response.get_data(as_text=True)
        assert 'href="/console/users"' not in user.get("/console/").get_data(as_text=True)
    db.session.expire_all()
    assert scopes.describe(people["regional"])["regions"] == ["KZ-75"]


def test_an_unknown_user_is_404(client, people):
    admin = signed_in(client, "boss@test.local", "admin")
    assert admin.get("/console/users/999999/scope").status_code == 404
    assert post_scope(admin, 999999, {"regions": ["KZ-71"]}).status_code == 404
