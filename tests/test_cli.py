"""The command-line tasks, run through Flask's CLI runner."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_PASSWORD
from therapy import cli
from therapy.extensions import db
from therapy.models import User


def users(app) -> list[User]:
    with app.app_context():
        return list(db.session.scalars(select(User).order_by(User.id)))


def test_create_user_reads_the_password_from_stdin(app, runner, auth):
    result = runner.invoke(
        args=["create-user", "New@Example.com", "--name", "Dr. New", "--admin"],
        input=TEST_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin account new@example.com." in result.output
    [user] = users(app)
    assert (user.display_name, user.role) == ("Dr. New", "admin")
    assert auth.login(email="new@example.com", password=TEST_PASSWORD).status_code == 302


def test_create_user_prompts_twice_at_a_terminal(app, runner, monkeypatch):
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    result = runner.invoke(
        args=["create-user", "t@example.com", "--name", "T"],
        input=f"{TEST_PASSWORD}\n{TEST_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password: " in result.output and "Repeat for confirmation" in result.output
    assert users(app)[0].role == "therapist"


def test_create_user_refuses_weak_password_and_duplicates(app, runner, therapist):
    result = runner.invoke(
        args=["create-user", "weak@example.com", "--name", "W"], input="password1234\n"
    )
    assert result.exit_code != 0
    assert "Password refused" in result.output
    result = runner.invoke(
        args=["create-user", "FIRST@example.com", "--name", "Again"], input=TEST_PASSWORD + "\n"
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert len(users(app)) == 1


def test_set_password_changes_it_and_ends_sessions(app, runner, logged_in, therapist, auth):
    new_password = "an entirely new pass phrase"
    result = runner.invoke(args=["set-password", therapist.email], input=new_password + "\n")
    assert result.exit_code == 0, result.output
    assert logged_in.get("/").status_code == 302
    assert auth.login(email=therapist.email, password=new_password).status_code == 302
    result = runner.invoke(args=["set-password", "nobody@example.com"], input=new_password + "\n")
    assert result.exit_code != 0 and "No account" in result.output


def demo_counts(app) -> dict[str, int]:
    from therapy.models import Couple, PlanItem, TherapySession

    with app.app_context():
        return {
            name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in (
                ("couples", Couple),
                ("sessions", TherapySession),
                ("plan_items", PlanItem),
            )
        }


def test_seed_demo_prints_a_working_login_and_is_idempotent(app, runner, auth):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    lines = dict(line.split(": ", 1) for line in first.output.splitlines() if ": " in line)
    counts = demo_counts(app)
    assert counts["couples"] >= 10 and counts["sessions"] >= 30 and counts["plan_items"] >= 60
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert len(users(app)) == 1
    assert demo_counts(app) == counts
    assert auth.login(email=lines["email"], password=lines["password"]).status_code == 302


def test_backup_makes_a_copy_that_opens(app, runner, therapist, tmp_path, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL backups: tests/test_backup.py")
    target = tmp_path / "copy.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT email FROM users").fetchall() == [(therapist.email,)]
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "exists" in again.output


@pytest.mark.parametrize(
    "command", ["create-user", "set-password", "seed-demo", "backup", "restore"]
)
def test_commands_have_help(runner, command):
    result = runner.invoke(args=[command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
