"""The plan builder's days per week and the couple view's measures choice, in real
Chromium: by keyboard, on a phone's width, with no serious axe-core violation."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import check_accessibility, screenshot, sign_in
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.library.seed import seed_library
from therapy.models import Couple, Exercise, PlanItem, User
from therapy.sessions import services as sessions


def test_days_per_week_and_measures_in_the_couple_view(page, live_app, live_therapist):
    with live_app.app_context():
        seed_library()
        couple = couples.create_couple(
            db.session.get(User, live_therapist.id),
            couples.CoupleData(
                partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
            ),
        )
        session = sessions.create_session(couple, starts_at=datetime(2026, 12, 2, 14, tzinfo=UTC))
        daily = db.session.scalars(
            select(Exercise).where(Exercise.key == "communication-daily-download")
        ).one()
        sessions.add_item(session, daily, homework=True)
        sessions.touch(session)
        db.session.commit()
        couple_id, session_id = couple.id, session.id
    sign_in(page, live_therapist)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/sessions/{session_id}")
    days = page.get_by_label("Days per week")
    expect(days).to_have_value("")
    days.focus()
    days.select_option("4")  # what a keyboard user's arrow keys choose
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Save plan").click()
    # The field holds the choice before the save lands: wait for the answer.
    expect(page.get_by_text("The plan is saved.")).to_be_visible()
    expect(page.get_by_label("Days per week")).to_have_value("4")
    check_accessibility(page, "plan builder with days per week")
    screenshot(page, "plan-builder-days")
    with live_app.app_context():
        assert db.session.scalars(select(PlanItem.days_per_week)).one() == 4

    page.goto(f"/couples/{couple_id}/progress")
    check_accessibility(page, "progress with the couple view's measures choice")
    page.get_by_label("Only Zoë's scores: Zoë agreed").check()
    page.locator("#couple-view-measures").get_by_role("button", name="Save").click()
    expect(page.get_by_text("the couple view and the report for the couple show")).to_be_visible()
    screenshot(page, "progress-measures-choice")
    with live_app.app_context():
        assert db.session.get(Couple, couple_id).couple_view_measures == "a"
