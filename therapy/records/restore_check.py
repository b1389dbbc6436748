"""`flask restore-check`: open a backup somewhere harmless and say whether it is sound.

A SQLite backup is opened read-only where it lies. A pg_dump archive is restored into a
scratch PostgreSQL database made for the check (on the server of DATABASE_URL, or of
--postgres) and dropped afterwards, whatever happens. Either way the report gives each
table's row count, the Alembic revision the backup is at, and the integrity checks:
SQLite's `PRAGMA integrity_check` and `foreign_key_check`; on PostgreSQL, a query per
foreign key for rows whose parent is missing.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url

from therapy.backup import PG_CUSTOM_HEADER, SQLITE_HEADER, BackupError, _run, _tool, libpq_url


@dataclass
class CheckReport:
    kind: str
    counts: dict[str, int] = field(default_factory=dict)
    revision: str | None = None
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, expected_heads: tuple[str, ...] = ()) -> list[str]:
        out = [f"Backup kind: {self.kind}"]
        if self.revision is None:
            out.append("Database revision: none (no alembic_version table)")
        else:
            note = ""
            if expected_heads:
                same = self.revision in expected_heads
                note = " (the same as this code)" if same else " (not this code's revision)"
            out.append(f"Database revision: {self.revision}{note}")
        out.append(f"Tables: {len(self.counts)}, rows: {sum(self.counts.values())}")
        width = max((len(name) for name in self.counts), default=0)
        out += [f"  {name.ljust(width)}  {count}" for name, count in sorted(self.counts.items())]
        out += [f"Check passed: {check}" for check in self.checks]
        out += [f"PROBLEM: {problem}" for problem in self.problems]
        out.append("Result: sound" if self.ok else "Result: FAILED")
        return out


def check_backup(path: Path, *, postgres_url: str | None = None) -> CheckReport:
    """Open a backup made by `flask backup` and check it; raises BackupError if it
    cannot be opened at all."""
    if not path.is_file():
        raise BackupError(f"There is no backup at {path}.")
    with path.open("rb") as handle:
        header = handle.read(16)
    if header.startswith(SQLITE_HEADER):
        return _check_sqlite(path)
    if header.startswith(PG_CUSTOM_HEADER):
        if not postgres_url or make_url(postgres_url).get_backend_name() != "postgresql":
            raise BackupError(
                "A pg_dump archive is checked by restoring it into a scratch database: "
                "give a PostgreSQL server with --postgres (or run with a PostgreSQL "
                "DATABASE_URL)."
            )
        return _check_postgres(path, make_url(postgres_url))
    raise BackupError(f"{path} is neither a SQLite file nor a pg_dump custom-format archive.")


def _check_sqlite(path: Path) -> CheckReport:
    report = CheckReport("SQLite file")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite cannot open {path}: {error}") from None
    try:
        result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if result == ["ok"]:
            report.checks.append("PRAGMA integrity_check says ok")
        else:
            report.problems += [f"integrity_check: {line}" for line in result[:20]]
        dangling = connection.execute("PRAGMA foreign_key_check").fetchall()
        if dangling:
            for table, rowid, parent, _ in dangling[:20]:
                report.problems.append(f"{table} row {rowid} points at a missing {parent} row")
            if len(dangling) > 20:
                report.problems.append(f"... {len(dangling) - 20} more rows with missing parents")
        else:
            report.checks.append("PRAGMA foreign_key_check finds no row with a missing parent")
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            report.counts[name] = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608
        if "alembic_version" in names:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            report.revision = row[0] if row else None
    except sqlite3.DatabaseError as error:
        report.problems.append(f"SQLite could not read the file: {error}")
    finally:
        connection.close()
    if not report.counts:
        report.problems.append("The file holds no tables.")
    return report


def _admin_engine(server: URL) -> Engine:
    return create_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=False)


def _check_postgres(path: Path, server: URL) -> CheckReport:
    report = CheckReport("pg_dump custom archive")
    scratch = f"tandem_restore_check_{secrets.token_hex(6)}"
    admin = _admin_engine(server)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{scratch}"'))
        try:
            target = server.set(database=scratch)
            url, env = libpq_url(target)
            _run(
                [
                    _tool("pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={url}",
                    str(path),
                ],
                env,
            )
            report.checks.append(f"pg_restore restored it into a scratch database ({scratch})")
            engine = create_engine(target)
            try:
                with engine.connect() as connection:
                    _inspect_postgres(connection, report)
            finally:
                engine.dispose()
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    finally:
        admin.dispose()
    return report


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _inspect_postgres(connection: Connection, report: CheckReport) -> None:
    inspector = inspect(connection)
    names = sorted(inspector.get_table_names())
    for name in names:
        report.counts[name] = connection.scalar(text(f"SELECT count(*) FROM {_quote(name)}")) or 0  # noqa: S608
    if "alembic_version" in names:
        report.revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    checked = dangling = 0
    for name in names:
        for fk in inspector.get_foreign_keys(name):
            child = [_quote(c) for c in fk["constrained_columns"]]
            parent = [_quote(c) for c in fk["referred_columns"]]
            joined = " AND ".join(f"p.{p} = c.{c}" for c, p in zip(child, parent, strict=True))
            present = " AND ".join(f"c.{c} IS NOT NULL" for c in child)
            query = (
                f"SELECT count(*) FROM {_quote(name)} c WHERE {present} AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {_quote(fk['referred_table'])} p WHERE {joined})"
            )
            missing = connection.scalar(text(query)) or 0
            checked += 1
            if missing:
                dangling += 1
                report.problems.append(
                    f"{missing} {name} rows point at a missing {fk['referred_table']} row "
                    f"({', '.join(fk['constrained_columns'])})"
                )
    unvalidated = connection.scalar(
        text("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
    )
    if unvalidated:
        report.problems.append(f"{unvalidated} foreign keys are not validated")
    if not dangling:
        report.checks.append(f"{checked} foreign keys checked: no row points at a missing parent")
    if not names:
        report.problems.append("The archive holds no tables.")
