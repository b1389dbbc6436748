"""A therapist's caseload in real Chromium: add, find, edit, archive, restore a couple."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot
from tests.conftest import TEST_PASSWORD
from therapy import demo
from therapy.auth import services as accounts
from therapy.extensions import db
from therapy.models import Couple, TherapySession


@pytest.fixture
def practice(live_app):
    """An administrator with a demo caseload (some with sessions) and a colleague."""
    with live_app.app_context():
        user = accounts.create_user("ada@example.com", "Dr. Ada Quinn", TEST_PASSWORD, admin=True)
        accounts.create_user("ben@example.com", "Dr. Ben Ortiz", TEST_PASSWORD)
        demo.seed_couples(user, 14)
        now = datetime.now(UTC)
        for index, couple in enumerate(db.session.query(Couple).order_by(Couple.id).limit(8)):
            for number, days in enumerate((-21 - index, -7 - index, 5 + index), start=1):
                db.session.add(
                    TherapySession(
                        couple_id=couple.id,
                        number=number,
                        starts_at=now + timedelta(days=days, hours=index),
                        minutes=50,
                        status="held" if days < 0 else "planned",
                    )
                )
        db.session.commit()
    return user


def sign_in(page) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Good to see you, Dr. Ada Quinn")).to_be_visible()


def test_add_find_edit_archive_and_restore_a_couple(page, practice):
    sign_in(page)
    check_accessibility(page, "dashboard with a caseload")
    screenshot(page, "dashboard-caseload")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Couples").click()
    expect(page.get_by_role("heading", name="Couples", exact=True)).to_be_visible()
    check_accessibility(page, "caseload")
    screenshot(page, "couples-caseload")

    # Keyboard only: skip link, then the first thing in the page is "New couple".
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="New couple")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New couple")).to_be_visible()
    # Tab from the top of the form reaches partner A's first name first.
    page.get_by_role("heading", name="New couple").click()
    page.keyboard.press("Tab")
    expect(page.locator("#partner_a-first_name")).to_be_focused()
    check_accessibility(page, "new couple form")
    screenshot(page, "couples-new")

    # Submitting without names shows the messages next to the fields; nothing is lost.
    page.locator("#presenting_concerns").fill("Typed before the mistake")
    page.get_by_role("button", name="Add couple").click()
    expect(page.locator("#partner_a-first_name-error")).to_have_text("Enter a first name.")
    expect(page.locator("#presenting_concerns")).to_have_value("Typed before the mistake")
    check_accessibility(page, "new couple form with errors")
    screenshot(page, "couples-new-errors")

    page.locator("#partner_a-first_name").fill("Imogen")
    page.locator("#partner_a-pronouns").fill("she/her")
    page.locator("#partner_b-first_name").fill("Kwame")
    page.locator("#partner_b-last_name").fill("Mensah")
    page.locator("#partner_b-pronouns").fill("he/him")
    page.get_by_label("Relationship length").fill("9 years")
    page.get_by_label("Living situation").select_option("together")
    page.locator("#presenting_concerns").fill(
        "Feeling disconnected since moving cities.\nKwame works long hours."
    )
    page.locator("#goals-0-text").fill("A weekly walk without phones")
    page.get_by_label("Target date for goal 1").fill("2027-03-01")
    page.get_by_label("Tags").fill("relocation, disconnected")
    page.get_by_label("Safety concern (for example violence or coercion)").check()
    page.get_by_label("What the concern is").fill("Ask about alcohol use each session")
    page.get_by_role("button", name="Add couple").click()

    expect(page.get_by_role("heading", name="Imogen & Kwame")).to_be_visible()
    expect(page.get_by_role("note", name="Safety flag")).to_contain_text(
        "Ask about alcohol use each session"
    )
    expect(page.get_by_text("A weekly walk without phones")).to_be_visible()
    check_accessibility(page, "profile")
    screenshot(page, "couples-profile")

    # Find it again by searching for a partner's name, in another case.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Couples").click()
    page.get_by_role("searchbox", name="Search").fill("KWAME")
    page.get_by_role("searchbox", name="Search").press("Enter")
    results = page.locator("table.caseload tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Safety flag")
    results.first.get_by_role("link", name="Imogen & Kwame").click()

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit Imogen & Kwame")).to_be_visible()
    expect(page.locator("#goals-0-text")).to_have_value("A weekly walk without phones")
    expect(page.locator("#goals-2-text")).to_have_value("")  # two blank rows after it
    check_accessibility(page, "edit form")
    screenshot(page, "couples-edit")
    page.locator("#goals-1-text").fill("Plan one new-city outing a month")
    page.get_by_label("Status").select_option("paused")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved the changes to Imogen & Kwame.")).to_be_visible()
    expect(page.get_by_text("Plan one new-city outing a month")).to_be_visible()
    expect(page.locator(".subtitle .badge")).to_have_text("Paused")

    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("Imogen & Kwame is archived.")).to_be_visible()
    expect(page.locator("table.caseload")).not_to_contain_text("Imogen & Kwame")
    page.get_by_role("link", name="Archived").click()
    expect(page.get_by_role("heading", name="Archived couples")).to_be_visible()
    page.get_by_role("searchbox", name="Search").fill("relocation")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Imogen & Kwame").click()
    expect(page.get_by_text(re.compile("Archived on"))).to_be_visible()
    check_accessibility(page, "archived profile")
    page.get_by_role("button", name="Restore to caseload").click()
    expect(page.get_by_text("Imogen & Kwame is back in your caseload.")).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_be_visible()

    page.get_by_role("link", name="Dashboard").click()
    recent = page.get_by_role("region", name="Recently viewed")
    expect(recent.get_by_role("link").first).to_have_text("Imogen & Kwame")
    expect(page.get_by_role("region", name="Safety flags")).to_contain_text("Imogen & Kwame")


def test_two_tabs_editing_shows_the_conflict_page(page, practice):
    sign_in(page)
    page.goto("/couples/1/edit")
    other_tab = page.context.new_page()
    other_tab.goto("/couples/1/edit")

    page.locator("#relationship_length").fill("Saved first")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(re.compile("Saved the changes"))).to_be_visible()

    other_tab.locator("#relationship_length").fill("Typed second")
    other_tab.get_by_role("button", name="Save changes").click()
    expect(other_tab.get_by_role("heading", name=re.compile("was changed while"))).to_be_visible()
    differs = other_tab.get_by_role("table", name="Fields that differ between the saved")
    expect(differs).to_contain_text("Saved first")
    expect(differs).to_contain_text("Typed second")
    expect(other_tab.locator("#relationship_length")).to_have_value("Typed second")
    check_accessibility(other_tab, "conflict page")
    screenshot(other_tab, "couples-conflict")
    other_tab.get_by_role("button", name="Save my version").click()
    expect(other_tab.get_by_text("Typed second")).to_be_visible()


def test_admin_pages(page, practice):
    sign_in(page)
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Therapist accounts")).to_be_visible()
    check_accessibility(page, "admin therapists")
    screenshot(page, "admin-therapists")

    page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Couples"
    ).click()
    check_accessibility(page, "admin couples")
    screenshot(page, "admin-couples")
    page.get_by_role("link", name="Reassign Zoë & Łukasz").click()
    expect(page.get_by_role("heading", name="Reassign Zoë & Łukasz")).to_be_visible()
    page.get_by_label("New therapist").select_option(label="Dr. Ben Ortiz")
    page.get_by_role("button", name="Reassign").click()
    # No reason: the page says so and keeps the choice.
    expect(page.get_by_text("Give a short reason; the new therapist sees it.")).to_be_visible()
    expect(page.get_by_label("New therapist")).to_have_value(re.compile(r"\d+"))
    check_accessibility(page, "admin reassign")
    page.get_by_label("Reason").fill("Caseload balancing")
    page.get_by_role("button", name="Reassign").click()
    expect(page.get_by_text("Zoë & Łukasz is now with Dr. Ben Ortiz.")).to_be_visible()

    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").select_option("couple.reassign")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    check_accessibility(page, "audit log")
    screenshot(page, "admin-audit")
