"""The schema comes from migrations, and migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import text

from therapy import MIGRATIONS
from therapy.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_upgrading_an_existing_database_keeps_its_rows(make_app, tmp_path):
    script = ScriptDirectory(str(MIGRATIONS))
    first = script.get_base()
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite'}")
    with app.app_context():
        upgrade(revision=first)
        db.session.execute(
            text(
                "INSERT INTO users (email, display_name, password_hash, role, active,"
                " session_token, created_at) VALUES ('old@example.com', 'Old', 'x',"
                " 'therapist', true, 't', '2026-01-01 00:00:00')"
            )
        )
        db.session.commit()
        upgrade()
        assert db.session.execute(text("SELECT email FROM users")).scalars().all() == [
            "old@example.com"
        ]
        head = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert head == script.get_current_head()


def test_sqlite_downgrades_to_base_and_back_with_data(make_app, tmp_path):
    """Every downgrade runs on a database holding the library, a couple, a held session with
    homework and check-ins: SQLite's batch mode rebuilds tables that rows refer to."""
    from datetime import date

    from flask_migrate import downgrade

    from tests.progress_helpers import add_checkin, held_session
    from therapy.couples import services as couples
    from therapy.library.seed import seed_library
    from therapy.models import User

    path = tmp_path / "downgrade.sqlite"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        seed_library()
        user = db.session.get(User, make_user_in(app).id)
        couple_id = couples.create_couple(
            user,
            couples.CoupleData(
                partner_a=couples.PartnerData("Ada"), partner_b=couples.PartnerData("Bo")
            ),
        ).id
    held_session(app, couple_id)
    add_checkin(app, couple_id, "a", date(2026, 11, 30), homework=["fully"])
    add_checkin(app, couple_id, "b", date(2026, 11, 30), ratings=7)
    with app.app_context():
        downgrade(revision="base")
        with db.engine.connect() as connection:
            tables = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
            ).scalars()
            assert set(tables) <= {"alembic_version"}
        upgrade()
        with db.engine.connect() as connection:
            # The pooled connection the migrations used enforces foreign keys again.
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []


def make_user_in(app):
    from therapy.auth.services import create_user

    return create_user("downgrade@example.com", "Dr. Down", "correct horse battery staple")
