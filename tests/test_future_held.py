"""A session dated in the future is not marked held by a slip: the server asks first, and
keeps what was typed; once held, the caseload counts it as the last session."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.test_sessions import PageForm, new_session
from therapy.extensions import db
from therapy.models import TherapySession, utcnow
from therapy.timeutil import to_local

WARNING = "is dated in the future"


@pytest.fixture
def couple(make_couple, therapist):
    return make_couple(therapist, "Zoë", "Łukasz", default_session_minutes=50)


def in_days(days: int) -> str:
    return (to_local(utcnow(), "UTC") + timedelta(days=days)).date().isoformat()


def notes_form(client, session_id: int, **changes: str) -> Any:
    page = client.get(f"/sessions/{session_id}/notes").get_data(as_text=True)
    return PageForm(page).fields(**changes)


def status_of(app, session_id: int) -> tuple[str, str]:
    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        return session.status, session.notes_happened


def test_marking_a_future_session_held_asks_first_and_keeps_the_typed_notes(app, logged_in, couple):
    session_id = new_session(logged_in, couple, date=in_days(3))
    data = notes_form(logged_in, session_id, action="held", notes_happened="Typed before.")
    response = logged_in.post(f"/sessions/{session_id}/notes", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert WARNING in page and "Mark it held anyway" in page
    # Nothing saved yet, and nothing typed is lost: the form shows it again.
    assert status_of(app, session_id) == ("planned", "")
    assert "Typed before." in page
    # Confirming (the form as the page now shows it) marks it held.
    confirmed = PageForm(page).fields(action="held")
    assert confirmed.get("confirm_future") == "yes"
    response = logged_in.post(f"/sessions/{session_id}/notes", data=confirmed)
    assert response.status_code == 302
    assert status_of(app, session_id) == ("held", "Typed before.")


def test_saving_notes_of_a_future_session_needs_no_confirmation(app, logged_in, couple):
    session_id = new_session(logged_in, couple, date=in_days(3))
    data = notes_form(logged_in, session_id, action="save", notes_happened="Plan ahead.")
    assert logged_in.post(f"/sessions/{session_id}/notes", data=data).status_code == 302
    assert status_of(app, session_id) == ("planned", "Plan ahead.")


def test_a_past_session_is_marked_held_at_once(app, logged_in, couple):
    session_id = new_session(logged_in, couple, date=in_days(-2))
    data = notes_form(logged_in, session_id, action="held", notes_happened="Went well.")
    response = logged_in.post(f"/sessions/{session_id}/notes", data=data)
    assert response.status_code == 302
    assert status_of(app, session_id) == ("held", "Went well.")


def details_form(client, session_id: int, **changes: str) -> dict[str, str]:
    """The session details form as the plan page shows it, with some fields typed over."""
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    was = dict(re.findall(r'name="(details-[a-z]+-was)" value="([^"]*)"', page))
    with_times = {
        "date": re.search(r'id="date"[^>]*value="([^"]*)"', page).group(1),
        "time": re.search(r'id="time"[^>]*value="([^"]*)"', page).group(1),
        "minutes": "50",
        "status": "planned",
    }
    return {**was, **with_times, **changes}


def test_the_details_form_asks_before_a_future_session_becomes_held(app, logged_in, couple):
    session_id = new_session(logged_in, couple, date=in_days(4))
    data = details_form(logged_in, session_id, status="held")
    response = logged_in.post(f"/sessions/{session_id}/details", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and WARNING in page
    assert status_of(app, session_id)[0] == "planned"
    response = logged_in.post(
        f"/sessions/{session_id}/details", data={**data, "confirm_future": "yes"}
    )
    assert response.status_code == 302
    assert status_of(app, session_id)[0] == "held"
    # Moving it to a past date and marking it held needs no question.
    other = new_session(logged_in, couple, date=in_days(5))
    data = details_form(logged_in, other, status="held", date=in_days(-1))
    assert logged_in.post(f"/sessions/{other}/details", data=data).status_code == 302
    assert status_of(app, other)[0] == "held"


def caseload_row(client, label: str = "Zoë &amp; Łukasz") -> tuple[str, str]:
    page = client.get("/couples").get_data(as_text=True)
    row = page.split(label)[1].split("</tr>")[0]
    last = re.search(r'data-label="Last session">(.*?)</td>', row, re.S).group(1)
    upcoming = re.search(r'data-label="Next session">(.*?)</td>', row, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", last).split()), " ".join(
        re.sub(r"<[^>]+>", "", upcoming).split()
    )


def test_a_held_session_dated_ahead_is_the_last_session_not_the_next(app, logged_in, couple):
    session_id = new_session(logged_in, couple, date=in_days(2))
    with app.app_context():
        starts = to_local(db.session.get(TherapySession, session_id).starts_at, "UTC")
    shown = f"{starts:%d %b %Y}"
    assert caseload_row(logged_in)[0] == "None yet"
    data = notes_form(logged_in, session_id, action="held")
    data["confirm_future"] = "yes"
    assert logged_in.post(f"/sessions/{session_id}/notes", data=data).status_code == 302
    last, upcoming = caseload_row(logged_in)
    assert last == shown, (last, upcoming)
    assert shown not in upcoming
