"""Configuration order, secret keys, production refusals and SQLite settings."""

from __future__ import annotations

import multiprocessing
import os
import stat

import pytest
from sqlalchemy import func, select, text

from therapy import create_app
from therapy.config import ConfigError
from therapy.extensions import db
from therapy.models import AuditEvent

GOOD_KEY = "k3P9-vQ2x_Lm8Rt5Zw1Yb7Nc4Hd6Jf0Gs2Ua9Ei"


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = create_app({"SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path))
    second = create_app({"SQLALCHEMY_DATABASE_URI": url}, instance_path=str(tmp_path))
    key_file = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("key", [None, "short-key", "changeme", "x" * 40])
def test_production_refuses_missing_short_or_example_keys(tmp_path, monkeypatch, key):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = {"TANDEM_ENV": "production", "TRUSTED_HOSTS": ["tandem.example.org"]}
    if key:
        settings["SECRET_KEY"] = key
    with pytest.raises(ConfigError):
        create_app(settings, instance_path=str(tmp_path))
    assert not (tmp_path / "secret_key").exists()


def test_production_needs_trusted_hosts_and_sets_secure_cookies(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS"):
        create_app(
            {"TANDEM_ENV": "production", "SECRET_KEY": GOOD_KEY}, instance_path=str(tmp_path)
        )
    app = create_app(
        {
            "TANDEM_ENV": "production",
            "SECRET_KEY": GOOD_KEY,
            "TRUSTED_HOSTS": ["tandem.example.org"],
        },
        instance_path=str(tmp_path),
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.debug is False


def test_order_is_defaults_then_instance_file_then_environment_then_tests(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "PROXY_HOPS = 1\nLOGIN_LIMIT_ACCOUNT = '5 per minute'\nREDIS_URL = 'redis://file'\n"
    )
    monkeypatch.setenv("TANDEM_LOGIN_LIMIT_ACCOUNT", "6 per minute")
    monkeypatch.setenv("REDIS_URL", "redis://environment:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgres://user@db.example/tandem")
    app = create_app({"REDIS_URL": "redis://test:6379/0"}, instance_path=str(tmp_path))
    assert app.config["PROXY_HOPS"] == 1
    assert app.config["LOGIN_LIMIT_ACCOUNT"] == "6 per minute"
    assert app.config["REDIS_URL"] == "redis://test:6379/0"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@db.example/tandem"
    assert app.config["PASSWORD_MIN_LENGTH"] == 12


def test_database_defaults_to_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'tandem.sqlite'}"


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite settings")
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def _write_many(database_url: str, instance: str, worker: int, count: int) -> None:
    from tests.conftest import build_app

    app = build_app(database_url, __import__("pathlib").Path(instance))
    with app.app_context():
        for n in range(count):
            # Read first, then write: the pattern that deadlocks deferred transactions.
            db.session.scalar(select(func.count()).select_from(AuditEvent))
            db.session.add(AuditEvent(action=f"worker{worker}.{n}"))
            db.session.commit()
        db.engine.dispose()


def test_several_processes_write_at_once_without_locking_errors(app, database_url, tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_write_many, args=(database_url, str(tmp_path / f"w{i}"), i, 25))
        for i in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 100


def test_hosts_default_to_this_machine_outside_production(tmp_path, monkeypatch):
    monkeypatch.delenv("TANDEM_TRUSTED_HOSTS", raising=False)
    app = create_app({"SECRET_KEY": GOOD_KEY}, instance_path=str(tmp_path))
    assert app.config["TRUSTED_HOSTS"] == ["localhost", "127.0.0.1"]
    monkeypatch.setenv("TANDEM_TRUSTED_HOSTS", "tandem.local, 192.0.2.7")
    app = create_app({"SECRET_KEY": GOOD_KEY}, instance_path=str(tmp_path))
    assert app.config["TRUSTED_HOSTS"] == ["tandem.local", "192.0.2.7"]


def test_forwarded_host_and_prefix_are_trusted_only_when_set(tmp_path, monkeypatch):
    for name in ("TANDEM_PROXY_FORWARDED_HOST", "TANDEM_PROXY_FORWARDED_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TANDEM_PROXY_HOPS", "1")
    app = create_app({"SECRET_KEY": GOOD_KEY}, instance_path=str(tmp_path))
    assert app.config["PROXY_FORWARDED_HOST"] is False
    assert app.config["PROXY_FORWARDED_PREFIX"] is False
    monkeypatch.setenv("TANDEM_PROXY_FORWARDED_HOST", "true")
    monkeypatch.setenv("TANDEM_PROXY_FORWARDED_PREFIX", "1")
    app = create_app({"SECRET_KEY": GOOD_KEY}, instance_path=str(tmp_path))
    assert app.config["PROXY_FORWARDED_HOST"] is True
    assert app.config["PROXY_FORWARDED_PREFIX"] is True


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    usual = os.umask(0o022)  # the usual umask: new files are 0644 unless asked otherwise
    try:
        app = create_app({"SECRET_KEY": GOOD_KEY}, instance_path=str(tmp_path))
        with app.app_context():
            db.session.execute(text("CREATE TABLE notes (body TEXT)"))
            db.session.execute(text("INSERT INTO notes VALUES ('private')"))
            db.session.commit()
            files = [tmp_path / f"tandem.sqlite{suffix}" for suffix in ("", "-wal", "-shm")]
            modes = {path.name: _mode(path) for path in files if path.exists()}
            db.engine.dispose()
    finally:
        os.umask(usual)
    assert modes == {path.name: 0o600 for path in files}


def test_backup_copies_are_private(app, runner, therapist, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("flask backup copies SQLite databases")
    target = tmp_path / "copy.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert _mode(target) == 0o600
