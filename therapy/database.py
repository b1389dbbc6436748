"""Connection settings: SQLite safe with several writers and its files private; no row
values in error messages."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine, ExceptionContext

SQLITE_BUSY_TIMEOUT_MS = 10_000
QUOTED = re.compile(r'"[^"]*"')
# Clinical records: readable by the account that runs Tandem only. SQLite gives its -wal
# and -shm files the database file's own mode, so creating that one private is enough.
PRIVATE_FILE_MODE = 0o600


def create_private_file(path: str | Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; True when it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    # The mode given to open() is narrowed by the umask, never widened; set it exactly.
    os.chmod(path, PRIVATE_FILE_MODE)
    return True


@event.listens_for(Engine, "do_connect")
def _create_sqlite_private(
    dialect: Dialect, _record: Any, cargs: list[Any], cparams: dict[str, Any]
) -> None:
    # SQLite would create a new database file 0644 (readable by every local account).
    # An empty file is a valid empty database, so we create it first, 0600.
    if dialect.name != "sqlite" or cparams.get("uri") or not cargs:
        return
    filename = cargs[0]
    if isinstance(filename, str) and filename not in ("", ":memory:"):
        # On an error (e.g. no such folder) SQLite's own message says so next.
        with contextlib.suppress(OSError):
            create_private_file(filename)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # The driver's own transaction handling would issue a deferred BEGIN; we issue ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_immediate(connection: Connection) -> None:
    # A deferred transaction that later writes can fail at once with "database is locked"
    # when another process wrote meanwhile; taking the write lock up front makes it wait
    # for busy_timeout instead. Readers are never blocked in WAL mode.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Engine, "handle_error")
def _drop_row_values(context: ExceptionContext) -> None:
    # hide_parameters (config.engine_options) keeps the bound values out of an error's
    # text, but PostgreSQL repeats them itself: in the DETAIL line ("Key (key)=(grief)
    # already exists", "Failing row contains (..., <presenting concerns>, ...)") and, for
    # data exceptions (SQLSTATE class 22), quoted in the message ('invalid input syntax
    # for type integer: "..."'). The driver's error and SQLAlchemy's (whose text was
    # built from it already) keep the primary message only; `.diag` still has the rest.
    error = context.original_exception
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if not primary:
        return
    if (getattr(diag, "sqlstate", None) or "").startswith("22"):
        primary = QUOTED.sub('"…"', primary)
    error.args = (primary,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        wrapped.args = (f"({type(error).__module__}.{type(error).__name__}) {primary}",)
