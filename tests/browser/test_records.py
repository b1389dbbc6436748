"""Records requests and sharing in real Chromium: share with a supervisor, what they see,
revoking while their page is open, the records ZIP download, deleting for good."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LAPTOP, check_accessibility, screenshot, sign_in
from tests.conftest import TEST_PASSWORD, Account
from tests.progress_helpers import add_checkin, held_session
from therapy.auth import services as accounts
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import Couple, User


@pytest.fixture
def practice(live_app, live_therapist) -> dict[str, Any]:
    with live_app.app_context():
        sup_id = accounts.create_user("sup@example.com", "Dr. Sam Super", TEST_PASSWORD).id
        owner = db.session.get(User, live_therapist.id)
        couple = couples.create_couple(
            owner,
            couples.CoupleData(
                partner_a=couples.PartnerData("Maya"), partner_b=couples.PartnerData("Jonah")
            ),
        )
        couple_id = couple.id
    held_session(live_app, couple_id)
    add_checkin(
        live_app,
        couple_id,
        "a",
        date.today(),
        was_hard="Only for the therapist",
        was_hard_private=True,
    )
    return {
        "owner": live_therapist,
        "sup": Account(sup_id, "sup@example.com", TEST_PASSWORD),
        "couple_id": couple_id,
    }


def test_share_with_a_supervisor_then_revoke_while_their_page_is_open(
    browser, server, live_app, practice
):
    couple_id = practice["couple_id"]
    owner_context = browser.new_context(base_url=server.url, viewport=LAPTOP)
    owner = owner_context.new_page()
    sign_in(owner, practice["owner"])
    owner.goto(f"/couples/{couple_id}")
    owner.get_by_role("link", name="Sharing").click()
    expect(owner.get_by_role("heading", name="Share Maya & Jonah")).to_be_visible()
    check_accessibility(owner, "sharing page")
    therapist = owner.get_by_label("Therapist", exact=True)
    therapist.select_option(label="Dr. Sam Super (sup@example.com)")
    owner.get_by_label("Supervisor: reads everything and changes nothing").check()
    owner.get_by_role("button", name="Share", exact=True).click()
    expect(owner.get_by_text("Maya & Jonah is shared with Dr. Sam Super.")).to_be_visible()
    screenshot(owner, "sharing")

    sup_context = browser.new_context(base_url=server.url, viewport=LAPTOP)
    sup = sup_context.new_page()
    sign_in(sup, practice["sup"])
    sup.goto("/couples")
    shared = sup.get_by_role("region", name="Shared with you")
    expect(shared.get_by_role("link", name="Maya & Jonah")).to_be_visible()
    shared.get_by_role("link", name="Maya & Jonah").click()
    expect(sup.get_by_text("Shared with you as")).to_be_visible()
    expect(sup.get_by_role("link", name="Edit")).to_have_count(0)
    expect(sup.get_by_role("button", name="Archive")).to_have_count(0)
    check_accessibility(sup, "couple page, as supervisor")
    screenshot(sup, "couple-as-supervisor")
    sup.get_by_role("link", name="Session 1").click()
    expect(sup.get_by_text("You can read this record but not change it.")).to_be_visible()
    sup.go_back()
    sup.get_by_role("link", name="Check-in from Maya").click()
    expect(sup.get_by_text("Private: not shown to you").first).to_be_visible()
    expect(sup.get_by_text("Only for the therapist")).to_have_count(0)

    # The owner stops sharing; the supervisor's open page refuses the very next click.
    owner.get_by_role("button", name="Stop sharing with Dr. Sam Super").click()
    expect(owner.get_by_text("Dr. Sam Super can no longer open Maya & Jonah.")).to_be_visible()
    sup.get_by_role("link", name="Progress").click()
    expect(sup.get_by_role("heading", name="Page not found")).to_be_visible()
    owner_context.close()
    sup_context.close()


# Playwright's own download copy leaves its artifact file to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_records_request_download_and_delete_for_good(page, live_app, practice, tmp_path):
    couple_id = practice["couple_id"]
    sign_in(page, practice["owner"])
    page.goto(f"/couples/{couple_id}")
    section = page.get_by_role("region", name="Records request")
    section.get_by_label("Leave out partner A's private answers (a copy for partner B)").check()
    with page.expect_download() as info:
        section.get_by_role("button", name="Download the record (ZIP)").click()
    download = info.value
    assert download.suggested_filename == f"couple-{couple_id}-record-{date.today():%Y-%m-%d}.zip"
    data = open(download.path(), "rb").read()  # noqa: SIM115
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        record = json.loads(archive.read("record.json"))
    assert "README.txt" in names and "pdf/progress-report.pdf" in names
    assert "Only for the therapist" not in json.dumps(record)
    check_accessibility(page, "couple page with records request")
    screenshot(page, "couple-records-request")

    page.get_by_role("button", name="Archive").click()
    page.goto(f"/couples/{couple_id}")
    page.get_by_role("link", name="Delete for good…").click()
    check_accessibility(page, "delete page")
    screenshot(page, "delete-couple")
    page.get_by_label("Type the couple's name to confirm").fill("Maya")
    page.get_by_role("button", name="Delete for good").click()
    expect(page.get_by_text("The name typed does not match.")).to_be_visible()
    page.get_by_label("Type the couple's name to confirm").fill("Maya & Jonah")
    page.keyboard.press("Enter")
    expect(
        page.get_by_text("Maya & Jonah and everything recorded about them is deleted.")
    ).to_be_visible()
    with live_app.app_context():
        assert db.session.get(Couple, couple_id) is None


def test_a_cotherapist_whose_share_ends_is_told_on_the_next_htmx_change(
    browser, server, live_app, practice
):
    from sqlalchemy import select

    from therapy.couples import sharing
    from therapy.models import CoupleShare, PlanItem, TherapySession

    couple_id = practice["couple_id"]
    with live_app.app_context():
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, practice["owner"].id)
        co_id = accounts.create_user("co@example.com", "Dr. Co Worker", TEST_PASSWORD).id
        sharing.share_couple(couple, co_id, "cotherapist", private_answers=False, by=owner)
        session_id = db.session.scalar(
            select(TherapySession.id).where(TherapySession.couple_id == couple_id)
        )
        items_before = db.session.scalar(
            select(db.func.count(PlanItem.id)).where(PlanItem.session_id == session_id)
        )
    context = browser.new_context(base_url=server.url, viewport=LAPTOP)
    page = context.new_page()
    sign_in(page, Account(co_id, "co@example.com", TEST_PASSWORD))
    page.goto(f"/sessions/{session_id}")
    add = page.get_by_role("list", name="Suggested exercises").get_by_role("button").first
    expect(add).to_be_visible()
    with live_app.app_context():
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, practice["owner"].id)
        share_id = db.session.scalar(select(CoupleShare.id).where(CoupleShare.user_id == co_id))
        sharing.revoke_share(couple, share_id, by=owner)
    add.click()
    expect(page.get_by_text("This record is no longer open to you")).to_be_visible()
    with live_app.app_context():
        items_after = db.session.scalar(
            select(db.func.count(PlanItem.id)).where(PlanItem.session_id == session_id)
        )
    assert items_after == items_before
    context.close()
