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
