"""`flask restore-check`: a backup opened in a scratch place, its counts and integrity."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.test_backup import flask, table_counts
from therapy.extensions import db


@pytest.fixture
def records(app, library, make_couple, therapist):
    make_couple(owner=therapist, first_a="Alex", first_b="Sam")
    make_couple(owner=therapist, first_a="Robin", first_b="Kai")


def report_counts(output: str) -> dict[str, int]:
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def head_revision(app) -> str:
    with app.app_context():
        return str(db.session.execute(text("SELECT version_num FROM alembic_version")).scalar())


def test_sqlite_backup_checks_sound_with_its_counts(app, records, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite backup")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    copy = tmp_path / "copy.sqlite"
    assert flask(database_url, "backup", str(copy)).returncode == 0
    result = flask(database_url, "restore-check", str(copy))
    assert result.returncode == 0, result.stderr
    assert "Result: sound" in result.stdout
    assert "integrity_check says ok" in result.stdout
    assert "foreign_key_check finds no row" in result.stdout
    assert f"Database revision: {head_revision(app)} (the same as this code)" in result.stdout
    counts = report_counts(result.stdout)
    expected = table_counts(database_url)
    assert {name: counts[name] for name in expected} == expected
    assert counts["couples"] == 2


def test_sqlite_backup_with_a_missing_parent_fails(app, records, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite backup")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    copy = tmp_path / "copy.sqlite"
    assert flask(database_url, "backup", str(copy)).returncode == 0
    with sqlite3.connect(copy) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("UPDATE partners SET couple_id = 999 WHERE id = 1")
    result = flask(database_url, "restore-check", str(copy))
    assert result.returncode != 0
    assert "partners row 1 points at a missing couples row" in result.stdout
    assert "Result: FAILED" in result.stdout


def test_a_damaged_sqlite_file_fails(app, records, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite backup")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    copy = tmp_path / "copy.sqlite"
    assert flask(database_url, "backup", str(copy)).returncode == 0
    data = bytearray(copy.read_bytes())
    page = 4096
    for start in range(page * 2, len(data) - page, page):  # every page but the first two
        data[start + 8 : start + 200] = b"\xff" * 192
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(bytes(data))
    result = flask(database_url, "restore-check", str(damaged))
    assert result.returncode != 0
    assert "FAILED" in result.stdout or "Error" in result.stderr


def test_something_else_is_refused(app, tmp_path, database_url):
    other = tmp_path / "notes.txt"
    other.write_text("not a backup")
    result = flask(database_url, "restore-check", str(other))
    assert result.returncode != 0
    assert "neither a SQLite file nor a pg_dump" in result.stderr


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL")
    if not shutil.which("pg_restore"):
        pytest.skip("needs PostgreSQL's client tools")


def scratch_databases(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(
                connection.scalars(
                    text(
                        "SELECT datname FROM pg_database "
                        "WHERE datname LIKE 'tandem_restore_check_%'"
                    )
                )
            )
    finally:
        engine.dispose()


def dump_of(app, database_url: str, tmp_path: Path) -> Path:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    dump = tmp_path / "tandem.dump"
    result = flask(database_url, "backup", str(dump))
    assert result.returncode == 0, result.stderr
    return dump


def test_pg_dump_restores_into_a_scratch_database_and_checks_sound(
    postgres_only, app, records, tmp_path, database_url
):
    dump = dump_of(app, database_url, tmp_path)
    before = scratch_databases(database_url)
    result = flask(database_url, "restore-check", str(dump))
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Result: sound" in result.stdout
    assert "pg_restore restored it into a scratch database" in result.stdout
    assert "foreign keys checked: no row points at a missing parent" in result.stdout
    assert f"Database revision: {head_revision(app)} (the same as this code)" in result.stdout
    counts = report_counts(result.stdout)
    expected = table_counts(database_url)
    assert {name: counts[name] for name in expected} == expected
    assert counts["couples"] == 2
    # The scratch database is gone again.
    assert scratch_databases(database_url) == before


def test_pg_dump_with_a_missing_parent_or_cut_short_fails(
    postgres_only, app, records, tmp_path, database_url
):
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE partners DISABLE TRIGGER ALL"))
        connection.execute(text("UPDATE partners SET couple_id = 999 WHERE id = 1"))
        connection.execute(text("ALTER TABLE partners ENABLE TRIGGER ALL"))
    engine.dispose()
    dump = dump_of(app, database_url, tmp_path)
    before = scratch_databases(database_url)
    result = flask(database_url, "restore-check", str(dump))
    assert result.returncode != 0
    assert "pg_restore failed" in result.stderr
    assert "fk_partners_couple_id_couples" in result.stderr
    short = tmp_path / "short.dump"
    short.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    cut = flask(database_url, "restore-check", str(short))
    assert cut.returncode != 0 and "pg_restore failed" in cut.stderr
    assert scratch_databases(database_url) == before
    # Put the row back for the fixture's clean-up.
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM partners WHERE couple_id = 999"))
    engine.dispose()


def test_a_pg_dump_needs_a_postgres_server(app, tmp_path, database_url):
    dump = tmp_path / "fake.dump"
    dump.write_bytes(b"PGDMP" + b"\0" * 100)
    sqlite_url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    result = flask(sqlite_url, "restore-check", str(dump))
    assert result.returncode != 0
    assert "--postgres" in result.stderr
