"""Another therapist gets 404 on every check-in, link, score, progress and report URL,
with real and neighbouring ids, and nothing changes."""

from __future__ import annotations

from datetime import date

from flask import url_for
from sqlalchemy import select

from tests.conftest import AuthActions
from tests.progress_helpers import add_checkin, add_score, create_link, held_session, rating_form
from therapy.extensions import db
from therapy.models import CheckInLink

TABLES = (
    "checkins",
    "checkin_ratings",
    "checkin_homework",
    "checkin_links",
    "measure_scores",
    "audit_events",
)
ENDPOINT_PREFIXES = ("checkins.", "progress.")


def snapshot(app) -> dict[str, list[tuple]]:
    with app.app_context():
        return {
            table: [tuple(row) for row in db.session.execute(select(db.metadata.tables[table]))]
            for table in TABLES
        }


def test_another_therapist_gets_404_everywhere_and_changes_nothing(
    app, logged_in, therapist, make_user, make_couple, library
):
    couples = [make_couple(therapist, f"Hidden{n}", f"Secret{n}") for n in range(3)]
    real = couples[1]
    held_session(app, real)
    checkins = [add_checkin(app, c, "a", date.today(), 4, was_hard="Hidden text") for c in couples]
    for c in couples:
        create_link(app, c, "b")
        add_score(app, c, "a", date.today(), (1, 1, 1, 1))
    with app.app_context():
        links = list(db.session.scalars(select(CheckInLink.id).order_by(CheckInLink.id)))
    second = make_user("second@example.com", name="Dr. Second")
    intruder = app.test_client()
    assert AuthActions(intruder).login(second).status_code == 302
    before = snapshot(app)
    form = rating_form(
        app,
        9,
        partner="a",
        on_date=date.today().isoformat(),
        version="1",
        days="7",
        token="A" * 43,
        went_well="overwritten",
        csrf_token=intruder.csrf_token(),
    )
    values = {
        "couple_id": (real, real - 1, real + 1, 10**12),
        "checkin_id": (checkins[1], checkins[1] - 1, checkins[1] + 1, 10**12),
        "link_id": (links[1], links[1] - 1, links[1] + 1, 10**12),
    }
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith(ENDPOINT_PREFIXES)]
    assert len(rules) >= 10
    checked = 0
    for rule in rules:
        (argument,) = rule.arguments
        for value in values[argument]:
            with app.test_request_context():
                url = url_for(rule.endpoint, **{argument: value})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = intruder.open(
                    url, method=method, data=form if method == "POST" else None
                )
                assert response.status_code == 404, (method, url, response.status_code)
                body = response.get_data(as_text=True)
                assert "Hidden" not in body and "Secret" not in body
                checked += 1
    assert checked >= 40
    assert snapshot(app) == before


def test_measure_administration_is_404_for_a_therapist(app, logged_in):
    assert logged_in.get("/admin/measures").status_code == 404
    response = logged_in.post("/admin/measures", data={})
    assert response.status_code == 404
