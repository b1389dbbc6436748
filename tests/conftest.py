"""Fixtures: an app per test on SQLite (and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import create_engine, event, func, insert, make_url, select, text
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from therapy import create_app, pdf
from therapy.extensions import db, limiter

TEST_PASSWORD = "correct horse battery staple"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
# With TEST_DATABASE_URL set (CI, `make test`), tests run on PostgreSQL, which a practice
# runs; SQLite as well only in the modules whose subject differs on it: backups and their
# checks, migrations, settings and commands, search, locking, time zones, record exports
# and the route fuzz (int64 ids, SQLite's loose types). Running every test on both took
# the suite past ten minutes on two cores. TANDEM_TEST_BACKENDS=all runs every test on
# both; without TEST_DATABASE_URL everything runs on SQLite. A test elsewhere can ask for
# SQLite too with @pytest.mark.sqlite_too (the caseload's search, sorting and paging).
SQLITE_TOO = {
    "test_backup",
    "test_checkin_questions",
    "test_cli",
    "test_concurrency",
    "test_config",
    "test_fuzz_routes",
    "test_migrations",
    "test_records",
    "test_restore_check",
    "test_timezones",
}
ALL_BACKENDS = os.environ.get("TANDEM_TEST_BACKENDS") == "all"
# pytest-xdist runs the suite in several processes ("gw0", "gw1", ...); each gets its own
# PostgreSQL database and Redis database so one worker's clean-up never touches another's.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0


def worker_redis_url(url: str | None) -> str | None:
    if not url or not WORKER:
        return url
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number - WORKER_INDEX) % 16}"))


REDIS_URL = worker_redis_url(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the SQLite runs that PostgreSQL runs stand for (see SQLITE_TOO)."""
    if not POSTGRES_URL or ALL_BACKENDS:
        return
    kept, left_out = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("database_url") if params else None
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        wanted = module in SQLITE_TOO or item.get_closest_marker("sqlite_too")
        if backend == "sqlite" and not wanted:
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


class SharedBytecode(BytecodeCache):
    """Compiled templates kept for every app this process builds: each test builds its own
    app, and compiling the templates a test renders again for each took ~30 ms a test."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


SHARED_BYTECODE = SharedBytecode()


_compile_builder = Rule._compile_builder
_BUILDERS: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


def _shared_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
    """Werkzeug writes and compiles two URL-building functions for every route of every
    app (~50 ms for Tandem's, about a third of a test's set-up), and each test builds its
    own app. A function's code follows only from the rule, its parsed parts, the names of
    its defaults and `append_unknown`, and it reads the rule's converters through the
    rule it is bound to when called: apps of one test process share them. A rule whose
    default fills one of its own variables bakes in a converted value: not shared."""
    defaults = self.defaults or {}
    if any(dynamic and part in defaults for dynamic, part in self._trace):
        return _compile_builder(self, append_unknown)
    key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
    if key not in _BUILDERS:
        _BUILDERS[key] = _compile_builder(self, append_unknown)
    return _BUILDERS[key]


Rule._compile_builder = _shared_builder  # type: ignore[method-assign]


def base_config(database_url: str) -> dict[str, Any]:
    """What every test app shares: fast hashing, its own rate-limit counters."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        # This worker's own Redis database, for everything that reads REDIS_URL (the PDF
        # cache too): the environment's REDIS_URL is shared by every xdist worker.
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_STORAGE_URI": REDIS_URL or "memory://",
        # No handout made ahead after every plan save (tests/test_perf.py turns it on).
        "PDF_RENDER_AHEAD": False,
    }


def build_app(database_url: str, instance: Path, **overrides: Any) -> Flask:
    app = create_app({**base_config(database_url), **overrides}, instance_path=str(instance))
    # Nothing is loaded yet: the cache is asked on each template's first load.
    app.jinja_env.bytecode_cache = SHARED_BYTECODE
    with app.app_context():
        # One limiter serves every app in this process; start each test with no counts.
        limiter.reset()
    return app


@pytest.fixture
def pdf_app(tmp_path: Path) -> Iterator[Flask]:
    """An app for PDF tests (tests/pdf_helpers.py), its PDF cache emptied after each."""
    from tests.pdf_helpers import make_pdf_app  # it imports this module

    app = make_pdf_app(tmp_path / "instance")
    with app.app_context():
        yield app
        pdf.clear_cache()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file built once by the migrations; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite"
    app = build_app(f"sqlite:///{path}", folder)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    # Closing the last connection folds the write-ahead log into the file we copy.
    assert not path.with_name(path.name + "-wal").exists()
    return path


