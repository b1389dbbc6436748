"""Real Chromium (Debian's) driven by Playwright against a live server on loopback."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import build_app
from therapy.extensions import db

CHROMIUM = os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def whole_bodies(app: Any) -> Any:
    """The app, answering with each body read whole and its iterable closed.

    Werkzeug's development server closes a response's iterable only after draining the
    socket, and a connection the browser dropped mid-response (a page left while its logo
    loads) can raise there first: the static file stayed open, and its ResourceWarning at
    garbage collection failed whichever test was running (seen once in CI). Pages and
    PDFs here are small; nothing Tandem serves streams.
    """

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wsgi


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, whole_bodies(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def live_app(sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    """An app on its own SQLite copy; browser tests always run on SQLite."""
    target = tmp_path / "tandem.sqlite"
    shutil.copy(sqlite_template, target)
    app = build_app(f"sqlite:///{target}", tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def server(live_app: Any) -> Iterator[LiveServer]:
    with LiveServer(live_app) as live:
        yield live


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=server.url, viewport=LAPTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_therapist(live_app: Any) -> Any:
    """A therapist account on the live server's database, with the library loaded."""
    from tests.conftest import TEST_PASSWORD, Account
    from therapy.auth import services
    from therapy.library.seed import seed_library

    with live_app.app_context():
        seed_library()
        user = services.create_user("live@example.com", "Dr. Live Test", TEST_PASSWORD)
        return Account(user.id, user.email, TEST_PASSWORD)


def sign_in(page: Any, account: Any) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def check_accessibility(page: Any, label: str) -> None:
    """Run axe-core (vendored) on the page; no serious or critical violations allowed."""
    # After a click that navigates, the new document may be committed with no <head> yet
    # (seen on a busy machine: add_script_tag failed on a null head).
    page.wait_for_load_state("domcontentloaded")
    page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, f"{label}: " + "; ".join(serious)


def screenshot(page: Any, name: str) -> None:
    """Keep laptop and phone screenshots of the page in test-artifacts/ for a human look."""
    ARTIFACTS.mkdir(exist_ok=True)
    original = page.viewport_size
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(original)
