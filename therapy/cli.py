"""Command-line tasks: accounts, demo data, backups."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from therapy.auth import services
from therapy.auth.passwords import password_problem
from therapy.extensions import db


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_new_password(related: list[str]) -> str:
    """A new password from stdin when piped, or typed twice at a terminal."""
    if stdin_is_terminal():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password, related)
    if problem:
        raise click.ClickException(f"Password refused: {problem}")
    return password


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--name", required=True, help="The name shown in Tandem and on handouts.")
@click.option("--admin", is_flag=True, help="Let this account manage other accounts.")
def create_user_command(email: str, name: str, admin: bool) -> None:
    """Create a therapist account; the password comes from stdin or a prompt."""
    password = read_new_password([email, name])
    try:
        user = services.create_user(email, name, password, admin=admin)
    except services.AccountExists:
        raise click.ClickException(f"An account for {email} already exists.") from None
    click.echo(f"Created {user.role} account {user.email}.")


@click.command("set-password")
@with_appcontext
@click.argument("email")
def set_password_command(email: str) -> None:
    """Set a new password for an account and sign it out everywhere."""
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    password = read_new_password([user.email, user.display_name])
    services.change_password(user, password)
    click.echo(f"Password changed for {user.email}; every session of it is signed out.")


@click.command("seed-demo")
@with_appcontext
@click.option("--couples", default=12, show_default=True, help="Demo couples to create.")
@click.option("--sessions", default=6, show_default=True, help="Sessions per demo couple.")
def seed_demo_command(couples: int, sessions: int) -> None:
    """Create a demo therapist with demo data; running it again adds nothing twice."""
    from therapy import demo

    result = demo.seed(couples=couples, sessions=sessions)
    click.echo(f"email: {result.email}")
    click.echo(f"password: {result.password}")
    for line in result.summary:
        click.echo(line)


@click.command("seed-library")
@with_appcontext
def seed_library_command() -> None:
    """Load or update the built-in practices and exercises; custom exercises are untouched."""
    from therapy.library.catalog import LibraryDataError
    from therapy.library.seed import seed_library

    try:
        report = seed_library()
    except LibraryDataError as exc:
        raise click.ClickException(f"The library data is invalid: {exc}") from None
    click.echo(f"Library: {report}.")


@click.command("backup")
@with_appcontext
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(destination: Path) -> None:
    """Copy the live database consistently: SQLite's backup API, or pg_dump."""
    from therapy.backup import BackupError, backup

    db.session.remove()
    try:
        kind = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], destination)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up the database to {destination} ({kind}, readable by you only).")


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
def restore_command(source: Path, yes: bool) -> None:
    """Replace the database with a backup made by `flask backup` (stop the app first)."""
    from therapy.backup import BackupError, restore

    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    where = url.render_as_string(hide_password=True)
    if not yes:
        click.confirm(f"Replace everything in {where} with {source}?", abort=True)
    db.session.remove()
    db.engine.dispose()
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], source)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {where} from {source}.")


@click.command("export-couple")
@with_appcontext
@click.argument("couple_id", type=int)
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--without-private-of",
    type=click.Choice(["a", "b"]),
    help="Leave out this partner's private answers (an export for the other partner).",
)
def export_couple_command(
    couple_id: int, destination: Path, without_private_of: str | None
) -> None:
    """Write one couple's complete record (a records request) to a new ZIP file."""
    from therapy import audit
    from therapy.database import create_private_file
    from therapy.models import Couple, User
    from therapy.records import export

    couple = db.session.get(Couple, couple_id) if 0 < couple_id < 2**63 else None
    if couple is None:
        raise click.ClickException(f"There is no couple with number {couple_id}.")
    if not create_private_file(destination):
        raise click.ClickException(f"{destination} exists; choose a new file name.")
    owner = db.session.get(User, couple.owner_id)
    if owner is None:
        raise click.ClickException(f"Couple {couple_id} has no owner account.")
    try:
        with destination.open("wb") as target:
            record = export.write_zip(
                couple, target, therapist=owner, leave_out_private_of=without_private_of
            )
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    action = (
        "couple.export"
        if without_private_of is None
        else f"couple.export.without_{without_private_of}"
    )
    audit.record(action, record_type="couple", record_id=couple.id)
    db.session.commit()
    rows = sum(len(found) for found in record.tables.values())
    click.echo(
        f"Wrote couple {couple.id}'s record ({rows} rows) to {destination}, readable by you only."
    )


@click.command("restore-check")
@with_appcontext
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--postgres",
    "postgres_url",
    help="A PostgreSQL server URL to restore a pg_dump archive into a scratch database "
    "(default: DATABASE_URL when it is PostgreSQL).",
)
def restore_check_command(source: Path, postgres_url: str | None) -> None:
    """Open a backup in a scratch database and report table counts and integrity."""
    from alembic.script import ScriptDirectory

    from therapy import MIGRATIONS
    from therapy.backup import BackupError
    from therapy.records.restore_check import check_backup

    configured = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if postgres_url is None and make_url(configured).get_backend_name() == "postgresql":
        postgres_url = configured
    try:
        report = check_backup(source, postgres_url=postgres_url)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    heads = tuple(ScriptDirectory(str(MIGRATIONS)).get_heads())
    for line in report.lines(heads):
        click.echo(line)
    if not report.ok:
        raise click.ClickException("The backup did not pass the check.")


@click.command("send-due")
@with_appcontext
@click.option("--quiet", is_flag=True, help="Print nothing when nothing was sent.")
def send_due_command(quiet: bool) -> None:
    """Queue scheduled messages that are due, then send every due message once."""
    from therapy import mail
    from therapy.week import sending

    with current_app.test_request_context(base_url=sending.base_url()):
        planned = sending.plan_scheduled()
        report = mail.send_due()
    report.planned = planned
    if not quiet or report.sent or report.failed or report.uncertain or planned:
        click.echo(f"Mail: {report}.")


def init_app(app: Flask) -> None:
    for command in (
        send_due_command,
        create_user_command,
        set_password_command,
        seed_demo_command,
        seed_library_command,
        backup_command,
        restore_command,
        export_couple_command,
        restore_check_command,
    ):
        app.cli.add_command(command)
