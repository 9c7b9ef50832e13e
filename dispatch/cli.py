"""Flask commands: users, volunteers import, seed-demo (the scheduler joins with dispatch)."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import scopes, telegram_links, users
from .clock import isoformat
from .csv_text import ENCODINGS, UnknownEncoding, decode_csv, encoding_named
from .demo import seed_demo
from .errors import DispatchError
from .extensions import db
from .models import LANGUAGES, ROLES, User
from .volunteer_import import import_volunteers

users_cli = AppGroup("users", help="Manage coordinator, viewer and admin accounts.")
volunteers_cli = AppGroup("volunteers", help="Bulk operations on the volunteer registry.")


def _fail(exc: DispatchError) -> None:
    click.echo(
        f"error: {exc.message} {json.dumps(exc.details, ensure_ascii=False) if exc.details else ''}".rstrip(), err=True
    )
    sys.exit(1)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password", is_flag=True, help="Ask for a password (for the coordinators' console).")
@click.option("--phone", default=None, help="Their own mobile number: welfare and HELP alerts about their incidents.")
@click.option(
    "--region", "regions", multiple=True, help="A region in their scope (ISO 3166-2, e.g. KZ-75); repeatable."
)
@click.option(
    "--organization", "organizations", type=int, multiple=True, help="An organisation id in their scope; repeatable."
)
@click.option(
    "--language", type=click.Choice(LANGUAGES), default="ru", show_default=True, help="The language of those alerts."
)
def create_user_command(
    email: str,
    role: str,
    password: bool,
    phone: str | None,
    regions: tuple[str, ...],
    organizations: tuple[int, ...],
    language: str,
) -> None:
    """Create a user; the last line of output is their API token. Without --region and
    --organization the user is national."""
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    try:
        user, token = users.create_user(
            email,
            role,
            password=secret,
            phone=phone,
            regions=regions,
            organization_ids=organizations,
            language=language,
        )
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"created {user.role} {user.email} ({_scope_text(user)})", err=True)
    click.echo(token)


def _scope_text(user: User) -> str:
    scope = scopes.describe(user)
    parts = [*scope["regions"], *(f"organisation {org_id}" for org_id in scope["organization_ids"])]
    return "scope: " + (", ".join(parts) if parts else "national")


@users_cli.command("scope")
@click.argument("email")
@click.option("--region", "regions", multiple=True, help="A region in their scope (ISO 3166-2); repeatable.")
@click.option("--organization", "organizations", type=int, multiple=True, help="An organisation id; repeatable.")
@click.option("--national", is_flag=True, help="No regions and no organisations: everything.")
def scope_command(email: str, regions: tuple[str, ...], organizations: tuple[int, ...], national: bool) -> None:
    """Show a user's scope, or replace it (--region/--organization, or --national)."""
    if national and (regions or organizations):
        raise click.UsageError("--national takes no --region or --organization.")
    try:
        user = users.get_user(email)
        if national or regions or organizations:
            scopes.set_scope(user, regions, organizations, "cli")
            db.session.commit()
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"{user.email}: {_scope_text(user)}")


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


@users_cli.command("tokens")
@click.argument("email")
def tokens_command(email: str) -> None:
    """List a user's API tokens: id, created, last used, state, label (never the token itself)."""
    try:
        tokens = users.list_tokens(email)
    except DispatchError as exc:
        _fail(exc)
    click.echo("id\tcreated\tlast_used\tstate\tlabel")
    for t in tokens:
        state = f"revoked {isoformat(t.revoked_at)}" if t.revoked_at else "live"
        click.echo(
            f"{t.id}\t{isoformat(t.created_at)}\t{isoformat(t.last_used_at) or 'never'}\t{state}\t{t.label or ''}"
        )


@users_cli.command("revoke")
@click.argument("email")
@click.option("--id", "token_id", type=int, default=None, help="The token's id (see `users tokens`).")
@click.option("--label", default=None, help="The label of the token (one live token must carry it).")
def revoke_command(email: str, token_id: int | None, label: str | None) -> None:
    """Revoke one of a user's API tokens, by id or by label: it answers 401 from now on."""
    if (token_id is None) == (label is None):
        raise click.UsageError("Give either --id or --label.")
    try:
        revoked = users.revoke_token(email, token_id=token_id, label=label)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"revoked token {revoked[0]}" if revoked else f"token {token_id} was revoked already")


@users_cli.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
def password_command(email: str, password_stdin: bool) -> None:
    """Set a user's console password (asked for); every session the user has open ends."""
    if password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.change_password(email, secret)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"password changed for {user.email}; their sessions have ended")


@users_cli.command("disable")
@click.argument("email")
def disable_command(email: str) -> None:
    """Stop a user: no sign-in, every API token answers 401, open sessions end (undo: enable)."""
    try:
        user = users.disable_user(email)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"disabled {user.email}")


@users_cli.command("set-phone")
@click.argument("email")
@click.argument("phone", required=False)
def set_phone_command(email: str, phone: str | None) -> None:
    """Set the user's own mobile number (welfare and HELP alerts about incidents they posted);
    without PHONE, remove it."""
    try:
        user = users.set_phone(email, phone)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"phone of {user.email}: {user.phone or 'none'}")


@users_cli.command("set-language")
@click.argument("email")
@click.argument("language", type=click.Choice(LANGUAGES))
def set_language_command(email: str, language: str) -> None:
    """Set the language (kk, ru, en) of the welfare and HELP alerts to the user's phone and Telegram."""
    try:
        user = users.set_language(email, language)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"language of {user.email}: {user.language}")


