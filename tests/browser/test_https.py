"""The app as it runs in production: gunicorn serving HTTPS itself, in real Chromium.

Every form posts over HTTPS here, where Flask-WTF also checks that the Referer is this
site (WTF_CSRF_SSL_STRICT). With `Referrer-Policy: no-referrer` the browser sends none
and every post, the first-run setup included, gets "This form has expired".
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LAPTOP
from tests.live_gunicorn import PROJECT_ROOT, Gunicorn, gunicorn, server_environment

ADMIN_EMAIL = "admin@example-practice.org"
ADMIN_PASSWORD = "kettle orbit lantern meadow"


@pytest.fixture
def https_server(sqlite_template: Path, tmp_path: Path) -> Iterator[Gunicorn]:
    """gunicorn with a throwaway certificate for 127.0.0.1, on a migrated SQLite file."""
    import trustme

    database = tmp_path / "tandem.sqlite"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    # As the README's step 3 does it: the exercise library, loaded from the command line.
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "seed-library"],
        cwd=PROJECT_ROOT,
        env=server_environment(url),
        check=True,
        capture_output=True,
        timeout=60,
    )
    certificate = trustme.CA().issue_cert("127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    args = ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    with gunicorn(url, tmp_path, args, scheme="https") as server:
        yield server


def new_page(browser: Any, server: Gunicorn) -> Any:
    # The certificate's CA is not one Chromium trusts; the connection is still TLS.
    context = browser.new_context(base_url=server.url, viewport=LAPTOP, ignore_https_errors=True)
    context.set_default_timeout(15_000)
    return context.new_page()


def test_setup_sign_in_couple_link_and_partner_check_in_over_https(browser, https_server):
    page = new_page(browser, https_server)

    # First run: the administrator account, made in the browser.
    page.goto("/")
    expect(page).to_have_url(f"{https_server.url}/setup")
    assert page.evaluate("location.protocol") == "https:"
    page.get_by_label("Your name").fill("Dr. Ada Admin")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Password again").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create the administrator account").click()
    expect(page.get_by_text("Your administrator account is ready")).to_be_visible()

    # Sign out and in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{https_server.url}/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # A couple.
    page.goto("/couples/new")
    page.locator("#partner_a-first_name").fill("Zoë")
    page.locator("#partner_b-first_name").fill("Łukasz")
    page.get_by_role("button", name="Add couple").click()
    expect(page.get_by_role("heading", name="Zoë & Łukasz")).to_be_visible()

    # A check-in link for Zoë.
    page.get_by_role("link", name="Check-in links").click()
    page.get_by_label("Zoë").check()
    page.get_by_label("Open for (days)").fill("7")
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_role("heading", name="Zoë's check-in link")).to_be_visible()
    link = page.get_by_label("Link for Zoë").input_value()
    assert link.startswith(f"{https_server.url}/c/")

    # Zoë, on a browser of her own, opens it and sends her check-in.
    partner = new_page(browser, https_server)
    partner.goto(link)
    expect(partner).to_have_url(f"{https_server.url}/c/")
    expect(partner.get_by_role("heading", name="Hi Zoë, how was your week?")).to_be_visible()
    ratings = partner.locator("input[type=radio][value='8']")
    assert ratings.count() > 0
    for index in range(ratings.count()):
        ratings.nth(index).check()
    partner.get_by_label("What went well this week?").fill("We cooked twice.")
    partner.get_by_role("button", name="Send to my therapist").click()
    expect(partner.get_by_role("heading", name="Thank you")).to_be_visible()
    partner.context.close()

    # The therapist sees it has arrived.
    page.goto(page.url)
    page.get_by_role("link", name="See the check-in").click()
    expect(page.get_by_text("We cooked twice.")).to_be_visible()
    page.context.close()
