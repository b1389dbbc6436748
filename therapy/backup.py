"""Backups and restores of Tandem's database, from the app's own DATABASE_URL.

SQLite is copied with its backup API, consistent while the app runs. PostgreSQL is
dumped with `pg_dump --format=custom` and restored with `pg_restore`: both tools want a
libpq URL (`postgresql://`), not SQLAlchemy's `postgresql+psycopg://`, which pg_dump
would take for a database name and then leave a 0-byte file. The password travels in
PGPASSWORD, never on a command line that `ps` shows. Every failure raises with the
tool's own words and leaves no partial file behind; every copy is readable by its
owner only, since it holds clinical records.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from therapy.database import create_private_file

SQLITE_HEADER = b"SQLite format 3\x00"
PG_CUSTOM_HEADER = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore did not complete; the message says why."""


def libpq_url(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL without its password, and the environment that carries the password."""
    env = {"PGPASSWORD": url.password} if url.password else {}
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found. Install PostgreSQL's client tools "
            "(Debian: apt-get install postgresql-client) in the server's major version."
        )
    return path


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603  (fixed tool, arguments as a list)
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise BackupError(f"{Path(command[0]).name} failed: {detail}")


def _create_private(path: Path) -> None:
    """Create an empty file only its owner can read; refuse to overwrite anything."""
    if not create_private_file(path):
        raise BackupError(f"{path} exists; choose a new file name.")


def backup(database_url: str, destination: Path) -> str:
    """Write a consistent copy of the database to destination; returns its kind."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql") or (backend == "sqlite" and not url.database):
        raise BackupError(f"Backups support SQLite files and PostgreSQL, not {backend}.")
    _create_private(destination)
    try:
        if backend == "sqlite":
            _sqlite_copy(Path(url.database or ""), destination)
        else:
            target, env = libpq_url(url)
            _run(
                [_tool("pg_dump"), "--format=custom", f"--file={destination}", target],
                env,
            )
            if destination.stat().st_size == 0:
                raise BackupError("pg_dump wrote nothing.")
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    return "SQLite copy" if backend == "sqlite" else "pg_dump custom archive"


def _sqlite_copy(source: Path, destination: Path) -> None:
    if not source.exists():
        raise BackupError(f"There is no database at {source}.")
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(destination)
    try:
        with writer:
            reader.backup(writer)
    finally:
        writer.close()
        reader.close()


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with a backup made by `backup`."""
    url = make_url(database_url)
    if not source.is_file():
        raise BackupError(f"There is no backup at {source}.")
    header = source.read_bytes()[:16]
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not header.startswith(SQLITE_HEADER):
            raise BackupError(f"{source} is not a SQLite backup.")
        if not url.database:
            raise BackupError("DATABASE_URL names no SQLite file.")
        target = Path(url.database)
        if not target.exists():
            _create_private(target)
        _sqlite_copy(source, target)
        return
    if backend != "postgresql":
        raise BackupError(f"Restores support SQLite files and PostgreSQL, not {backend}.")
    if not header.startswith(PG_CUSTOM_HEADER):
        raise BackupError(f"{source} is not a pg_dump custom-format archive.")
    target_url, env = libpq_url(url)
    # --clean --if-exists drops what the archive holds, and only what exists, so a fresh
    # database and one in use both restore without "errors ignored"; one transaction and
    # --exit-on-error mean a failed restore changes nothing.
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={target_url}",
            str(source),
        ],
        env,
    )
