"""A partner's check-in through a link in real Chromium, and the therapist's progress page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LAPTOP, check_accessibility, screenshot, sign_in
from tests.progress_helpers import add_checkin, add_score, held_session
from therapy.checkins.services import practices
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import User


@pytest.fixture
def couple(live_app, live_therapist):
    with live_app.app_context():
        user = db.session.get(User, live_therapist.id)
        data = couples.CoupleData(
            partner_a=couples.PartnerData("Zoë"),
            partner_b=couples.PartnerData("Łukasz"),
            goals=(couples.GoalData("A weekly talk without phones"),),
        )
        couple_id = couples.create_couple(user, data).id
    held_session(live_app, couple_id, days_ago=5)
    today = date.today()
    for weeks, (a, b) in enumerate(((4, 5), (5, 5), (7, 4), (6, 3))):
        day = today - timedelta(weeks=4 - weeks)
        add_checkin(live_app, couple_id, "a", day, a, homework=["partly"], went_well="A walk")
        add_checkin(live_app, couple_id, "b", day, b, homework=["not"], was_hard="Busy week",
                    was_hard_private=True)  # fmt: skip
    add_score(live_app, couple_id, "a", today - timedelta(weeks=4), (3, 3, 3, 3))
    add_score(live_app, couple_id, "a", today - timedelta(weeks=1), (5, 4, 4, 4))
    add_score(live_app, couple_id, "b", today - timedelta(weeks=1), (3, 3, 2, 3))
    return couple_id


def test_a_partner_checks_in_through_a_link_and_the_therapist_sees_it(
    browser, page, server, live_app, live_therapist, couple
):
    sign_in(page, live_therapist)
    page.goto(f"/couples/{couple}/links")
    check_accessibility(page, "check-in links")
    page.get_by_label("Zoë").check()
    page.get_by_label("Open for (days)").fill("7")
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_role("heading", name="Zoë's check-in link")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of Zoë's check-in link")).to_be_visible()
    url = page.get_by_label("Link for Zoë").input_value()
    assert "/c/" in url
    check_accessibility(page, "link created")
    screenshot(page, "progress-link-created")

    # A fresh browser: no therapist cookies at all.
    context = browser.new_context(base_url=server.url, viewport=LAPTOP)
    partner = context.new_page()
    partner.goto(url)
    expect(partner).to_have_url(f"{server.url}/c/")
    expect(partner.get_by_role("heading", name="Hi Zoë, how was your week?")).to_be_visible()
    assert "Łukasz" not in partner.content()
    check_accessibility(partner, "partner check-in form")
    screenshot(partner, "progress-partner-form")
    from therapy.checkins import questions

    with live_app.app_context():
        rated = [q.text for p in practices() for q in questions.asked(p.slug)]
    for number, question in enumerate(rated):
        group = partner.get_by_role("group", name=question)
        group.get_by_label(str(9 if number == 0 else 8), exact=True).check()
    partner.get_by_role("group", name="Did you do “The daily download”?").get_by_label(
        "Fully"
    ).check()
    partner.get_by_label("What went well this week?").fill("We cooked twice.")
    partner.get_by_label("What was hard this week?").fill("A late night at work.")
    partner.get_by_label("Keep this private (only your therapist sees it)").last.check()
    partner.get_by_role("button", name="Send to my therapist").click()
    expect(partner.get_by_role("heading", name="Thank you")).to_be_visible()
    check_accessibility(partner, "partner thanks")
    context.close()

    page.goto(f"/couples/{couple}/progress")
    expect(page.get_by_role("heading", name="Progress", exact=True)).to_be_visible()
    section = page.get_by_role("region", name="Open and honest communication: Openness")
    section.get_by_text("Table of the numbers").click()
    table = section.get_by_role("table")
    expect(table.get_by_role("row").last).to_contain_text("9")
    expect(page.get_by_text("We cooked twice.")).to_be_visible()
    expect(page.get_by_text("A late night at work.")).to_be_visible()
    check_accessibility(page, "progress page")
    screenshot(page, "progress-page")

    page.get_by_role("link", name="Couple view").click()
    expect(page.get_by_text("We cooked twice.")).to_be_visible()
    expect(page.get_by_text("A late night at work.")).to_have_count(0)
    check_accessibility(page, "progress couple view")
    screenshot(page, "progress-couple-view")

    page.goto(f"/couples/{couple}/checkins/new")
    check_accessibility(page, "check-in form")
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("Please check the highlighted fields.")).to_be_visible()
    check_accessibility(page, "check-in form with errors")
    screenshot(page, "progress-checkin-form-errors")

    page.goto("/")
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    screenshot(page, "progress-dashboard")
