"""Search the library, open an exercise, copy it and edit the copy — in real Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot, sign_in


def test_search_open_copy_and_edit(page, live_therapist):
    sign_in(page, live_therapist)
    page.get_by_role("link", name="Exercises").click()
    expect(page.get_by_role("heading", name="Exercise library")).to_be_visible()
    check_accessibility(page, "library")
    screenshot(page, "library")

    page.get_by_role("searchbox", name="Search").fill("pause word")
    page.get_by_role("button", name="Search").click()
    results = page.locator(".exercise-card h3 a")
    expect(results.first).to_be_visible()
    title = results.first.inner_text()
    results.first.click()

    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Steps")).to_be_visible()
    check_accessibility(page, "exercise")
    screenshot(page, "exercise")

    page.get_by_role("button", name="Copy and edit").click()
    expect(page.get_by_role("heading", name=f"Edit “{title} (my version)”")).to_be_visible()
    check_accessibility(page, "exercise form")
    screenshot(page, "exercise-form")

    page.get_by_label("Title").fill("Our own pause plan")
    page.get_by_label("Minutes").fill("0")
    page.get_by_role("button", name="Save exercise").click()
    expect(page.get_by_text("Use 1 to 240 minutes.")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Our own pause plan")

    page.get_by_label("Minutes").fill("15")
    page.get_by_label("Steps", exact=True).press("End")
    page.get_by_label("Steps", exact=True).press("Control+End")
    page.keyboard.type("\nAdd one step of our own.")
    page.get_by_role("button", name="Save exercise").click()

    expect(page.get_by_role("heading", name="Our own pause plan", level=1)).to_be_visible()
    expect(page.get_by_text("Add one step of our own.")).to_be_visible()
    expect(page.get_by_text("My exercise")).to_be_visible()

    page.get_by_role("button", name="Star “Our own pause plan”").click()
    page.get_by_role("link", name="Exercise library").click()
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Starred only").check()
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".exercise-card")).to_have_count(1)
    expect(page.locator(".exercise-card h3")).to_have_text("Our own pause plan")