def _worker_database(url: str) -> tuple[str, Callable[[], None]]:
    """This worker's own copy of the CI database (created empty), and how to drop it."""
    if not WORKER:
        return url, lambda: None
    base = make_url(url)
    name = f"{base.database}_{WORKER}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def run(statement: str) -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(statement)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The CI PostgreSQL database (one per worker), migrated from empty once per run."""
    assert POSTGRES_URL
    url, drop = _worker_database(POSTGRES_URL)
    app = build_app(url, tmp_path_factory.mktemp("pg"))
    with app.app_context():
        db.session.execute(text("DROP SCHEMA public CASCADE"))
        db.session.execute(text("CREATE SCHEMA public"))
        db.session.commit()
        upgrade()
        db.engine.dispose()
    yield url
    drop()


# Cleanups in this process; every VACUUM_EVERY-th also vacuums (see _empty_postgres).
CLEANUPS = iter(range(1, 1_000_000))
VACUUM_EVERY = 4


def _empty_postgres(app: Flask) -> None:
    """Every row deleted and every sequence back at 1. DELETE, not TRUNCATE: a test leaves
    a few rows, and TRUNCATE gives each of the ~40 tables new files (80 ms a test; 22).
    All in one round trip (psycopg runs several statements sent without parameters): 14 ms.

    Deleted rows stay in the tables as dead rows until a VACUUM, and autovacuum did not
    come by during a run: after 300 tests that load the library, deleting it took 850 ms
    (and loading it slowed as its unique index filled with dead keys). A plain VACUUM
    every few tests keeps both flat, for ~5-30 ms each time."""
    with app.app_context():
        dialect = db.engine.dialect
        statements = [
            str(table.delete().compile(dialect=dialect))
            for table in reversed(db.metadata.sorted_tables)
        ]
        statements.append("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
        db.session.remove()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(";\n".join(statements))
        if next(CLEANUPS) % VACUUM_EVERY == 0:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
                vacuum.exec_driver_sql("VACUUM")
        db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "tandem.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def close_redis(app: Flask) -> None:
    """Close the app's connections to Redis (the PDF and chart caches). Left to the garbage
    collector, a socket's ResourceWarning fails whichever later test is running then."""
    pdf = app.extensions.get("tandem_pdf")
    for cache in (getattr(pdf, "cache", None), app.extensions.get("tandem.charts")):
        close = getattr(cache, "close", None)
        if close is not None:
            close()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = build_app(database_url, tmp_path / "instance")
    app.test_client_class = Client
    yield app
    close_redis(app)
    if database_url.startswith("postgresql"):
        _empty_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an extra app on the test's database with some settings changed."""
    built: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = build_app(database_url, tmp_path / f"instance-{len(built)}", **overrides)
        app.test_client_class = Client
        built.append(app)
        return app

    yield make
    for app in built:
        close_redis(app)
        with app.app_context():
            db.engine.dispose()


class Client(FlaskClient):
    """A test client that sends the CSRF token a browser would: the one its session's
    pages carry."""

    def csrf_token(self) -> str:
        """The token a page of this session carries: signed from the session's raw token as
        Flask-WTF signs it (the page is fetched only while the session has none). Fetching
        a page before every post, the dashboard once signed in, took ~17 ms a post."""
        raw = self._session().get("csrf_token")
        if isinstance(raw, str):
            app = self.application
            signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
            return str(signer.dumps(raw))
        page = self.get("/login", follow_redirects=True).get_data(as_text=True)
        match = CSRF_META.search(page)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def _session(self) -> dict[str, Any]:
        """The signed session cookie's contents, as the app would read them."""
        app = self.application
        name = app.config["SESSION_COOKIE_NAME"]
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        for (_, _, key), cookie in self._cookies.items():
            if key == name and serializer is not None:
                try:
                    return dict(serializer.loads(cookie.value))
                except BadSignature:
                    return {}
        return {}

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any) -> TestResponse:
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)) and "csrf_token" not in (data or {}):
            kwargs["data"] = {**(data or {}), "csrf_token": self.csrf_token()}
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> Client:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@dataclass
class Account:
    id: int
    email: str
    password: str


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Account]:
    """Create an account directly; returns its id, email and password."""
    from therapy.auth import services

    counter = iter(range(1, 10_000))

    def make(
        email: str | None = None,
        *,
        name: str = "Test Therapist",
        admin: bool = False,
        password: str = TEST_PASSWORD,
    ) -> Account:
        email = email or f"therapist{next(counter)}@example.com"
        with app.app_context():
            user = services.create_user(email, name, password, admin=admin)
            return Account(user.id, user.email, password)

    return make


