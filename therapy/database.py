"""Connection settings: SQLite safe with several writers and its files private; no row
values in error messages."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Dialect, Engine, ExceptionContext
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

SQLITE_BUSY_TIMEOUT_MS = 10_000
# A pooled connection that sat unused for longer than this is tested before a request
# gets it (see ping_idle_connections). Shorter than any database restart: stopping and
# starting an empty PostgreSQL cluster (pg_ctl -m fast, fsync off) took 0.23 s here.
PING_AFTER_IDLE_S = 0.1
IDLE_SINCE = "tandem_idle_since"
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


def ping_idle_connections(engine: Engine) -> None:
    """Test a pooled connection before use when it sat idle past PING_AFTER_IDLE_S.

    After a database restart every pooled connection is dead, and without a test the first
    request on each would fail. SQLAlchemy's pool_pre_ping tests on every checkout: one
    more round trip to the database on every request (0.5 ms of a 2 to 3 ms page here),
    though a connection handed back a few milliseconds ago, as under load, cannot have
    missed a restart. A failed test invalidates the whole pool, as pool_pre_ping does, and
    the request gets a new connection. (SQLite has no server to lose: never tested.)"""
    if engine.dialect.name == "sqlite":
        return
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)  # none yet: a new connection
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            raise exc.InvalidatePoolError("the pooled connection was lost") from error


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
