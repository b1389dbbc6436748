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
    page.get_by_role("button", name="Set up an app").click()
    expect(page.get_by_role("img", name="QR code to add Tandem")).to_be_visible()
    check_accessibility(page, "app setup")
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).at(clock.now()))
    page.get_by_role("button", name="Turn on").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("[data-codes-list] li")).to_have_count(10)
    check_accessibility(page, "recovery codes")
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
