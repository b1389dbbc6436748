"""Marking a session held that is dated in the future, in real Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, sign_in
from therapy.extensions import db
from therapy.models import User


def test_marking_a_future_session_held_shows_the_question_by_keyboard(
    page, live_app, live_therapist
):
    """The confirm step as a person meets it: the warning is read out (role=alert), focus is
    on "Mark it held anyway", the typed notes are still there, and it passes axe."""
    from datetime import timedelta

    from therapy.couples import services as couples
    from therapy.models import utcnow
    from therapy.sessions import services as sessions

    with live_app.app_context():
        couple = couples.create_couple(
            db.session.get(User, live_therapist.id),
            couples.CoupleData(
                partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
            ),
        )
        session_id = sessions.create_session(couple, starts_at=utcnow() + timedelta(days=2)).id
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{session_id}/notes")
    page.get_by_label("What happened").fill("We talked about Sundays.")
    page.get_by_role("button", name="Save and mark held").click()
    expect(page.get_by_role("alert")).to_contain_text("is dated in the future")
    expect(page.get_by_role("button", name="Mark it held anyway")).to_be_focused()
    expect(page.get_by_label("What happened")).to_have_value("We talked about Sundays.")
    check_accessibility(page, "future session held question")
    page.keyboard.press("Enter")
    expect(page.get_by_text("is marked held")).to_be_visible()
