"""The browser's time zone, in real Chromium: first-run setup takes it, and the account
page offers it when it differs from the saved one."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import LAPTOP, check_accessibility, sign_in
from tests.conftest import TEST_PASSWORD
from therapy.extensions import db
from therapy.models import User


def zone_of(app, email: str) -> str:
    with app.app_context():
        return db.session.scalar(select(User.timezone).where(User.email == email))


def test_setup_takes_the_browsers_zone(browser, server, live_app):
    context = browser.new_context(
        base_url=server.url, viewport=LAPTOP, timezone_id="America/Los_Angeles"
    )
    page = context.new_page()
    try:
        page.goto("/setup")
        expect(page.get_by_label("Time zone")).to_have_value("America/Los_Angeles")
        check_accessibility(page, "setup with time zone")
        page.get_by_label("Your name").fill("Dr. Ada Quinn")
        page.get_by_label("Email").fill("ada@example.com")
        page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
        page.get_by_label("Password again").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Create the administrator account").click()
        expect(page.get_by_role("heading", name="Good to see you, Dr. Ada Quinn")).to_be_visible()
        assert zone_of(live_app, "ada@example.com") == "America/Los_Angeles"
        # Same zone here and saved: the account page offers nothing.
        page.goto("/account")
        expect(page.locator("#zone-offer")).to_be_hidden()
    finally:
        context.close()


def test_the_account_page_offers_the_browsers_zone_when_it_differs(
    browser, server, live_app, live_therapist
):
    assert zone_of(live_app, live_therapist.email) == "UTC"
    context = browser.new_context(base_url=server.url, viewport=LAPTOP, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        sign_in(page, live_therapist)
        page.goto("/account")
        offer = page.locator("#zone-offer")
        expect(offer).to_be_visible()
        expect(offer).to_contain_text("This computer is set to the time zone Asia/Tokyo")
        expect(offer).to_contain_text("shows your session times in UTC")
        check_accessibility(page, "account with a zone offer")
        offer.get_by_role("button", name="Use Asia/Tokyo").click()
        expect(page.get_by_text("saved", exact=False).first).to_be_visible()
        assert zone_of(live_app, live_therapist.email) == "Asia/Tokyo"
        page.goto("/account")
        expect(page.locator("#zone-offer")).to_be_hidden()
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    finally:
        context.close()
