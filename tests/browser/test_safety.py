"""Safety in real Chromium: a partner's private safety answer by keyboard on a phone, the
help block they see, and the therapist's screen, couple page and guide (axe-core)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, check_accessibility, screenshot, sign_in
from tests.progress_helpers import create_link
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import User


def test_a_partner_says_privately_they_are_unsafe_and_the_therapist_sees_it_first(
    browser, server, live_app, live_therapist
):
    with live_app.app_context():
        user = db.session.get(User, live_therapist.id)
        data = couples.CoupleData(
            partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
        )
        couple_id = couples.create_couple(user, data).id
    token = create_link(live_app, couple_id, "a")

    phone = browser.new_context(base_url=server.url, viewport=PHONE)
    partner = phone.new_page()
    partner.goto(f"/c/{token}")
    help_block = partner.get_by_role("complementary", name="Need help now?")
    expect(help_block).to_contain_text("No one watches this in real time")
    expect(help_block).to_contain_text("local emergency number")
    # Every rating by keyboard, then the safety question.
    for group in partner.locator("fieldset.field-choices").all():
        if "Do you feel safe" in group.inner_text():
            continue
        group.locator("input[value='6']").first.focus()
        partner.keyboard.press("Space")
    question = partner.get_by_role("group", name="Do you feel safe at home right now?")
    question.get_by_label("Not sure").focus()
    partner.keyboard.press("Space")
    partner.get_by_label("Anything you want your therapist to know about this?").fill(
        "Things got scary on Sunday."
    )
    width = partner.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "no sideways scrolling on a phone"
    check_accessibility(partner, "partner check-in with the safety question")
    screenshot(partner, "safety-partner-form")
    partner.get_by_role("button", name="Send to my therapist").click()
    expect(partner).to_have_url(f"{server.url}/c/thanks")
    expect(partner.get_by_role("complementary", name="Need help now?")).to_be_visible()
    phone.close()

    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    sign_in(page, live_therapist)
    first = page.locator(".attention-list > li").first
    said = "Zoë answered “Not sure” to “Do you feel safe at home right now?”"
    expect(first).to_contain_text(said)
    first.get_by_role("link", name="Zoë & Łukasz").click()
    expect(page.get_by_role("heading", name="A partner may not feel safe")).to_be_visible()
    expect(page.get_by_text("Things got scary on Sunday.")).to_be_visible()
    check_accessibility(page, "couple page with an unseen safety answer")
    screenshot(page, "safety-couple-page")
    page.get_by_role("link", name="Fill in the safety screen").click()
    check_accessibility(page, "safety screen form")
    screenshot(page, "safety-screen-form")
    page.get_by_role("link", name="Screening and suitability: what to ask").click()
    expect(page.get_by_role("heading", name="Screening and suitability")).to_be_visible()
    check_accessibility(page, "screening guide")
    screenshot(page, "safety-guide")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()


def test_the_builder_puts_safety_first_for_a_screened_positive_couple(
    browser, server, live_app, live_therapist
):
    from datetime import date

    from therapy.models import SafetyScreen
    from therapy.sessions import services as sessions

    with live_app.app_context():
        user = db.session.get(User, live_therapist.id)
        data = couples.CoupleData(
            partner_a=couples.PartnerData("Ana"), partner_b=couples.PartnerData("Bo")
        )
        couple = couples.create_couple(user, data)
        db.session.add(
            SafetyScreen(
                couple_id=couple.id,
                a_screened_on=date(2026, 11, 2),
                a_screened_by="Dana",
                b_screened_on=date(2026, 11, 2),
                b_screened_by="Dana",
                pattern="coercive",
            )
        )
        db.session.commit()
        session_id = sessions.create_session(couple, starts_at=None).id
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{session_id}?q=pause+plan")
    expect(page.get_by_text("Safety first.")).to_be_visible()
    page.get_by_role("button", name="Add “Make a pause plan”").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Screen: coercive control or fear of a partner")
    expect(dialog).to_contain_text("could become a control tactic")
    check_accessibility(page, "builder with a safety warning")
    screenshot(page, "safety-builder-warning")
    context.close()
