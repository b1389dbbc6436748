"""Arbitrary text in check-ins, from the therapist and from a partner: never a 500, and
what is saved comes back exactly (less surrounding whitespace) or is refused with a reason."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tests.progress_helpers import create_link, rating_form
from tests.test_fuzz_forms import FUZZ, form_data, nasty_text
from therapy.extensions import db
from therapy.models import CheckIn, CheckInHomework, CheckInLink, CheckInRating, CheckInRevision


@pytest.fixture
def couple(app, therapist, make_couple, library):
    return make_couple(therapist, "Zoë", "Łukasz")


def clear(app):
    with app.app_context():
        for model in (CheckInRating, CheckInHomework, CheckInRevision):
            db.session.execute(delete(model))
        db.session.execute(delete(CheckIn))
        db.session.execute(delete(CheckInLink).where(CheckInLink.used_at.is_not(None)))
        db.session.commit()


def saved_texts(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(c.went_well, c.was_hard) for c in db.session.scalars(select(CheckIn))]


@FUZZ
@given(
    went_well=nasty_text,
    was_hard=nasty_text,
    duplicates=st.lists(
        st.tuples(st.sampled_from(["went_well", "partner"]), nasty_text), max_size=2
    ),
)
def test_therapist_checkin_texts_never_fail(
    app, logged_in, couple, went_well, was_hard, duplicates
):
    clear(app)
    fields = rating_form(
        app,
        5,
        partner="a",
        on_date=date.today().isoformat(),
        went_well=went_well,
        was_hard=was_hard,
    )
    data = form_data(logged_in.csrf_token(), fields, duplicates)
    response = logged_in.post(f"/couples/{couple}/checkins/new", data=data)
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        assert saved_texts(app) == [(went_well.strip(), was_hard.strip())]
    else:
        assert b'class="field-error"' in response.data
        assert saved_texts(app) == []


@FUZZ
@given(went_well=nasty_text, was_hard=nasty_text)
def test_partner_checkin_texts_never_fail(app, couple, went_well, was_hard):
    clear(app)
    client = app.test_client()
    client.get(f"/c/{create_link(app, couple, 'a')}")
    fields = rating_form(app, 7, went_well=went_well, was_hard=was_hard)
    response = client.post("/c/", data=form_data(client.csrf_token(), fields, []))
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 302:
        assert saved_texts(app) == [(went_well.strip(), was_hard.strip())]
    else:
        assert b'class="field-error"' in response.data
