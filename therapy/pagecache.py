"""Parts of pages kept in a worker's memory while nothing they show can have changed.

The caseload, the dashboard, a couple's page, their progress and a session's plan
builder are read far more often than anything on them changes, and each costs a dozen
queries and their rows turned into HTML. A kept part is found by a key made of:

- the *data version*: a random token in the `data_version` table, replaced in the same
  transaction as every write (see `_replace_token`), so a reader that sees the new
  token also sees the new data, on every worker and every app instance on the
  database, Redis or not;
- who is signed in (their time zone, their browser session), and what the page was
  asked for;
- the minute: what depends on the clock ("today", the next seven days, "no session for
  three weeks") is looked at again at least once a minute, and nothing outlives it.

A part is read only by the therapist and the browser session it was made for (its forms
carry that session's CSRF token), and lives at most a minute past the data it shows.
What a page must do on every request stays outside its part: the access check (and its
audit of a shared couple), the audit event of an opened couple. Writes to the audit
trail alone do not change the token, since every opened couple writes one and no kept
part reads it except the dashboard's "Recently viewed", which is keyed also on a mark
the browser session carries (`note_view`): replaced each time another couple is opened
in it, so a couple opened in this browser is listed at once, and one opened in another of the
therapist's browsers within the minute.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, render_template, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import Engine, event, inspect, select, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from therapy.extensions import db
from therapy.models import AuditEvent, DataVersion, User

T = TypeVar("T")

PARTS_KEPT = 256  # per worker; 10-130 KB of HTML each (the caseload, a progress page)
# Tables whose writes leave the token alone: nothing kept reads them.
UNSHOWN_TABLES = frozenset({AuditEvent.__tablename__})
# The kept pages, as GET requests. On PostgreSQL they start without a transaction
# (load_user); a part that must be made gets one (_in_transaction), since making one may
# write (the built-in measures are added when first needed). Outside parts, these pages
# only read, and write audit events of one statement each.
AUTOCOMMIT = "tandem_autocommit"
READING_PAGES = frozenset(
    {"couples.index", "main.dashboard", "couples.profile", "progress.show", "sessions.builder"}
)
WROTE = "tandem_pagecache_wrote"
VIEWED = "_viewed"  # the session's mark of its last opened couple (note_view)
REPLACE_TOKEN = text(
    "INSERT INTO data_version (id, token) VALUES (1, :token) "
    "ON CONFLICT (id) DO UPDATE SET token = excluded.token"
)


class PartCache:
    """This worker's kept parts: a bounded LRU, shared by its threads."""

    def __init__(self, size: int = PARTS_KEPT) -> None:
        self.size = size
        self._parts: OrderedDict[tuple[Hashable, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[tuple[Hashable, ...], threading.Lock] = {}

    def get_or_make(self, key: tuple[Hashable, ...], make: Callable[[], T]) -> T:
        """The part kept under `key`, else `make()`'s, kept. One thread makes a missing
        part while the worker's others asking for it wait: when the minute turns, a
        worker's four threads each made the same progress page at once, four times the
        CPU, and every request queued behind them waited for all four."""
        kept = self.get(key)
        if kept is not None:
            return kept
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        try:
            with making:
                kept = self.get(key)
                if kept is None:
                    kept = make()
                    self.put(key, kept)
                return kept
        finally:
            with self._lock:
                if self._making.get(key) is making:  # not a later thread's own lock
                    del self._making[key]

    def __len__(self) -> int:
        return len(self._parts)

    def get(self, key: tuple[Hashable, ...]) -> Any:
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                self._parts.move_to_end(key)
            return part

    def put(self, key: tuple[Hashable, ...], part: Any) -> None:
        with self._lock:
            self._parts[key] = part
            while len(self._parts) > self.size:
                self._parts.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()


def init_app(app: Flask) -> None:
    app.extensions["tandem.pagecache"] = PartCache()


def _cache() -> PartCache | None:
    if not current_app.config.get("PAGE_CACHE", True):
        return None
    cache: PartCache | None = current_app.extensions.get("tandem.pagecache")
    return cache


def data_version() -> str | None:
    """The token as this request first read it (None: no row yet, nothing is kept)."""
    if "data_version" not in g:
        g.data_version = (
            db.session.scalar(select(DataVersion.token).where(DataVersion.id == 1))
            if _versioned(db.session())
            else None
        )
    token: str | None = g.data_version
    return token


def load_user(user_id: int) -> User | None:
    """The signed-in user by id, and the data version read in the same query: every page
    loads its user first, so a kept page costs one round trip to the database, not two.
    (Read before anything the page shows, as data_version must be.)"""
    session = db.session()
    if _reads_only(session):
        # psycopg opens a transaction with a BEGIN of its own before the first statement,
        # and the pool closes it with a ROLLBACK: two round trips to PostgreSQL on every
        # kept page, whose every statement (at READ COMMITTED) sees the data as of its own
        # start anyway. In autocommit mode there is neither; the pool resets the mode.
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.setdefault(AUTOCOMMIT, True)
    if _cache() is None or not _versioned(session):
        return session.get(User, user_id)
    row = session.execute(
        select(User, DataVersion.token)
        .outerjoin(DataVersion, DataVersion.id == 1)
        .where(User.id == user_id)
    ).first()
    if row is None:
        return None
    user, g.data_version = row
    return user


def _reads_only(session: Session) -> bool:
    return (
        has_request_context()
        and request.method in ("GET", "HEAD")
        and request.endpoint in READING_PAGES
        and not session.in_transaction()
        and session.get_bind().dialect.name == "postgresql"
    )


def part(name: str, key: tuple[Hashable, ...], make: Callable[[], T], user: Any) -> T:
    """`make()`, or what it gave for the same `name`, `key`, `user`, browser session and
    data version this minute. `user` is the signed-in therapist: parts are never shared
    between two, nor between two of their browsers (a part's forms carry the session's
    CSRF token). What `make` returns is shared by the worker's threads: text or tuples."""
    cache = _cache()
    token = data_version() if cache is not None else None
    # A message waiting to be shown (a page may show it inside its part): made afresh,
    # and not kept, so the message shows once and only once.
    if cache is None or token is None or session.get("_flashes"):
        return _in_transaction(make)()
    generate_csrf()  # the session's CSRF secret exists before it is part of the key
    secret = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    full_key = (name, token, _minute(), user.id, user.timezone, secret, *key)
    return cache.get_or_make(full_key, _in_transaction(make))


def _in_transaction(make: Callable[[], T]) -> Callable[[], T]:
    """`make`, run in a transaction: what it writes commits with the data version, at
    once, and the rest of the request is transactional as any other page's."""

    def made() -> T:
        if g.pop(AUTOCOMMIT, False):
            # The connection is between statements (no transaction open in autocommit
            # mode); the driver's next statement begins one. SQLAlchemy still commits and
            # rolls back through the driver, and resets the mode when the pool takes it.
            db.session.connection().connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]
        return make()

    return made


def rendered(template: str, **context: Any) -> Markup:
    """`template` rendered as a part's content, to be placed in its page as it is: Jinja's
    own output, escaped as it rendered."""
    return Markup(render_template(template, **context))  # noqa: S704


def note_view(couple_id: int) -> None:
    """Mark this browser session: it opened this couple (what `viewed_mark` returns changes,
    unless it was the couple opened last, which leaves the list as it was). The cookie is
    signed and sent again only when the mark changes."""
    mark = session.get(VIEWED)
    if not (isinstance(mark, str) and mark.partition(".")[0] == str(couple_id)):
        session[VIEWED] = f"{couple_id}.{secrets.token_hex(4)}"


def viewed_mark() -> str | None:
    """The session's mark, replaced each time another couple is opened in it: a key for
    parts that show the couples opened last."""
    mark: str | None = session.get(VIEWED)
    return mark


def _minute() -> int:
    return int(time.time() // 60)


def forget() -> None:
    """Drop this request's reading of the token (after it wrote something itself)."""
    g.pop("data_version", None)


# Every session (this app's and any other's in the process) marks the writes it makes
# and replaces the token in the same transaction, just before it commits.


def _mark(session: Session) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, flush_context: UOWTransaction) -> None:
    changed = [*session.new, *session.dirty, *session.deleted]
    if any(getattr(obj, "__tablename__", None) not in UNSHOWN_TABLES for obj in changed):
        _mark(session)


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    # insert(), update(), delete() and text(): anything but a SELECT may have written.
    if state.is_select:
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in UNSHOWN_TABLES:
        _mark(state.session)


# Whether each database (by engine) has the data_version table: not before its migration
# ran. Looked up once, and again after migrations run in this process (see env.py).
_has_table: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()
_has_table_lock = threading.Lock()


def schema_changed() -> None:
    with _has_table_lock:
        _has_table.clear()


def _versioned(session: Session) -> bool:
    engine = session.get_bind()
    found = _has_table.get(engine)  # type: ignore[arg-type]
    if found is None:
        found = inspect(session.connection()).has_table(DataVersion.__tablename__)
        with _has_table_lock:
            _has_table[engine] = found  # type: ignore[index]
    return found


@event.listens_for(Session, "before_commit")
def _replace_token(session: Session) -> None:
    """A new token, written last in the transaction that made the change."""
    if session.in_nested_transaction():
        return
    session.flush()  # what is still pending, so after_flush can mark it
    if not session.info.pop(WROTE, False) or not _versioned(session):
        return
    session.execute(REPLACE_TOKEN, {"token": uuid.uuid4().hex})
    session.info.pop(WROTE, None)  # the token's own write
    with contextlib.suppress(RuntimeError):  # no app context: nothing was read
        forget()
