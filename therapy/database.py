"""Connection settings: SQLite safe with several writers, no row values in error messages."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext

SQLITE_BUSY_TIMEOUT_MS = 10_000
QUOTED = re.compile(r'"[^"]*"')


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
