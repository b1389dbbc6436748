"""Nothing a therapist types is lost: an expired session, a sign-out in another tab, a
lost connection or a server error on save — in real Chromium against a live server."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in
from therapy.auth import sessions
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import Exercise, User
from therapy.sessions import services as plans

NOTES = "Alex named the fear of being left for the first time.\nSam listened without fixing."
PLAN_NOTE = "Try it after dinner, phones in another room."
RESTORED = re.compile(r"Restored text you typed (at|on) .+ that is not saved yet\.")


@pytest.fixture
def clock(monkeypatch):
    """The live server's clock, moved forward by the test (it runs in this process)."""

    class Clock:
        offset = 0.0

        def advance(self, delta: timedelta) -> None:
            self.offset += delta.total_seconds()

    clock = Clock()
    real_now = sessions.now
    monkeypatch.setattr(sessions, "now", lambda: real_now() + clock.offset)
    return clock


@pytest.fixture
def planned(live_app, live_therapist):
    """A couple with one planned session holding one exercise; its id."""
    with live_app.app_context():
        owner = db.session.get(User, live_therapist.id)
        couple = couples.create_couple(
            owner,
            couples.CoupleData(
                partner_a=couples.PartnerData("Alex"), partner_b=couples.PartnerData("Sam")
            ),
        )
        session = plans.create_session(couple, starts_at=None)
        exercise = db.session.scalars(db.select(Exercise).order_by(Exercise.id)).first()
        plans.add_item(session, exercise)
        db.session.commit()
        return session.id


def sign_in_again(page, account, landing: str) -> None:
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{landing}")


def test_notes_typed_past_the_timeout_come_back_after_signing_in(
    page, live_therapist, planned, clock
):
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}/notes")
    page.get_by_label("What happened").fill(NOTES)
    clock.advance(timedelta(minutes=31))
    page.get_by_role("button", name="Save notes").click()

    # Sent to sign in, told why, and brought back to the notes page afterwards.
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(page.get_by_text("signed out after 30 minutes without activity")).to_be_visible()
    sign_in_again(page, live_therapist, f"/sessions/{planned}/notes")
    expect(page.get_by_label("What happened")).to_have_value(NOTES)
    expect(page.get_by_text(RESTORED)).to_be_visible()
    check_accessibility(page, "restored notes")
    screenshot(page, "notes-restored")

    # Saved now: the draft is gone, and a reload shows the saved text with no message.
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_text("The notes are saved.")).to_be_visible()
    expect(page.get_by_text(RESTORED)).to_have_count(0)
    page.reload()
    expect(page.get_by_label("What happened")).to_have_value(NOTES)
    expect(page.get_by_text(RESTORED)).to_have_count(0)
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.includes('draft'))") == []


def test_discard_puts_back_the_saved_text(page, live_therapist, planned):
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}/notes")
    page.get_by_label("What happened").fill(NOTES)
    page.goto(f"/sessions/{planned}/notes")
    expect(page.get_by_text(RESTORED)).to_be_visible()
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_label("What happened")).to_have_value("")
    expect(page.get_by_label("What happened")).to_be_focused()
    page.reload()
    expect(page.get_by_text(RESTORED)).to_have_count(0)


def test_idle_warning_and_stay_signed_in(page, live_app, live_therapist, planned, clock):
    # 60 s sessions that warn after 3 s: the same code path as 30 minutes and 5.
    live_app.config["SESSION_IDLE_TIMEOUT"] = timedelta(seconds=60)
    live_app.config["SESSION_IDLE_WARNING"] = timedelta(seconds=57)
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}/notes")
    other = page.context.new_page()
    other.goto(f"/sessions/{planned}")
    page.bring_to_front()
    page.get_by_label("What happened").fill(NOTES)

    warning = page.get_by_role("dialog", name="You will be signed out soon")
    expect(warning).to_be_visible(timeout=8000)
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    expect(warning).to_contain_text(re.compile(r"signed out in \d+ (seconds|minute)"))
    check_accessibility(page, "idle warning")
    screenshot(page, "idle-warning")
    expect(other.get_by_role("dialog", name="You will be signed out soon")).to_be_visible()

    page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    # The other tab heard about it and dropped its warning too.
    expect(other.get_by_role("dialog", name="You will be signed out soon")).to_be_hidden()
    # 40 s later on the server's clock: past the first deadline, inside the new one.
    clock.advance(timedelta(seconds=40))
    page.get_by_role("button", name="Save notes").click()
    expect(page.get_by_text("The notes are saved.")).to_be_visible()


