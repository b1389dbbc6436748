"""Two-factor sign-in in real Chromium: an authenticator app, a passkey on Chromium's
virtual authenticator, and a required second factor that no other URL skips."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LAPTOP, check_accessibility, screenshot
from therapy.auth import factors


@pytest.fixture
def clock(monkeypatch):
    """The TOTP checks' clock (the live server runs in this process); move() steps it."""
    moment = {"now": 1_800_000_015.0}
    monkeypatch.setattr(factors, "now", lambda: moment["now"])

    class Clock:
        @staticmethod
        def now() -> float:
            return moment["now"]

        @staticmethod
        def move(seconds: float) -> None:
            moment["now"] += seconds

    return Clock


def password_step(page, account) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()


def test_set_up_an_app_and_sign_in_with_a_code(page, live_therapist, clock):
    password_step(page, live_therapist)
    page.get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Add a second factor").click()
    screenshot(page, "second-factor-choices")
    page.get_by_role("button", name="Set up an app").click()
    expect(page.get_by_role("img", name="QR code to add Tandem")).to_be_visible()
    check_accessibility(page, "app setup")
    screenshot(page, "app-setup")
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("[data-codes-list] li")).to_have_count(10)
    check_accessibility(page, "recovery codes")
    screenshot(page, "recovery-codes")
    page.get_by_role("button", name="I have saved them. Continue").click()
    expect(page.get_by_role("rowheader", name="Authenticator app")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    password_step(page, live_therapist)
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    check_accessibility(page, "second factor")
    screenshot(page, "second-factor")
    # The code just used does not work again.
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That code did not work")).to_be_visible()
    clock.move(30)
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Good to see you")).to_be_visible()


def virtual_authenticator(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp


def test_register_a_passkey_and_sign_in_with_it(browser, server, live_therapist):
    # Passkeys need a host name: browsers refuse an IP address as the relying party.
    base = server.url.replace("127.0.0.1", "localhost")
    context = browser.new_context(base_url=base, viewport=LAPTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    virtual_authenticator(context, page)
    try:
        password_step(page, live_therapist)
        page.goto("/account/two-factor")
        page.get_by_label("Name for this passkey").fill("Office laptop")
        check_accessibility(page, "second factor choices")
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
        expect(page.locator("[data-codes-list] li")).to_have_count(10)
        page.get_by_role("button", name="I have saved them. Continue").click()
        expect(page.get_by_role("rowheader", name="Passkey “Office laptop”")).to_be_visible()
        expect(page.get_by_text("Not yet")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        password_step(page, live_therapist)
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
        page.get_by_role("button", name="Use a passkey").click()
        expect(page.get_by_role("heading", name="Good to see you")).to_be_visible()

        page.goto("/account")
        expect(page.get_by_text("Not yet")).to_have_count(0)
        check_accessibility(page, "account with factors")
        screenshot(page, "account-two-factor")
    finally:
        context.close()


def test_a_required_second_factor_cannot_be_skipped(page, live_app, live_therapist, clock):
    from therapy.extensions import db
    from therapy.models import User

    with live_app.app_context():
        admin = db.session.get(User, live_therapist.id)
        factors.set_second_factor_required(True, admin)

    password_step(page, live_therapist)
    expect(page.get_by_role("heading", name="Add a second factor")).to_be_visible()
    expect(page.get_by_text("Your practice asks everyone")).to_be_visible()
    check_accessibility(page, "required setup")
    for url in ("/", "/couples", "/account", "/exercises", "/admin/therapists", "/login"):
        page.goto(url)
        expect(page).to_have_url(f"{page.url.split('/account')[0]}/account/two-factor")
    # A script's request gets a 401, not the page.
    status = page.evaluate(
        "async () => (await fetch('/', {headers: {'HX-Request': 'true'}})).status"
    )
    assert status == 401

    page.get_by_role("button", name="Set up an app").click()
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("button", name="I have saved them. Continue").click()
    expect(page.get_by_role("heading", name="Good to see you")).to_be_visible()

    # Next time the code is asked for, and no address gets around it either.
    page.get_by_role("button", name="Sign out").click()
    password_step(page, live_therapist)
    for url in ("/", "/couples", "/account/two-factor", "/account/two-factor/app"):
        page.goto(url)
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    page.get_by_role("button", name="Cancel and sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_administrator_hands_over_a_reset_link(browser, server, live_app, live_therapist):
    from tests.conftest import TEST_PASSWORD, Account
    from therapy.auth import services

    with live_app.app_context():
        user = services.create_user("boss@example.com", "Dr. Boss", TEST_PASSWORD, admin=True)
        admin = Account(user.id, user.email, TEST_PASSWORD)
    base = server.url.replace("127.0.0.1", "localhost")
    admin_context = browser.new_context(base_url=base, viewport=LAPTOP)
    admin_context.grant_permissions(["clipboard-read", "clipboard-write"])
    admin_page = admin_context.new_page()
    therapist_context = browser.new_context(base_url=base, viewport=LAPTOP)
    therapist_page = therapist_context.new_page()
    try:
        password_step(admin_page, admin)
        admin_page.goto("/admin/therapists")
        check_accessibility(admin_page, "therapists with second factors")
        screenshot(admin_page, "admin-therapists-factors")
        admin_page.get_by_role("button", name="Reset link for Dr. Live Test").click()
        expect(admin_page.get_by_text("Copy it now.")).to_be_visible()
        check_accessibility(admin_page, "reset link")
        screenshot(admin_page, "admin-reset-link")
        admin_page.get_by_role("button", name="Copy the link").click()
        expect(admin_page.get_by_role("button", name="Copied")).to_be_visible()
        link = admin_page.evaluate("navigator.clipboard.readText()")
        assert link == admin_page.get_by_label("Link for live@example.com").input_value()

        therapist_page.goto(link)
        expect(therapist_page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        assert (
            "/reset/password" in therapist_page.url
            and link.split("/")[-1] not in therapist_page.url
        )
        check_accessibility(therapist_page, "new password")
        therapist_page.get_by_label("New password", exact=True).fill(
            "violet harbour lantern copper"
        )
        therapist_page.get_by_label("New password again").fill("violet harbour lantern copper")
        therapist_page.get_by_role("button", name="Save new password").click()
        expect(therapist_page.get_by_text("Your password is changed")).to_be_visible()
        therapist_page.goto(link)
        expect(
            therapist_page.get_by_role("heading", name="This link does not work")
        ).to_be_visible()
    finally:
        admin_context.close()
        therapist_context.close()