class AuthActions:
    def __init__(self, client: Client):
        self.client = client

    def login(
        self,
        account: Account | None = None,
        *,
        email: str | None = None,
        password: str | None = None,
    ) -> TestResponse:
        return self.client.post(
            "/login",
            data={
                "email": email if email is not None else account.email if account else "",
                "password": password
                if password is not None
                else account.password
                if account
                else "",
            },
        )

    def logout(self) -> TestResponse:
        return self.client.post("/logout")


@pytest.fixture
def auth(client: Client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def therapist(make_user: Callable[..., Account]) -> Account:
    return make_user("first@example.com", name="Dr. First")


@pytest.fixture
def logged_in(client: Client, auth: AuthActions, therapist: Account) -> Client:
    response = auth.login(therapist)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


class Library:
    """The seeded built-in library, with exercises looked up by their data-file key."""

    def __init__(self, app: Flask) -> None:
        from sqlalchemy import select

        from therapy.models import Exercise

        with app.app_context():
            rows = db.session.execute(select(Exercise.key, Exercise.id)).all()
        self.ids: dict[str, int] = {key: id_ for key, id_ in rows if key}

    def id(self, key: str) -> int:
        return self.ids[key]


# The rows `seed_library` writes into an empty library, kept by dialect for the rest of
# this process: 416 tests load the library, and seeding took ~130 ms a test on PostgreSQL
# (reading the data files, building and flushing ~150 ORM objects); copying the rows back
# takes a fraction of that. tests/test_library*.py and `flask seed-library` still seed.
SEEDED_LIBRARY: dict[str, list[tuple[Any, list[dict[str, Any]]]]] = {}


def _library_tables() -> list[Any]:
    from therapy.models import Exercise, Practice

    return [Practice.__table__, Exercise.__table__]


def _load_library() -> None:
    """What `flask seed-library` does, from this process's copy of its rows when it has one."""
    from therapy.library.seed import seed_library

    tables = _library_tables()
    dialect = db.engine.dialect.name
    empty = all(db.session.scalar(select(func.count()).select_from(t)) == 0 for t in tables)
    if not empty:
        seed_library()
        return
    saved = SEEDED_LIBRARY.get(dialect)
    if saved is None:
        seed_library()
        SEEDED_LIBRARY[dialect] = [
            (table, [dict(row._mapping) for row in db.session.execute(select(table))])
            for table in tables
        ]
        return
    for table, rows in saved:
        db.session.execute(insert(table), rows)
        if dialect == "postgresql":
            # The ids were written as given: move the table's sequence past them.
            highest = select(func.max(table.c.id)).scalar_subquery()
            sequence = func.pg_get_serial_sequence(table.name, "id")
            db.session.execute(select(func.setval(sequence, highest)))
    db.session.commit()


@pytest.fixture
def library(app: Flask) -> Library:
    """Load the built-in practices and exercises, as `flask seed-library` does."""
    with app.app_context():
        _load_library()
    return Library(app)


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """A context manager that records every SQL statement sent while it is open."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not statement.startswith(("BEGIN", "PRAGMA")):
                counter.statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def make_couple(app: Flask) -> Callable[..., int]:
    """Create a couple for an account directly (no request); returns its id."""
    from therapy.couples import services
    from therapy.models import User

    def make(owner: Account, first_a: str = "Alex", first_b: str = "Sam", **fields: Any) -> int:
        with app.app_context():
            data = services.CoupleData(
                partner_a=services.PartnerData(first_a),
                partner_b=services.PartnerData(first_b),
                **fields,
            )
            return services.create_couple(db.session.get(User, owner.id), data).id

    return make


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback TCP port that records whether anything tried to connect (see
    pdf_helpers.connection_attempted): PDFs must never reach the network."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server
    server.close()