def test_a_tab_that_outlives_its_session_leaves_for_the_sign_in_page(
    page, live_app, live_therapist, planned
):
    # The warning (a modal: the page behind it takes no typing) comes 3 s after the page.
    live_app.config["SESSION_IDLE_TIMEOUT"] = timedelta(seconds=6)
    live_app.config["SESSION_IDLE_WARNING"] = timedelta(seconds=3)
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}/notes")
    page.get_by_label("What happened").fill(NOTES)
    expect(page.get_by_role("dialog", name="You will be signed out soon")).to_be_visible()
    # No client record stays on screen; the typed text waits in this tab.
    page.wait_for_url(re.compile(r"/login\?next=%2Fsessions%2F\d+%2Fnotes"), timeout=10_000)
    expect(page.get_by_text("without activity")).to_be_visible()
    live_app.config["SESSION_IDLE_TIMEOUT"] = timedelta(minutes=30)
    live_app.config["SESSION_IDLE_WARNING"] = timedelta(minutes=5)
    sign_in_again(page, live_therapist, f"/sessions/{planned}/notes")
    expect(page.get_by_label("What happened")).to_have_value(NOTES)
    expect(page.get_by_text(RESTORED)).to_be_visible()


def note_field(page):
    return page.get_by_label("Note for the couple")


def test_plan_builder_after_sign_out_in_another_tab(page, live_therapist, planned):
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}")
    title = page.locator(".plan-item-title").first.inner_text()
    note_field(page).fill(PLAN_NOTE)

    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    other.close()

    page.get_by_role("list", name="Library").get_by_role("button", name="Add").first.click()
    notice = page.locator("#page-notices")
    expect(notice).to_contain_text("You were signed out, so this was not saved.")
    expect(notice).to_contain_text("Your text is kept in this browser.")
    # The plan is still there, with what was typed.
    expect(page.locator(".plan-item-title").first).to_have_text(title)
    expect(note_field(page)).to_have_value(PLAN_NOTE)
    check_accessibility(page, "signed-out prompt")
    screenshot(page, "builder-signed-out")

    notice.get_by_role("link", name="Sign in again").click()
    sign_in_again(page, live_therapist, f"/sessions/{planned}")
    expect(note_field(page)).to_have_value(PLAN_NOTE)
    expect(page.get_by_text(RESTORED)).to_be_visible()


def test_plan_builder_after_the_timeout(page, live_therapist, planned, clock):
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}")
    title = page.locator(".plan-item-title").first.inner_text()
    note_field(page).fill(PLAN_NOTE)
    clock.advance(timedelta(minutes=31))
    page.get_by_role("button", name="Save plan").click()
    expect(page.locator("#page-notices")).to_contain_text("You were signed out")
    expect(page.locator(".plan-item-title").first).to_have_text(title)
    expect(note_field(page)).to_have_value(PLAN_NOTE)


@pytest.mark.parametrize("failure", ["server error", "lost connection"])
def test_a_failed_notes_save_keeps_the_text(page, live_therapist, planned, failure):
    sign_in(page, live_therapist)
    notes_url = f"/sessions/{planned}/notes"
    page.goto(notes_url)

    def fail(route):
        if route.request.method != "POST":
            route.continue_()
        elif failure == "server error":
            route.fulfill(status=500, body="Internal Server Error", content_type="text/plain")
        else:
            route.abort("connectionreset")

    page.route(f"**{notes_url}", fail)
    page.get_by_label("What happened").fill(NOTES)
    page.get_by_role("button", name="Save notes").click()
    if failure == "server error":
        expect(page.get_by_text("Internal Server Error")).to_be_visible()
    else:
        time.sleep(0.5)  # Chromium shows its own error page; nothing of ours runs there.
    page.unroute(f"**{notes_url}")
    page.goto(notes_url)
    expect(page.get_by_label("What happened")).to_have_value(NOTES)
    expect(page.get_by_text(RESTORED)).to_be_visible()


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("server error", "Tandem hit an error; nothing was saved from this change."),
        ("lost connection", "Could not reach Tandem, so this change may not have been saved."),
    ],
)
def test_a_failed_plan_save_keeps_the_plan_and_says_so(
    page, live_therapist, planned, failure, message
):
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}")
    title = page.locator(".plan-item-title").first.inner_text()

    def fail(route):
        if failure == "server error":
            route.fulfill(status=500, body="Internal Server Error", content_type="text/plain")
        else:
            route.abort("connectionreset")

    page.route(f"**/sessions/{planned}/plan", fail)
    note_field(page).fill(PLAN_NOTE)
    page.get_by_role("button", name="Save plan").click()
    expect(page.locator("#page-notices")).to_contain_text(message)
    expect(page.locator(".plan-item-title").first).to_have_text(title)
    expect(note_field(page)).to_have_value(PLAN_NOTE)
    page.unroute(f"**/sessions/{planned}/plan")
    page.reload()
    expect(note_field(page)).to_have_value(PLAN_NOTE)
    expect(page.get_by_text(RESTORED)).to_be_visible()


def test_signing_out_on_purpose_asks_then_leaves_no_draft(page, live_therapist, planned):
    # A clinic computer is shared: an explicit sign-out forgets this tab's drafts.
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}/notes")
    page.get_by_label("What happened").fill(NOTES)
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("What happened")).to_be_focused()
    assert asked == [
        "Text you typed on this page has not been saved. Sign out anyway and discard it?"
    ]
    expect(page.get_by_label("What happened")).to_have_value(NOTES)

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.includes('draft'))") == []
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{planned}/notes")
    expect(page.get_by_label("What happened")).to_have_value("")
    expect(page.get_by_text(RESTORED)).to_have_count(0)
