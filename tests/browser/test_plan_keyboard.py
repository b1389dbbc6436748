"""The plan builder by keyboard: after "Add" focus lands on the exercise just added (its
minutes), not the top of the page; the minutes total follows what is typed, before any
save — in real Chromium, with JavaScript and without."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import User
from therapy.sessions import services as sessions


@pytest.fixture
def session_id(live_app, live_therapist) -> int:
    with live_app.app_context():
        couple = couples.create_couple(
            db.session.get(User, live_therapist.id),
            couples.CoupleData(
                partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
            ),
        )
        return sessions.create_session(couple, starts_at=None, minutes=50).id


def add_by_keyboard(page, words: str) -> str:
    search = page.get_by_role("searchbox", name="Search")
    search.fill(words)
    search.press("Enter")
    first = page.get_by_role("list", name="Search results").locator(".pick").first
    expect(first.locator(".pick-title")).to_contain_text(re.compile(words, re.I))
    title = first.locator(".pick-title").inner_text().replace("★", "").strip()
    first.get_by_role("button", name="Add").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".plan-item-title").last).to_have_text(title)
    return title


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_after_add_focus_is_on_the_new_exercise(browser, server, live_therapist, session_id,
                                                 javascript):  # fmt: skip
    context = browser.new_context(base_url=server.url, java_script_enabled=javascript)
    page = context.new_page()
    try:
        sign_in(page, live_therapist)
        page.goto(f"/sessions/{session_id}")
        for words in ("daily download", "memory lane"):
            title = add_by_keyboard(page, words)
            item = page.locator(".plan-item").last
            minutes = item.get_by_label("Minutes")
            expect(minutes).to_be_focused()
            # And it is on screen, where the therapist's eyes should be.
            expect(minutes).to_be_in_viewport()
            assert title in item.inner_text()
        # Tab goes on through the new exercise's own fields.
        page.keyboard.press("Tab")
        in_last = (
            "document.activeElement.closest('.plan-item')"
            " === [...document.querySelectorAll('.plan-item')].pop()"
        )
        assert page.evaluate(in_last)
    finally:
        context.close()


def test_the_minutes_total_follows_typing(page, live_therapist, session_id):
    sign_in(page, live_therapist)
    page.goto(f"/sessions/{session_id}")
    add_by_keyboard(page, "thank-you jar")
    add_by_keyboard(page, "question jar")
    items = page.locator(".plan-item")
    for index in range(2):
        items.nth(index).get_by_label("Homework").set_checked(False)
    total = page.locator("#plan-total")
    items.nth(0).get_by_label("Minutes").fill("20")
    items.nth(1).get_by_label("Minutes").fill("25")
    expect(total).to_contain_text("45 of 50 minutes")
    expect(total).not_to_contain_text("Over by")
    # Typed, not saved: the total shows it as each digit goes in.
    field = items.nth(1).get_by_label("Minutes")
    field.fill("")
    field.press_sequentially("40")
    expect(total).to_contain_text("60 of 50 minutes")
    expect(total).to_contain_text("Over by 10 minutes")
    expect(page.locator("#plan-total + meter")).to_have_attribute("value", "60")
    # Homework is done at home: it leaves the session total.
    items.nth(1).get_by_label("Homework").check()
    expect(total).to_contain_text("20 of 50 minutes")
    expect(total).to_contain_text("1 as homework")
    expect(total).not_to_contain_text("Over by")
    # An empty or half-typed field counts as nothing until it is a number.
    items.nth(0).get_by_label("Minutes").fill("")
    expect(total).to_contain_text("0 of 50 minutes")
    # Nothing was saved: a reload shows the saved plan again (both still homework).
    page.reload()
    saved = page.locator("#plan-total")
    expect(saved).to_contain_text("0 of 50 minutes in session · 2 as homework")
