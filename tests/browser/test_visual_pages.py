"""Every main page, on a laptop (1280 wide) and a phone (390 wide), compared with its
baseline screenshot in tests/visual/baselines/.

The practice is tests/visual/world.py's, the server's clock and the browser's are frozen
at the same moment, the browser's zone is the therapist's, and screenshots are taken with
animations stopped and the caret hidden, so the same page draws the same pixels in every
run. See tests/visual/compare.py for the tolerance and where failures are left.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from tests.browser.conftest import LAPTOP, PHONE, LiveServer
from tests.conftest import build_app
from tests.visual import compare, world
from therapy.extensions import db
from therapy.models import AuditEvent

# Long pages are compared down to this height: enough for what a page is about, and
# baselines stay small.
MAX_HEIGHT = 2400
VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def practice(
    browser: Any, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, world.World, dict[str, Any]]]:
    """The practice on a live server, and a signed-in browser state, clock frozen."""
    folder = tmp_path_factory.mktemp("visual-pages")
    target = folder / "tandem.sqlite"
    shutil.copy(sqlite_template, target)
    monkeypatch = pytest.MonkeyPatch()
    world.fixed_tokens(monkeypatch)
    with world.frozen_clock():
        app = build_app(f"sqlite:///{target}", folder / "instance")
        built = world.build(app)
        with LiveServer(app) as live:
            context = browser.new_context(base_url=live.url, viewport=LAPTOP)
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("Email").fill(built.email)
            page.get_by_label("Password").fill(built.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/")
            state = context.storage_state()
            context.close()
            with app.app_context():
                last_event = db.session.scalar(select(func.max(AuditEvent.id))) or 0
            yield live, built, {"browser": browser, "state": state, "last_event": last_event}
    monkeypatch.undo()
    with app.app_context():
        db.engine.dispose()


PAGES = {
    "sign-in": "/login",
    "dashboard": "/",
    "caseload": "/couples",
    "couple": "/couples/{couple}",
    "plan-builder": "/sessions/{planned}",
    "progress": "/couples/{couple}/progress",
    "library": "/exercises/",
    "partner-check-in": "/c/{token}",
}


def shoot(page: Any) -> bytes:
    page.evaluate("document.fonts.ready")
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
    width = page.viewport_size["width"]
    return page.screenshot(
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": height},
        animations="disabled",
        caret="hide",
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", PAGES)
def test_every_main_page_looks_as_it_did(practice, name, viewport):
    live, built, shared = practice
    # Each page as if it were the first one opened: what earlier tests viewed (the
    # dashboard's "Recently viewed" comes from the audit trail) is forgotten, whatever
    # order the tests run in.
    with live.app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.id > shared["last_event"]))
        db.session.commit()
    signed_in = name not in ("sign-in", "partner-check-in")
    context = shared["browser"].new_context(
        base_url=live.url,
        viewport=VIEWPORTS[viewport],
        timezone_id=world.ZONE,
        locale="en-GB",
        storage_state=shared["state"] if signed_in else None,
        reduced_motion="reduce",
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.clock.set_fixed_time(world.FROZEN)
        url = PAGES[name].format(
            couple=built.couple_id, planned=built.planned_id, token=built.token
        )
        # (The server's clock is frozen by the `practice` fixture for the whole module.)
        response = page.goto(url)
        assert response is not None and response.ok, (url, response and response.status)
        page.wait_for_load_state("networkidle")
        png = shoot(page)
        compare.check(f"page-{name}-{viewport}", png)
    finally:
        context.close()