@users_cli.command("telegram-link")
@click.argument("email")
def telegram_link_command(email: str) -> None:
    """A single-use link (24 h) that binds the user's own Telegram chat: open it and press Start;
    welfare and HELP alerts about their incidents then go there too. The last line is the link."""
    try:
        link = telegram_links.create_user_link(users.get_user(email).id, "cli")
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"valid until {isoformat(link.expires_at)}", err=True)
    click.echo(link.url)


@users_cli.command("enable")
@click.argument("email")
def enable_command(email: str) -> None:
    """Let a disabled user sign in and use their live tokens again."""
    try:
        user = users.enable_user(email)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"enabled {user.email}")


@users_cli.command("unlock")
@click.argument("email")
@click.option("--address", default=None, help="Also lift the lockout of this client address.")
def unlock_command(email: str, address: str | None) -> None:
    """Lift a sign-in lockout of EMAIL (from every address) now, instead of after 15 minutes."""
    try:
        users.unlock_sign_in(email, address)
    except DispatchError as exc:
        _fail(exc)
    click.echo(f"sign-in unlocked for {email.strip().lower()}" + (f" and address {address}" if address else ""))


@volunteers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and report, import nothing.")
@click.option(
    "--encoding",
    default=None,
    help=f"The file's encoding: {' or '.join(ENCODINGS)}. Without it: UTF-8, or Windows-1251 when detected.",
)
def import_command(path: str, dry_run: bool, encoding: str | None) -> None:
    """Import volunteers from a CSV file (same rules as POST /api/v1/volunteers/import)."""
    try:
        encoding = encoding_named(encoding)
    except UnknownEncoding:
        raise click.BadParameter(f"must be one of {', '.join(ENCODINGS)}", param_hint="--encoding") from None
    with open(path, "rb") as data:
        try:
            text = decode_csv(data, encoding, detect=current_app.config["IMPORT_DETECT_ENCODING"])
            report = import_volunteers(text, current_app.config["DEFAULT_PHONE_REGION"], "cli", dry_run=dry_run)
        except DispatchError as exc:
            _fail(exc)
    if report.encoding_detected:
        click.echo(
            f"note: the file is not UTF-8 and was read as {report.encoding} (Cyrillic); check the names", err=True
        )
    click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Add demo volunteers only when the registry is empty.")
def seed_demo_command(if_empty: bool) -> None:
    """Demo volunteers around Astana and Almaty and a demo coordinator; idempotent."""
    done = seed_demo(if_empty=if_empty)
    click.echo(json.dumps(done))


@click.command("scheduler")
@click.option(
    "--jobs",
    default="dispatch,send,cap",
    show_default=True,
    help="Which jobs this process runs, comma-separated: dispatch (expiries, waves, welfare "
    "checks), send (the SMS and Telegram senders), cap (the CAP feeds). A `--jobs send` process "
    "beside a `--jobs dispatch,cap` one keeps sending apart from dispatch work.",
)
def scheduler_command(jobs: str) -> None:
    """Run the scheduler as its own process (production); safe next to web workers, and twice."""
    from .scheduler import JOB_GROUPS, run_forever

    groups = tuple(dict.fromkeys(part.strip() for part in jobs.split(",") if part.strip()))
    unknown = [group for group in groups if group not in JOB_GROUPS]
    if unknown or not groups:
        raise click.BadParameter(f"choose from {', '.join(JOB_GROUPS)}; got {jobs!r}", param_hint="--jobs")
    run_forever(current_app._get_current_object(), groups)


telegram_cli = AppGroup("telegram", help="The Telegram bot: register its webhook, look at it.")


@telegram_cli.command("set-webhook")
@click.option("--drop-pending", is_flag=True, help="Forget updates Telegram holds for the old webhook.")
def telegram_set_webhook(drop_pending: bool) -> None:
    """setWebhook: PUBLIC_BASE_URL/telegram/webhook with TELEGRAM_WEBHOOK_SECRET as secret_token and
    only the updates the service reads (message, callback_query, my_chat_member). Safe to rerun."""
    from notifications.telegram import TelegramError

    from . import telegram

    if not telegram.has_bot():
        raise click.ClickException("Telegram is not configured: set TELEGRAM_BOT_TOKEN and the other TELEGRAM_*.")
    api = telegram.bot_api()
    url = f"{current_app.config['PUBLIC_BASE_URL']}/telegram/webhook"
    try:
        api.set_webhook(
            url, secret_token=current_app.config["TELEGRAM_WEBHOOK_SECRET"], drop_pending_updates=drop_pending
        )
        info = api.get_webhook_info()
    except TelegramError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"webhook set: {info.url} (pending updates: {info.pending_update_count})")


@telegram_cli.command("webhook-info")
def telegram_webhook_info() -> None:
    """getWebhookInfo: where Telegram posts, and its last error if any."""
    from notifications.telegram import TelegramError

    from . import telegram

    if not telegram.has_bot():
        raise click.ClickException("Telegram is not configured: set TELEGRAM_BOT_TOKEN and the other TELEGRAM_*.")
    try:
        info = telegram.bot_api().get_webhook_info()
    except TelegramError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"url: {info.url or '(none)'}")
    click.echo(f"pending updates: {info.pending_update_count}")
    if info.last_error_message:
        click.echo(f"last error: {info.last_error_message}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(telegram_cli)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(volunteers_cli)
    app.cli.add_command(seed_demo_command)
