"""User scopes (dispatch/scopes.py): set by the `users` commands, read as query conditions and
checks. The routes, pages and exports that apply them have their own tests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatch import scopes
from dispatch.errors import OutOfScope, ValidationFailed
from dispatch.extensions import db
from dispatch.models import AuditEvent, User, Volunteer
from dispatch.users import create_user

from .factories import incident, organization, volunteer


@pytest.fixture
def runner(app):
    def run(*args: str):
        return app.test_cli_runner().invoke(args=["users", *args])

    return run


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_users_create_with_regions_and_organisations_and_scope_replaces_it(runner):
    rescue = organization("Almaty Rescue", region="KZ-75")
    result = runner(
        "create", "almaty@test.local", "--role", "coordinator", "--region", "kz-75", "--organization", str(rescue.id)
    )
    assert result.exit_code == 0, result.output
    assert "scope: KZ-75, organisation" in result.output
    assert scopes.describe(user("almaty@test.local")) == {"regions": ["KZ-75"], "organization_ids": [rescue.id]}

    shown = runner("scope", "almaty@test.local")
    assert shown.exit_code == 0 and f"KZ-75, organisation {rescue.id}" in shown.output
    assert runner("scope", "almaty@test.local", "--region", "KZ-71").exit_code == 0
    assert scopes.describe(user("almaty@test.local")) == {"regions": ["KZ-71"], "organization_ids": []}
    assert runner("scope", "almaty@test.local", "--national").exit_code == 0
    assert scopes.of(user("almaty@test.local")).national
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.event == "user_scope_set").order_by(AuditEvent.id)
    ).all()
    assert [e.details["after"]["regions"] for e in events] == [["KZ-71"], []]


def test_unknown_regions_and_organisations_create_nothing(runner):
    bad_region = runner("create", "x@test.local", "--role", "coordinator", "--region", "KZ-99")
    assert bad_region.exit_code == 1 and "KZ-99" in bad_region.output
    bad_org = runner("create", "x@test.local", "--role", "coordinator", "--organization", "999")
    assert bad_org.exit_code == 1 and "999" in bad_org.output
    assert user("x@test.local") is None
    runner("create", "y@test.local", "--role", "coordinator", "--region", "KZ-75")
    assert runner("scope", "y@test.local", "--region", "nowhere").exit_code == 1
    assert scopes.describe(user("y@test.local"))["regions"] == ["KZ-75"]  # unchanged
    assert runner("scope", "y@test.local", "--national", "--region", "KZ-75").exit_code == 2


def test_volunteer_and_incident_conditions(app):
    rescue = organization("Shymkent Rescue", region="KZ-79")
    almaty = volunteer(name="In Almaty", region="KZ-75")
    member = volunteer(name="Member elsewhere", region="KZ-11", organization="Shymkent Rescue")
    outside = volunteer(name="Astana", region="KZ-71")
    homeless = volunteer(name="No region", region=None)
    regional, _ = create_user("r@test.local", "coordinator", regions=["KZ-75"], organization_ids=[rescue.id])
    scope = scopes.of(regional)
    visible = set(db.session.scalars(select(Volunteer.id).where(scope.volunteer_clause())))
    assert visible == {almaty.id, member.id}
    assert scope.holds_volunteer(almaty) and scope.holds_volunteer(member)
    assert not scope.holds_volunteer(outside) and not scope.holds_volunteer(homeless)
    # Incidents: their regions and their organisations' regions.
    assert scope.incident_regions == {"KZ-75", "KZ-79"}
    scope.check_incident(incident("101", region="KZ-79"))
    with pytest.raises(OutOfScope):
        scope.check_incident(incident("102", region="KZ-71"))
    with pytest.raises(OutOfScope):
        scope.check_region(None)
    national, _ = create_user("n@test.local", "coordinator")
    assert scopes.of(national).national and scopes.of(national).volunteer_clause() is None
    scopes.of(national).check_region(None)


def test_set_scope_refuses_unknown_values_and_changes_nothing(app):
    regional, _ = create_user("s@test.local", "coordinator", regions=["KZ-75"])
    with pytest.raises(ValidationFailed):
        scopes.set_scope(regional, ["KZ-75", "XX"], [], "test")
    db.session.rollback()
    assert scopes.describe(user("s@test.local")) == {"regions": ["KZ-75"], "organization_ids": []}


def test_only_national_admins_set_scopes(app):
    from dispatch.errors import Forbidden

    target, _ = create_user("t@test.local", "coordinator", regions=["KZ-75"])
    regional_admin, _ = create_user("ra@test.local", "admin", regions=["KZ-75"])
    national_coordinator, _ = create_user("nc@test.local", "coordinator")
    national_admin, _ = create_user("na@test.local", "admin")
    for refused in (regional_admin, national_coordinator):
        with pytest.raises(Forbidden):
            scopes.set_scope(target, [], [], f"user:{refused.id}", by=refused)
        db.session.rollback()
    assert scopes.describe(user("t@test.local"))["regions"] == ["KZ-75"]
    scopes.set_scope(target, ["KZ-71"], [], f"user:{national_admin.id}", by=national_admin)
    db.session.commit()
    assert scopes.describe(user("t@test.local"))["regions"] == ["KZ-71"]
