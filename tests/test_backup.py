"""`flask backup` and `flask restore`, run as the README gives them, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, make_url, select, text

from therapy.extensions import db

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "app"]


def flask(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a `flask --app app` command the way the README writes it, against database_url."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "backup-test-secret-key-long-enough-to-pass",
        "TANDEM_ENV": "development",
    }
    return subprocess.run(  # noqa: S603
        [*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def table_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: connection.scalar(select(func.count()).select_from(table)) or 0
                for table in db.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.fixture
def records(app, library, make_couple, therapist):
    """A therapist, the library and two couples: rows in most tables."""
    make_couple(owner=therapist, first_a="Alex", first_b="Sam")
    make_couple(owner=therapist, first_a="Robin", first_b="Kai")


def test_sqlite_backup_is_private_and_restores(app, runner, records, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite round trip")
    copy = tmp_path / "copy.sqlite"
    result = runner.invoke(args=["backup", str(copy)])
    assert result.exit_code == 0, result.output
    assert private(copy)
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT count(*) FROM couples").fetchone() == (2,)
    before = table_counts(database_url)
    with app.app_context():
        db.session.execute(text("DELETE FROM couple_tags"))
        db.session.execute(text("UPDATE partners SET first_name = 'changed'"))
        db.session.commit()
    restored = runner.invoke(args=["restore", str(copy), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert table_counts(database_url) == before
    with sqlite3.connect(make_url(database_url).database) as connection:
        labels = {row[0] for row in connection.execute("SELECT first_name FROM partners")}
    assert "changed" not in labels
    again = runner.invoke(args=["backup", str(copy)])
    assert again.exit_code != 0 and "exists" in again.output


def test_restore_asks_before_replacing(runner, records, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite file")
    copy = tmp_path / "copy.sqlite"
    assert runner.invoke(args=["backup", str(copy)]).exit_code == 0
    refused = runner.invoke(args=["restore", str(copy)], input="n\n")
    assert refused.exit_code != 0 and "Aborted" in refused.output


def test_restore_refuses_a_file_that_is_not_a_backup(runner, tmp_path):
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a backup at all")
    result = runner.invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code != 0 and "not a" in result.output


@pytest.fixture
def fresh_postgres(database_url):
    """An empty database next to the test's own, dropped afterwards."""
    base = make_url(database_url)
    name = f"{base.database}_restore"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL round trip")


def test_postgres_backup_and_restore_with_the_apps_own_url(
    postgres_only, app, records, tmp_path, database_url, fresh_postgres
):
    # The app's URL names the driver (postgresql+psycopg://); pg_dump given it as-is
    # took it for a database name, exited 1 and left a 0-byte dump.
    assert database_url.startswith("postgresql+psycopg://")
    with app.app_context():
        db.session.remove()
    dump = tmp_path / "tandem.dump"
    made = flask(database_url, "backup", str(dump))
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 0 and private(dump)
    assert dump.read_bytes().startswith(b"PGDMP")
    source = table_counts(database_url)
    assert source["couples"] == 2 and source["exercises"] > 50

    # Into a fresh database (pg_restore --clean used to exit 1 there: "errors ignored").
    restored = flask(fresh_postgres, "restore", str(dump), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert table_counts(fresh_postgres) == source
    # And again over the restored one: --clean replaces, it does not duplicate.
    again = flask(fresh_postgres, "restore", str(dump), "--yes")
    assert again.returncode == 0, again.stderr
    assert table_counts(fresh_postgres) == source


def test_postgres_backup_fails_loudly_and_leaves_no_file(postgres_only, tmp_path, database_url):
    missing = make_url(database_url).set(database="tandem_no_such_database")
    dump = tmp_path / "tandem.dump"
    result = flask(missing.render_as_string(hide_password=False), "backup", str(dump))
    assert result.returncode != 0
    assert "pg_dump failed" in result.stderr and "tandem_no_such_database" in result.stderr
    assert not dump.exists()


def test_postgres_restore_of_a_broken_archive_changes_nothing(
    postgres_only, app, records, tmp_path, database_url, fresh_postgres
):
    with app.app_context():
        db.session.remove()
    dump = tmp_path / "tandem.dump"
    assert flask(database_url, "backup", str(dump)).returncode == 0
    assert flask(fresh_postgres, "restore", str(dump), "--yes").returncode == 0
    before = table_counts(fresh_postgres)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    result = flask(fresh_postgres, "restore", str(broken), "--yes")
    assert result.returncode != 0 and "pg_restore failed" in result.stderr
    assert table_counts(fresh_postgres) == before
