"""The handout preview, the agenda and the week's print run — in real Chromium."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import check_accessibility, screenshot, sign_in
from therapy.couples.services import CoupleData, GoalData, PartnerData, create_couple
from therapy.extensions import db
from therapy.models import Exercise, User
from therapy.sessions.services import add_item, create_session


def planned_session(app, account) -> int:
    """A couple of the live therapist with a session tomorrow: two homework items, one not."""
    with app.app_context():
        owner = db.session.get(User, account.id)
        couple = create_couple(
            owner,
            CoupleData(
                PartnerData("Zoë"),
                PartnerData("Łukasz"),
                goals=(GoalData("Talk every evening without phones"),),
            ),
        )
        exercises = {e.key: e for e in db.session.scalars(select(Exercise))}
        tomorrow = datetime.now(UTC).replace(hour=14, minute=0, second=0, microsecond=0)
        session = create_session(couple, starts_at=tomorrow + timedelta(days=1))
        add_item(session, exercises["communication-say-it-back"], homework=False, minutes=15)
        add_item(
            session,
            exercises["communication-daily-download"],
            homework=True,
            note="Try it on the sofa, not at the table.",
        )
        add_item(session, exercises["conflict-pause-plan"], homework=True)
        db.session.commit()
        return session.id


def test_preview_agenda_and_week(page, live_app, live_therapist):
    session_id = planned_session(live_app, live_therapist)
    sign_in(page, live_therapist)

    page.goto(f"/sessions/{session_id}/handout")
    expect(page.get_by_role("heading", name="Zoë & Łukasz", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="The daily download")).to_be_visible()
    expect(page.get_by_text("Try it on the sofa, not at the table.")).to_be_visible()
    expect(page.get_by_text("Say it back")).to_have_count(0)
    check_accessibility(page, "handout preview")
    screenshot(page, "handout-preview")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the PDF").click()
    assert download.value.suggested_filename.startswith("handout-")
    assert "Zo" not in download.value.suggested_filename

    page.get_by_role("button", name="Your agenda").click()
    expect(page.get_by_role("heading", name="Zoë & Łukasz · session 1")).to_be_visible()
    expect(page.get_by_text("Talk every evening without phones")).to_be_visible()
    expect(page.locator(".agenda-start").first).to_have_text("14:00")
    check_accessibility(page, "agenda")
    screenshot(page, "agenda")

    page.goto("/handouts/week")
    expect(page.get_by_role("heading", name="This week's handouts", level=1)).to_be_visible()
    expect(page.get_by_text("1 handout to print")).to_be_visible()
    check_accessibility(page, "week form")
    screenshot(page, "handouts-week")
    page.get_by_label("To", exact=True).fill("2020-01-01")
    page.get_by_role("button", name="Show these days").click()
    expect(page.get_by_text("The last day cannot be before the first.")).to_be_visible()
    check_accessibility(page, "week form with an error")
