"""Redis stopped or hung: sign-in, partner links and PDFs go on within seconds.

Each test starts its own redis-server on a free port (never the shared one on 6379),
stops it (SIGTERM) or freezes it (SIGSTOP: it accepts connections and never answers, the
worst case), and always lets it go again.
"""

from __future__ import annotations

import contextvars
import logging
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from tests.conftest import TEST_PASSWORD, Account, Client
from tests.pdf_helpers import make_pdf_app
from tests.progress_helpers import create_link
from therapy import pdf
from therapy.extensions import limiter
from therapy.pdf.cache import RedisCache

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")

# Generous: the design target is about one second (one 0.5 s timeout, then memory).
BOUND = 5.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class OwnRedis:
    """A throwaway redis-server that a test may stop or freeze."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(  # noqa: S603  (a fixed local tool, our arguments)
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.frozen = False
        client = redis.Redis.from_url(self.url, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def clean_up(self) -> None:
        if self.frozen:
            self.process.send_signal(signal.SIGCONT)
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    try:
        yield server
    finally:
        server.clean_up()
        # One limiter serves every app in this process: once it has seen its storage
        # fail, it would keep counting in memory for the tests that follow.
        limiter._storage_dead = False


@pytest.fixture
def redis_app(app: Flask, make_app: Callable[..., Flask], own_redis: OwnRedis) -> Flask:
    """The app with its rate limits (and PDF cache) in the test's own Redis. Built after
    the `app` fixture: the limiter keeps the storage of the app initialised last."""
    return make_app(REDIS_URL=own_redis.url, RATELIMIT_STORAGE_URI=own_redis.url)


def timed(action: Callable[[], object]) -> tuple[object, float]:
    """What the action returned and how long it took; a failure (not a stuck test run)
    when it takes more than a minute, say on a hung Redis without a socket timeout."""
    outcome: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as error:  # raised again in the test's own thread
            errors.append(error)

    start = time.monotonic()
    # The same app context and request state as the test's thread.
    worker = threading.Thread(target=contextvars.copy_context().run, args=(run,), daemon=True)
    worker.start()
    worker.join(timeout=60)
    if errors:
        raise errors[0]
    assert outcome, "still waiting after a minute"
    return outcome[0], time.monotonic() - start


def sign_in(app: Flask, account: Account, address: str = "203.0.113.20") -> tuple[int, float]:
    client: Client = app.test_client()  # type: ignore[assignment]
    token = client.csrf_token()
    response, seconds = timed(
        lambda: client.post(
            "/login",
            data={"email": account.email, "password": TEST_PASSWORD, "csrf_token": token},
            environ_base={"REMOTE_ADDR": address},
        )
    )
    return response.status_code, seconds  # type: ignore[attr-defined]


def open_partner_link(app: Flask, token: str) -> tuple[list[int], float]:
    partner = app.test_client()

    def both() -> list[int]:
        return [partner.get(f"/c/{token}").status_code, partner.get("/c/").status_code]

    statuses, seconds = timed(both)
    return statuses, seconds  # type: ignore[return-value]


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        "falling back to in-memory storage" in record.getMessage()
        for record in caplog.records
        if record.name == "flask-limiter"
    )


def test_redis_counts_sign_in_failures_while_it_is_up(redis_app, therapist, own_redis):
    # The baseline: limits really live in this Redis, so the tests below test a fallback.
    client = redis_app.test_client()
    client.post("/login", data={"email": therapist.email, "password": "wrong"})
    keys = redis.Redis.from_url(own_redis.url).keys("*login*")
    assert keys


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_sign_in_and_partner_links_work_while_redis_is_down(
    redis_app, therapist, make_couple, library, own_redis, caplog, fault
):
    couple_id = make_couple(therapist)
    token = create_link(redis_app, couple_id, "a")
    assert sign_in(redis_app, therapist)[0] == 302

    own_redis.stop() if fault == "stopped" else own_redis.freeze()
    with caplog.at_level(logging.INFO):
        status, first = sign_in(redis_app, therapist)
        statuses, link_seconds = open_partner_link(redis_app, token)
        later = [sign_in(redis_app, therapist) for _ in range(5)]
    print(f"\nRedis {fault}: sign-in {first:.2f} s, partner link {link_seconds:.2f} s")
    assert status == 302 and first < BOUND
    assert statuses == [302, 200] and link_seconds < BOUND
    assert all(code == 302 and seconds < BOUND for code, seconds in later)
    # Said once for the outage, not once per request.
    assert fallback_warnings(caplog) == 1


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_the_fallback_still_throttles(redis_app, therapist, own_redis, caplog, fault):
    own_redis.stop() if fault == "stopped" else own_redis.freeze()
    attacker = redis_app.test_client()
    token = attacker.csrf_token()

    def attempt(password: str, address: str = "198.51.100.7") -> int:
        return attacker.post(
            "/login",
            data={"email": therapist.email, "password": password, "csrf_token": token},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    with caplog.at_level(logging.INFO):
        statuses, seconds = timed(lambda: [attempt(f"wrong {n}") for n in range(30)])
        assert statuses == [200] * 30
        assert attempt(TEST_PASSWORD) == 429
    assert sign_in(redis_app, therapist, address="203.0.113.50")[0] == 302
    assert seconds < 30 * BOUND / 5  # no Redis wait per attempt
    assert fallback_warnings(caplog) == 1


def test_the_pdf_cache_skips_a_hung_redis_after_one_wait(own_redis, caplog):
    cache = RedisCache(own_redis.url, ttl=60, max_entry_bytes=1000)
    cache.set("k", b"%PDF-1")
    assert cache.get("k") == b"%PDF-1"
    own_redis.freeze()
    with caplog.at_level(logging.INFO, logger="therapy.pdf.cache"):
        first, first_seconds = timed(lambda: cache.get("k"))
        rest, rest_seconds = timed(lambda: [cache.get("k") for _ in range(20)])
        _, set_seconds = timed(lambda: cache.set("k2", b"%PDF-2"))
    assert first is None and first_seconds < 2
    assert rest == [None] * 20 and rest_seconds < 0.5
    assert set_seconds < 0.5
    warnings = [r for r in caplog.records if r.name == "therapy.pdf.cache"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


def test_pdfs_render_while_redis_is_stopped_or_hung(own_redis, tmp_path: Path, caplog):
    app = make_pdf_app(tmp_path / "instance", REDIS_URL=own_redis.url)
    html = "<!doctype html><html><body><p>Homework for the week</p></body></html>"
    with app.app_context():
        assert isinstance(pdf.service().cache, RedisCache)
        baseline, render_seconds = timed(lambda: pdf.render_pdf(html))
        own_redis.freeze()
        with caplog.at_level(logging.WARNING, logger="therapy.pdf.cache"):
            again, hung_seconds = timed(lambda: pdf.render_pdf(html + " "))
    print(f"\nPDF: {render_seconds:.2f} s with Redis, {hung_seconds:.2f} s with Redis hung")
    assert isinstance(baseline, bytes) and baseline.startswith(b"%PDF")
    assert isinstance(again, bytes) and again.startswith(b"%PDF")
    assert hung_seconds < render_seconds + BOUND
