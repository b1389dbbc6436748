"""No SQL parameter (a couple's names, a note) ever reaches the error log."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text

from therapy.extensions import db
from therapy.models import Couple, Tag, User

CLINICAL = "Disclosed self-harm after the affair"


def _owner_id() -> int:
    return db.session.scalars(select(User.id)).first() or 0


def violate_check() -> str:
    # default_session_minutes > 0 fails; the row carries a clinical note.
    db.session.add(
        Couple(
            owner_id=_owner_id(),
            label="Alex & Sam",
            presenting_concerns=CLINICAL,
            default_session_minutes=0,
        )
    )
    db.session.commit()
    return "saved"


def violate_unique() -> str:
    for _ in range(2):
        db.session.add(Tag(owner_id=_owner_id(), name=CLINICAL[:40], key=CLINICAL[:40]))
        db.session.flush()
    db.session.commit()
    return "saved"


def bad_data() -> str:
    # A DataError on PostgreSQL (text where a number belongs); SQLite coerces silently,
    # so there the statement is made to fail on a missing table instead.
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT CAST(:value AS integer)"), {"value": CLINICAL})
    else:
        missing = text("SELECT * FROM no_such_table WHERE x = :value")
        db.session.execute(missing, {"value": CLINICAL})
    return "read"


@pytest.mark.parametrize("view", [violate_check, violate_unique, bad_data])
def test_a_failed_statement_logs_no_values(app, therapist, caplog, view):
    app.add_url_rule("/test-failure", view.__name__, view)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/test-failure")
    assert response.status_code == 500
    assert CLINICAL.encode() not in response.data
    logged = [r for r in caplog.records if r.name == app.logger.name]
    assert logged, "the 500 handler logged nothing"
    # The traceback is logged too (and with it the driver's own exception): none of it
    # may carry the value.
    assert "Error" in caplog.text
    assert "self-harm" not in caplog.text
    assert "Disclosed" not in caplog.text


def test_deployment_engine_options_keep_parameters_hidden(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "hide_parameters": False})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["hide_parameters"] is True
    with app.app_context():
        assert db.engine.hide_parameters
