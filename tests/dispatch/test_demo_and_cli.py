"""seed-demo and the users commands, as `flask --app wsgi ...` runs them."""

from __future__ import annotations

from sqlalchemy import func, select

from config import PROJECT_ROOT
from dispatch import scopes
from dispatch.demo import (
    DEMO_COORDINATOR,
    DEMO_ORGANIZATIONS,
    DEMO_REGIONAL_COORDINATOR,
    DEMO_REGIONAL_PASSWORD,
    DEMO_VOLUNTEERS,
)
from dispatch.extensions import db
from dispatch.models import Organization, User, Volunteer
from dispatch.users import authenticate_token, check_password
from notifications.phones import normalize_phone


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_is_idempotent_and_realistic(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert count(Volunteer) == DEMO_VOLUNTEERS
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert count(Volunteer) == DEMO_VOLUNTEERS
    assert count(User) == 2  # the national coordinator and Almaty's
    volunteers = db.session.scalars(select(Volunteer)).all()
    near_astana = [v for v in volunteers if abs(v.lat - 51.17) < 1 and abs(v.lon - 71.45) < 1.5]
    near_almaty = [v for v in volunteers if abs(v.lat - 43.22) < 1 and abs(v.lon - 76.85) < 1.5]
    assert len(near_astana) + len(near_almaty) == DEMO_VOLUNTEERS
    assert 800 < len(near_astana) < 1200
    assert {v.language for v in volunteers} == {"kk", "ru", "en"}
    assert all(v.skill_mask for v in volunteers)
    # Every demo phone is a real-looking mobile number that the registry itself would accept.
    for v in volunteers[:50]:
        assert normalize_phone(v.phone, "KZ") == v.phone


def test_seed_demo_has_a_regional_coordinator_with_a_password_and_regions_on_every_volunteer(app):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    regional = db.session.scalar(select(User).where(User.email == DEMO_REGIONAL_COORDINATOR))
    assert regional.role == "coordinator" and check_password(regional, DEMO_REGIONAL_PASSWORD)
    assert scopes.describe(regional) == {"regions": ["KZ-75"], "organization_ids": []}
    national = db.session.scalar(select(User).where(User.email == DEMO_COORDINATOR))
    assert scopes.of(national).national and check_password(national, "demo-coordinator")
    # Every demo volunteer has a region (from their point), in the two demo regions or next to them.
    regions = dict(db.session.execute(select(Volunteer.region, func.count()).group_by(Volunteer.region)).all())
    assert None not in regions
    assert regions["KZ-71"] > 800 and regions["KZ-75"] > 600
    # The Almaty coordinator's scope holds Almaty's volunteers and organisations, not Astana's.
    scope = scopes.of(regional)
    seen = db.session.scalar(select(func.count()).select_from(Volunteer).where(scope.volunteer_clause()))
    assert seen == regions["KZ-75"]
    names = set(db.session.scalars(select(Organization.name).where(scope.organization_clause())))
    assert names == set(DEMO_ORGANIZATIONS["almaty"])


def test_make_run_prints_both_sign_ins():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    run = makefile[makefile.index("\nrun:") : makefile.index("\n\n", makefile.index("\nrun:"))]
    assert f"{DEMO_COORDINATOR} / demo-coordinator" in run
    assert f"{DEMO_REGIONAL_COORDINATOR} / {DEMO_REGIONAL_PASSWORD}" in run


def test_seed_demo_if_empty_leaves_a_real_registry_alone(app, client, auth):
    client.post(
        "/api/v1/volunteers",
        json={"name": "Real", "phone": "+77059998877", "lat": 51, "lon": 71, "skills": [], "language": "ru"},
        headers=auth("coordinator"),
    )
    assert app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"]).exit_code == 0
    assert count(Volunteer) == 1
    assert db.session.scalar(select(User).where(User.email == DEMO_COORDINATOR)) is not None


def test_users_create_prints_a_working_token_on_the_last_line(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "Ops@Example.org", "--role", "admin"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    user = authenticate_token(token)
    assert user.email == "ops@example.org" and user.role == "admin"
    again = app.test_cli_runner().invoke(args=["users", "create", "ops@example.org", "--role", "viewer"])
    assert again.exit_code == 1


def test_users_create_with_a_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "c@example.org", "--role", "coordinator", "--password"],
        input="long enough pw\nlong enough pw\n",
    )
    assert result.exit_code == 0, result.output
    from dispatch.users import check_password

    user = db.session.scalar(select(User).where(User.email == "c@example.org"))
    assert check_password(user, "long enough pw")


def test_users_token_issues_another_token(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["users", "create", "v@example.org", "--role", "viewer"]).stdout.split()[-1]
    second = runner.invoke(args=["users", "token", "v@example.org"]).stdout.split()[-1]
    assert first != second
    assert authenticate_token(first).email == authenticate_token(second).email == "v@example.org"
    assert runner.invoke(args=["users", "token", "nobody@example.org"]).exit_code == 1
