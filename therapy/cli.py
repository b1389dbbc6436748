"""Command-line tasks: accounts, demo data, backups."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from therapy.auth import services
from therapy.auth.passwords import password_problem
from therapy.database import create_private_file
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
    """Copy a live SQLite database consistently (for PostgreSQL, use pg_dump)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or not url.database:
        raise click.ClickException(
            "backup copies SQLite databases. For PostgreSQL run: "
            'pg_dump --format=custom --file=tandem.dump "$DATABASE_URL"'
        )
    # Created here, 0600 and only if new: the copy holds every clinical record.
    if not create_private_file(destination):
        raise click.ClickException(f"{destination} exists; choose a new file name.")
    db.session.remove()
    source = sqlite3.connect(url.database)
    target = sqlite3.connect(destination)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    click.echo(f"Backed up {url.database} to {destination}.")


def init_app(app: Flask) -> None:
    for command in (
        create_user_command,
        set_password_command,
        seed_demo_command,
        seed_library_command,
        backup_command,
    ):
        app.cli.add_command(command)
