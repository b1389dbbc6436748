"""The repository's gunicorn.conf.py: timeouts above every PDF cap, tokens out of the logs."""

from __future__ import annotations

import http.client
import runpy
import secrets
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from gunicorn.config import Config

from tests.conftest import build_app
from tests.live_gunicorn import CONFIG, gunicorn


def gunicorn_settings() -> Config:
    """The config file read the way gunicorn reads it (its validators run)."""
    config = Config()
    for name, value in runpy.run_path(str(CONFIG)).items():
        if name in config.settings:
            config.set(name, value)
    return config


def fetch(url: str, timeout: float = 30, **headers: str) -> int:
    """The status of one GET, redirects not followed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        connection.request("GET", url[len(f"{parts.scheme}://{parts.netloc}") :], headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_worker_timeout_outlasts_every_pdf_time_cap(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'unused.sqlite'}", tmp_path)
    caps = {
        name: float(value)
        for name, value in app.config.items()
        if name.startswith("PDF_") and name.endswith("TIMEOUT")
    }
    assert {"PDF_TIMEOUT", "PDF_BATCH_TIMEOUT"} <= caps.keys()
    settings = gunicorn_settings()
    for name, cap in caps.items():
        # Gunicorn killing the worker first would turn the app's clear message into a 502.
        assert settings.timeout > cap, name
        # A restart lets a request under way finish, however long its PDF may take.
        assert settings.graceful_timeout > cap, name
    assert settings.max_requests > 0 and settings.max_requests_jitter > 0
    assert settings.bind == ["127.0.0.1:8000"]
    assert 2 <= settings.workers <= 8
    assert settings.threads > 1


def test_access_log_never_holds_a_partner_token(sqlite_template, tmp_path):
    database = tmp_path / "tandem.sqlite"
    shutil.copy(sqlite_template, database)
    token = secrets.token_urlsafe(32)
    assert len(token) == 43
    encoded = "".join(f"%{byte:02X}" for byte in token.encode())
    with gunicorn(f"sqlite:///{database}", tmp_path) as server:
        assert fetch(server.url + "/login") == 302  # to first-run setup: no account yet
        # Unknown to the app: the closed-link page, but the request line carried the token.
        assert fetch(server.url + f"/c/{token}") == 404
        assert fetch(server.url + f"/c/{encoded}?from=sheet") == 404
        assert fetch(server.url + "/login", Referer=f"{server.url}/c/{token}") == 302
        access_log = Path(server.access_log)
    lines = access_log.read_text().splitlines()
    assert len(lines) == 4, lines
    text = "\n".join(lines)
    assert token not in text and encoded not in text
    # Each worker writes its line after the response went out, so two workers' lines may
    # land in either order: look for each request's line, not at a position.
    assert sum('"GET /login HTTP/1.1" 302' in line for line in lines) == 2
    assert sum('"GET /c/[redacted] HTTP/1.1" 404' in line for line in lines) == 1
    assert sum('"GET /c/[redacted]?from=sheet HTTP/1.1" 404' in line for line in lines) == 1
    assert any('"GET /login HTTP/1.1" 302' in line and "/c/[redacted]" in line for line in lines)


def test_an_idle_connection_does_not_hold_up_other_requests(sqlite_template, tmp_path):
    # Chromium opens connections ahead of time and may leave one idle; a worker that
    # waited on it would leave everyone else hanging (found by tests/browser/test_https.py).
    database = tmp_path / "tandem.sqlite"
    shutil.copy(sqlite_template, database)
    with gunicorn(f"sqlite:///{database}", tmp_path) as server:
        assert fetch(server.url + "/login") == 302  # the worker is up
        parts = urlsplit(server.url)
        with socket.create_connection((parts.hostname, parts.port)):
            time.sleep(0.2)  # accepted by the worker, which now waits for its request
            started = time.monotonic()
            assert fetch(server.url + "/login", timeout=5) == 302
            assert time.monotonic() - started < 2
