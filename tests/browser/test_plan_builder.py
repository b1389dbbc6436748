"""Build a 4-item plan by search, reorder it by drag and drop and by keyboard, mark two
items homework, save, reload: the plan is unchanged — in real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import User

SEARCHES = ["daily download", "question jar", "memory lane", "pause plan"]


def titles(page):
    return [t.strip() for t in page.locator(".plan-item-title").all_inner_texts()]


def test_build_reorder_and_save_a_plan(page, live_app, live_therapist):
    with live_app.app_context():
        couple = couples.create_couple(
            db.session.get(User, live_therapist.id),
            couples.CoupleData(
                partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
            ),
        )
        couple_id = couple.id
    sign_in(page, live_therapist)
    page.goto(f"/couples/{couple_id}")
    page.get_by_role("link", name="New session").click()
    check_accessibility(page, "new session")
    page.get_by_role("button", name="Create session").click()
    expect(page.get_by_role("heading", name="Plan")).to_be_visible()

    added = []
    for words in SEARCHES:
        page.get_by_role("searchbox", name="Search").fill(words)
        page.get_by_role("button", name="Search", exact=True).click()
        first = page.get_by_role("list", name="Search results").locator(".pick").first
        expect(first.locator(".pick-title")).to_contain_text(re.compile(words, re.I))
        title = first.locator(".pick-title").inner_text().replace("★", "").strip()
        first.get_by_role("button", name="Add").click()
        expect(page.locator(".plan-item-title").last).to_have_text(title)
        added.append(title)
    assert titles(page) == added
    check_accessibility(page, "plan builder")
    screenshot(page, "plan-builder")

    # Drag the last exercise to the top.
    # A tall window keeps the whole plan on screen while the mouse drags.
    page.set_viewport_size({"width": 1280, "height": 3200})
    page.evaluate("window.scrollTo(0, 0)")
    items = page.locator(".plan-item")
    handle = items.nth(3).locator(".drag-handle").bounding_box()
    target = items.nth(0).bounding_box()
    start_x, start_y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x, start_y - 10, steps=5)
    page.mouse.move(target["x"] + 40, target["y"] + 10, steps=25)
    page.mouse.move(target["x"] + 40, target["y"] + 5, steps=5)
    page.mouse.up()
    expect(page.locator(".plan-item-title").first).to_have_text(added[3])
    expected = [added[3], added[0], added[1], added[2]]
    expect(page.locator(".plan-item-title")).to_have_text(expected)
    # The drop saves the new order straight away.
    expect(page.get_by_text("The plan is saved.")).to_be_visible()

    # Keyboard: move the second item down twice, keeping focus on its button.
    page.get_by_role("button", name=f"Move down “{added[0]}”").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".plan-item-title")).to_have_text([added[3], added[1], added[0], added[2]])
    expect(page.get_by_role("button", name=f"Move down “{added[0]}”")).to_be_focused()
    page.keyboard.press("Enter")
    expected = [added[3], added[1], added[2], added[0]]
    expect(page.locator(".plan-item-title")).to_have_text(expected)
    expect(page.get_by_role("button", name=f"Move up “{added[0]}”")).to_be_focused()

    # Two items as homework, then save.
    for index, homework in enumerate([False, True, False, True]):
        page.locator(".plan-item").nth(index).get_by_label("Homework").set_checked(homework)
    page.locator(".plan-item").nth(1).get_by_label("Note for the couple").fill("Try it twice.")
    page.get_by_role("button", name="Save plan").click()
    expect(page.get_by_text("The plan is saved.")).to_be_visible()

    page.reload()
    expect(page.locator(".plan-item-title")).to_have_text(expected)
    homework = [
        page.locator(".plan-item").nth(i).get_by_label("Homework").is_checked() for i in range(4)
    ]
    assert homework == [False, True, False, True]
    expect(page.locator(".plan-item").nth(1).get_by_label("Note for the couple")).to_have_value(
        "Try it twice."
    )
    screenshot(page, "plan-builder-saved")
