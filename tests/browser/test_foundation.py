"""First run, sign out, sign in, dashboard, sign out — in real Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, screenshot
from tests.conftest import TEST_PASSWORD


def test_first_run_setup_then_sign_in_and_out(page):
    page.goto("/")
    expect(page.get_by_role("heading", name="Set up Tandem")).to_be_visible()
    check_accessibility(page, "setup")
    screenshot(page, "setup")

    # Keyboard only: the skip link is the first stop.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()

    page.get_by_label("Your name").fill("Dr. Ada Quinn")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_label("Password again").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Create the administrator account").click()

    expect(page.get_by_role("heading", name="Good to see you, Dr. Ada Quinn")).to_be_visible()
    check_accessibility(page, "dashboard")
    screenshot(page, "dashboard")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_accessibility(page, "login")
    screenshot(page, "login")

    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password").fill("a wrong pass phrase here")
    page.get_by_label("Password").press("Enter")
    expect(
        page.get_by_text("That email and password do not match an active account.")
    ).to_be_visible()
    check_accessibility(page, "login with an error")

    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Good to see you, Dr. Ada Quinn")).to_be_visible()

    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    check_accessibility(page, "account")
    screenshot(page, "account")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
