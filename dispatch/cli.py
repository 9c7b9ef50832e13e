"""Flask commands: users, volunteers import, seed-demo (the scheduler joins with dispatch)."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import users
from .demo import seed_demo
from .errors import DispatchError
from .models import ROLES
from .volunteer_import import import_volunteers

users_cli = AppGroup("users", help="Manage coordinator, viewer and admin accounts.")
volunteers_cli = AppGroup("volunteers", help="Bulk operations on the volunteer registry.")


def _fail(exc: DispatchError) -> None:
    click.echo(f"error: {exc.message} {json.dumps(exc.details, ensure_ascii=False) if exc.details else ''}".rstrip(), err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", is_flag=True, help="Ask for a password (for the coordinators' console).")
def create_user_command(email: str, role: str, password: bool) -> None:
    """Create a user; the last line of output is their API token."""
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    try:
        user, token = users.create_user(email, role, password=secret)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"created {user.role} {user.email}", err=True)
    click.echo(token)


@users_cli.command("token")
@click.argument("email")
@click.option("--label", default=None, help="What the token is for.")
def token_command(email: str, label: str | None) -> None:
    """Issue a new API token for an existing user (printed on the last line)."""
    try:
        token = users.issue_token(email, label)
    except DispatchError as exc:
        _fail(exc)
    click.echo(token)


@volunteers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and report, import nothing.")
def import_command(path: str, dry_run: bool) -> None:
    """Import volunteers from a CSV file (same rules as POST /api/v1/volunteers/import)."""
    with open(path, encoding="utf-8-sig", newline="") as lines:
        try:
            report = import_volunteers(lines, current_app.config["DEFAULT_PHONE_REGION"], "cli", dry_run=dry_run)
        except DispatchError as exc:
            _fail(exc)
    click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Add demo volunteers only when the registry is empty.")
def seed_demo_command(if_empty: bool) -> None:
    """Demo volunteers around Astana and Almaty and a demo coordinator; idempotent."""
    done = seed_demo(if_empty=if_empty)
    click.echo(json.dumps(done))


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler as its own process (production); safe next to web workers, and twice."""
    from .scheduler import run_forever

    run_forever(current_app._get_current_object())


def register_cli(app: Flask) -> None:
    app.cli.add_command(scheduler_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(volunteers_cli)
    app.cli.add_command(seed_demo_command)
