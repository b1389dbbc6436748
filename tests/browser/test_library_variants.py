"""The second edition as a therapist sees it: lineage and every version of the steps on
the exercise page, and choosing a version for a plan item in the builder — in Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import PlanItem, User


def test_choose_the_living_apart_steps_for_a_plan_item(page, live_app, live_therapist):
    with live_app.app_context():
        couple_id = couples.create_couple(
            db.session.get(User, live_therapist.id),
            couples.CoupleData(
                partner_a=couples.PartnerData("Noor"), partner_b=couples.PartnerData("Kit")
            ),
        ).id
    sign_in(page, live_therapist)

    page.goto("/exercises/?q=daily+download")
    page.locator(".exercise-card h3 a").first.click()
    expect(page.get_by_role("heading", name="Steps: living apart")).to_be_visible()
    expect(page.get_by_role("heading", name="Where the idea comes from")).to_be_visible()
    check_accessibility(page, "exercise with variants")
    screenshot(page, "exercise-variants")

    page.goto(f"/couples/{couple_id}")
    page.get_by_role("link", name="New session").click()
    page.get_by_role("button", name="Create session").click()
    page.get_by_role("searchbox", name="Search").fill("daily download")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("list", name="Search results").locator(".pick").first.get_by_role(
        "button", name="Add"
    ).click()
    choice = page.get_by_label("Steps to print")
    expect(choice).to_have_value("")
    # By keyboard: focus the choice, pick "Living apart", save.
    choice.focus()
    choice.select_option("apart")
    check_accessibility(page, "plan builder with a variant choice")
    screenshot(page, "plan-builder-variant")
    page.get_by_role("button", name="Save plan").click()
    # The field holds the choice before the save lands: wait for the answer.
    expect(page.get_by_text("The plan is saved.")).to_be_visible()
    expect(page.get_by_label("Steps to print")).to_have_value("apart")
    with live_app.app_context():
        assert [item.variant for item in db.session.query(PlanItem)] == ["apart"]
