"""A partner's week on a phone (390 px), from the email to the therapist's dashboard.

The link comes from the message a real SMTP server (aiosmtpd on loopback) received. The
partner ticks three days, answers a prompt privately, loses the connection mid-answer
and closes the tab; nothing is lost, it goes once they are back online. The therapist
sees the ticks and the unread count; the other partner's page shows nothing of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import PHONE, check_accessibility, screenshot, sign_in
from tests.progress_helpers import held_session
from tests.smtp_helpers import SmtpServer, running_server
from therapy import mail
from therapy.extensions import db
from therapy.models import HomeworkReply, User

# The README's picture (docs/screenshots/week-phone.png) is a copy of this one.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LINK = re.compile(r"http://[^\s]+/c/[A-Za-z0-9_-]{43}")
PRIVATE = "Sometimes I wonder if he still wants this"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from running_server()


@pytest.fixture
def couple_id(live_app, live_therapist):
    from therapy.couples import services

    with live_app.app_context():
        owner = db.session.get(User, live_therapist.id)
        data = services.CoupleData(
            partner_a=services.PartnerData("Zoë", email="zoe@example.com"),
            partner_b=services.PartnerData("Łukasz", email="lukasz@example.net"),
            label="Nowak-Smith",
        )
        couple_id = services.create_couple(owner, data).id
    held_session(live_app, couple_id)
    return couple_id


def link_in(smtp_server: SmtpServer, address: str) -> str:
    (message,) = smtp_server.inbox.to(address)
    return LINK.findall(message.body)[0]


def test_a_partner_does_the_week_on_a_phone_and_the_therapist_sees_it(
    browser, server, live_app, live_therapist, couple_id, smtp_server, page
):
    live_app.config.update(smtp_server.config())
    # The therapist emails each partner their link; `flask send-due` sends them.
    sign_in(page, live_therapist)
    page.goto(f"/couples/{couple_id}/week")
    page.get_by_role("button", name="Email each partner their link now").click()
    page.get_by_text("on its way to their email").wait_for()
    with live_app.app_context():
        assert mail.send_due().sent == 2

    phone = browser.new_context(base_url=server.url, viewport=PHONE, is_mobile=True)
    phone.set_default_timeout(10_000)
    zoe = phone.new_page()
    zoe.goto(link_in(smtp_server, "zoe@example.com"))
    assert "/c/" in zoe.url and re.search(r"/c/[A-Za-z0-9_-]{43}", zoe.url) is None
    zoe.get_by_role("heading", name="Your homework this week").wait_for()
    check_accessibility(zoe, "week page on a phone")
    # The page fits the phone: nothing wider than the screen.
    assert zoe.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    days = zoe.locator("fieldset.week-days input[type=checkbox]")
    assert days.count() == 7
    for index in (0, 2, 4):
        days.nth(index).check()
    answer = zoe.locator("textarea[data-prompt]").first
    answer.fill("Sometimes I wonder")
    zoe.get_by_label("Keep this private").first.check()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    zoe.locator("#week").screenshot(path=str(SCREENSHOTS / "week-phone.png"))

    # The connection drops mid-answer; the typing goes on, then the tab is closed.
    phone.set_offline(True)
    answer.press_sequentially(" if he still wants this")
    phone.set_offline(False)
    zoe.close()
    # Opened again (the link's cookie still holds): ticks and the answer are still there.
    zoe = phone.new_page()
    zoe.goto("/c/")
    answer = zoe.locator("textarea[data-prompt]").first
    assert answer.input_value() == PRIVATE
    assert zoe.get_by_label("Keep this private").first.is_checked()
    days = zoe.locator("fieldset.week-days input[type=checkbox]")
    assert [days.nth(i).is_checked() for i in range(7)] == [
        True,
        False,
        True,
        False,
        True,
        False,
        False,
    ]
    # Send while offline: kept; back online: it goes by itself.
    phone.set_offline(True)
    zoe.get_by_role("button", name="Send my homework").click()
    zoe.get_by_text("You are offline").wait_for()
    with live_app.app_context():
        assert db.session.query(HomeworkReply).count() == 0
    phone.set_offline(False)
    zoe.get_by_text("Sent to your therapist. Thank you.").wait_for()
    # A second click after sending sends nothing again.
    zoe.get_by_role("button", name="Send my homework").click()
    zoe.get_by_text("Nothing new to send yet").wait_for()
    with live_app.app_context():
        rows = db.session.query(HomeworkReply).order_by(HomeworkReply.id).all()
        assert [(r.kind, r.days, r.text, r.private) for r in rows] == [
            ("ticks", [1, 3, 5], "", False),
            ("note", [], PRIVATE, True),
        ]

    # The therapist: the unread count on the dashboard, the ticks on the progress page.
    page.goto("/")
    assert "0 check-ins and 1 homework note" in page.locator(".unread-summary").inner_text()
    page.goto(f"/couples/{couple_id}/progress")
    grid = page.locator(".week-done table").first
    assert "3 of 7" in grid.locator("tr", has_text="Zoë").inner_text()
    assert "0 of 7" in grid.locator("tr", has_text="Łukasz").inner_text()
    note = page.locator(".done-notes li", has_text=PRIVATE)
    assert "Private" in note.inner_text()
    check_accessibility(page, "progress page with homework day by day")
    screenshot(page, "week-progress")
    for url, name in ((f"/couples/{couple_id}/week", "week-couple"), ("/inbox", "week-inbox")):
        page.goto(url)
        check_accessibility(page, url)
        screenshot(page, name)
    page.goto("/inbox")
    assert "Zoë's homework note" in page.locator("main").inner_text()

    # The other partner, on their own phone, with their own link: nothing of it.
    other_phone = browser.new_context(base_url=server.url, viewport=PHONE, is_mobile=True)
    lukasz = other_phone.new_page()
    lukasz.goto(link_in(smtp_server, "lukasz@example.net"))
    lukasz.get_by_role("heading", name="Your homework this week").wait_for()
    body = lukasz.locator("body").inner_text()
    assert "Hi Łukasz" in body and "Zoë" not in body and "wonder" not in body
    boxes = lukasz.locator("fieldset.week-days input[type=checkbox]")
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    assert lukasz.locator("textarea[data-prompt]").first.input_value() == ""
    # The other partner on the SAME phone (a shared phone) with their own link: their
    # page keeps its own store, so Zoë's ticks are not shown either.
    shared = phone.new_page()
    shared.goto(link_in(smtp_server, "lukasz@example.net"))
    shared.get_by_role("heading", name="Your homework this week").wait_for()
    boxes = shared.locator("fieldset.week-days input[type=checkbox]")
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    assert "wonder" not in shared.locator("body").inner_text()
    phone.close()
    other_phone.close()


def test_the_week_page_sends_once_over_https_in_production(browser, sqlite_template, tmp_path):
    """gunicorn serving TLS in production mode (CSP, Secure cookies, strict CSRF): the
    week page's script sends ticks and a private note, offline first, saved once."""
    import shutil

    import trustme

    from tests.conftest import build_app
    from tests.live_gunicorn import gunicorn
    from tests.progress_helpers import create_link
    from therapy.auth import services as auth
    from therapy.couples import services as couples
    from therapy.library.seed import seed_library

    database = tmp_path / "tandem.sqlite"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    setup = build_app(url, tmp_path / "setup")
    with setup.app_context():
        seed_library()
        owner = auth.create_user("prod@example.com", "Dr. Prod", "kettle orbit lantern meadow")
        data = couples.CoupleData(
            partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
        )
        couple_id = couples.create_couple(owner, data).id
    held_session(setup, couple_id)
    token = create_link(setup, couple_id, "a")
    with setup.app_context():
        db.engine.dispose()

    certificate = trustme.CA().issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    args = ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    with gunicorn(url, tmp_path, args, scheme="https") as server:
        phone = browser.new_context(
            base_url=server.url, viewport=PHONE, is_mobile=True, ignore_https_errors=True
        )
        phone.set_default_timeout(15_000)
        zoe = phone.new_page()
        errors: list[str] = []
        zoe.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        zoe.goto(f"{server.url}/c/{token}")
        zoe.get_by_role("heading", name="Your homework this week").wait_for()
        days = zoe.locator("fieldset.week-days input[type=checkbox]")
        days.nth(0).check()
        days.nth(1).check()
        zoe.locator("textarea[data-prompt]").first.fill(PRIVATE)
        zoe.get_by_label("Keep this private").first.check()
        phone.set_offline(True)
        zoe.get_by_role("button", name="Send my homework").click()
        zoe.get_by_text("You are offline").wait_for()
        phone.set_offline(False)
        zoe.get_by_text("Sent to your therapist. Thank you.").wait_for()
        zoe.reload()  # nothing left to send, nothing sent twice
        zoe.get_by_role("heading", name="Your homework this week").wait_for()
        assert not [e for e in errors if "Content Security Policy" in e], errors
        phone.close()
    with setup.app_context():
        rows = db.session.query(HomeworkReply).order_by(HomeworkReply.id).all()
        assert [(r.kind, r.days, r.private) for r in rows] == [
            ("ticks", [1, 2], False),
            ("note", [], True),
        ]
        db.engine.dispose()
