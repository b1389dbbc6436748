"""A passkey over real HTTPS on a real host name: production mode, gunicorn serving TLS,
Chromium resolving tandem.test to loopback and trusting the throwaway certificate, and
Chromium's virtual authenticator. The relying party is the configured host name."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LAPTOP
from tests.browser.test_accounts import virtual_authenticator
from tests.live_gunicorn import PROJECT_ROOT, Gunicorn, gunicorn, server_environment

HOST = "tandem.test"
EMAIL = "keys@example-practice.org"
PASSWORD = "kettle orbit lantern meadow"


@pytest.fixture
def https_host(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Gunicorn, str, str]]:
    """gunicorn with a certificate for tandem.test, one account; yields the server, its
    https://tandem.test:PORT address and the certificate's SPKI fingerprint."""
    import trustme

    database = tmp_path / "tandem.sqlite"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    env = server_environment(url, TANDEM_TRUSTED_HOSTS=HOST)
    subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        [sys.executable, "-m", "flask", "--app", "app", "create-user", EMAIL, "--name", "Dr. Key"],
        cwd=PROJECT_ROOT,
        env=env,
        input=f"{PASSWORD}\n".encode(),
        check=True,
        capture_output=True,
        timeout=60,
    )
    certificate = trustme.CA().issue_cert(HOST)
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    leaf = x509.load_pem_x509_certificate(certificate.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    fingerprint = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    args = ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    with gunicorn(
        url, tmp_path, args, scheme="https", env={"TANDEM_TRUSTED_HOSTS": HOST}
    ) as server:
        port = server.url.rsplit(":", 1)[1]
        yield server, f"https://{HOST}:{port}", fingerprint


@pytest.fixture
def trusting_browser(browser: Any, https_host: tuple[Gunicorn, str, str]) -> Iterator[Any]:
    """Chromium that resolves tandem.test to loopback and trusts this one certificate
    (WebAuthn is off on pages with certificate errors, so ignoring them would not do).
    Launched by the session's Playwright: a second one cannot start in this process."""
    _server, _url, fingerprint = https_host
    trusting = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
            f"--ignore-certificate-errors-spki-list={fingerprint}",
        ],
    )
    yield trusting
    trusting.close()


def test_a_passkey_over_https_on_a_host_name(trusting_browser, https_host):
    _server, base, _fingerprint = https_host
    context = trusting_browser.new_context(base_url=base, viewport=LAPTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    virtual_authenticator(context, page)

    def password_step() -> None:
        page.goto("/login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

    password_step()
    expect(page.get_by_role("heading", name="Good to see you")).to_be_visible()
    assert page.evaluate("location.protocol") == "https:"
    page.goto("/account/two-factor")
    page.get_by_label("Name for this passkey").fill("Clinic desk")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible(timeout=20_000)
    page.get_by_role("button", name="I have saved them. Continue").click()
    expect(page.get_by_role("rowheader", name="Passkey “Clinic desk”")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    password_step()
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", name="Good to see you")).to_be_visible(timeout=20_000)
    context.close()
