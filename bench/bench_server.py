"""Pages served by gunicorn on PostgreSQL and Redis, measured with wrk, next to hello-world.

The run: a fresh PostgreSQL database (BENCH_DATABASE_URL, default a `tandem_bench` database
on 127.0.0.1:5432), migrated, with the library and the demo caseload, and its planner
statistics gathered (a server whose autovacuum is off, as on the machine this was written
on, would otherwise plan every query blind); Tandem in production mode under gunicorn with
the repository's gunicorn.conf.py (4 workers); a signed-in therapist's cookie; then `wrk`
at 8 and 32 connections on each page and on a hello-world Flask app served the same way.

The machine this runs on is a shared virtual one whose speed drifts by up to a factor of
two within minutes, so hello-world is not measured once at the start: both servers stay
up, and each page's run follows a hello-world run of its own, BENCH_ROUNDS times (3 by
default; each run opens new connections, which gunicorn spreads over its workers
differently each time). A page's share of hello-world is the median of those pairs.
Goals (issue 12): the caseload at 10 % of hello-world or more, every page's p99 under
100 ms at 8 connections, and no errors.

wrk asks for the same page over and over while nothing changes, so the caseload and the
dashboard are served from the parts each worker keeps (therapy/pagecache.py) after its
first request each minute: the figure for a therapist reading between changes. Run with
TANDEM_PAGE_CACHE=0 for the pages made afresh every time.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from statistics import median

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/tandem_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# A run before each page's measured ones, not counted (see main).
WARM_UP_SECONDS = 2
# Seconds for the app's workers to start their render processes before the first request.
BOOT_SECONDS = 5
CONNECTIONS = (8, 32)
SECRET = "benchmark-secret-key-benchmark-secret-key-0123456789"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Result:
    label: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "TANDEM_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "TANDEM_TRUSTED_HOSTS": "127.0.0.1",
        # The bench signs in over plain HTTP on loopback; cookies are still sent by hand.
        "TANDEM_SECURE_COOKIES": "1",
    }


def flask(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=environment(),
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def fresh_database() -> None:
    url = make_url(DATABASE_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def gather_statistics() -> None:
    """ANALYZE the seeded database, as autovacuum would have on a server that runs it."""
    engine = create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


@contextmanager
def gunicorn(app_path: str, port: int) -> Iterator[str]:
    config = ROOT / "gunicorn.conf.py"
    command = [sys.executable, "-m", "gunicorn"]
    if config.exists():
        command += ["-c", str(config)]
    command += [
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "/dev/null",
        app_path,
    ]
    # gunicorn's own log to a file, read at the end (a pipe nobody reads would block the
    # workers once its buffer filled).
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if process.poll() is not None:
                        log.seek(0)
                        raise RuntimeError(f"gunicorn exited: {log.read()}") from None
                    time.sleep(0.1)
            time.sleep(0.5)  # let every worker boot
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.seek(0)
            lines = log.read().splitlines()
            restarts = sum("Autorestarting worker" in line for line in lines)
            problems = [line for line in lines if "[ERROR]" in line or "[CRITICAL]" in line]
            print(f"   {app_path}: {restarts} workers replaced (max_requests) during the run")
            for line in problems[:10]:
                print(f"   {app_path}: {line}")


def sign_in(port: int, email: str, password: str) -> str:
    """The Cookie header of a signed-in therapist (set by hand: production cookies are Secure)."""
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookies = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    match = CSRF.search(page)
    assert match, "no CSRF token on /login"
    body = urllib.parse.urlencode(
        {"csrf_token": match.group(1), "email": email, "password": password}
    )
    connection.request(
        "POST",
        "/login",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        },
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 302, f"sign-in answered {response.status}"
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    # Then the page it redirects to, as a browser would, keeping the cookie it sets: the
    # first page after sign-in adds the session's CSRF secret. (Without it every request
    # made a new secret, signed and sent a new cookie, and no page part was ever kept.)
    connection.request(
        "GET", "/", headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 200, f"the dashboard answered {response.status}"
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def first_ids(port: int, cookie: str) -> dict[str, str]:
    """A couple, a session and a progress page to measure, found the way a user would."""
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/couples", headers={"Cookie": cookie})
    page = connection.getresponse().read().decode()
    couple = re.search(r'href="/couples/(\d+)"', page)
    assert couple, "no couple on the caseload"
    connection.request("GET", f"/couples/{couple.group(1)}", headers={"Cookie": cookie})
    page = connection.getresponse().read().decode()
    session = re.search(r'href="/sessions/(\d+)"', page)
    assert session, "no session on the couple's page"
    return {"couple": couple.group(1), "session": session.group(1)}


def wrk(
    label: str, url: str, connections: int, cookie: str | None, seconds: int = SECONDS
) -> Result:
    command = [
        "wrk",
        "--threads",
        "2",
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if cookie:
        command += ["--header", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    def percentile(name: str) -> float:
        found = re.search(rf"\s{name}%\s+([\d.]+)(us|ms|s)", output)
        assert found, output
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(found.group(1))
    socket_errors = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
    if found := re.search(socket_errors, output):
        errors += sum(int(n) for n in found.groups())
    return Result(label, connections, rps, percentile("50"), percentile("99"), errors)


@dataclass
class Pair:
    """One run of a page and the hello-world run just before it."""

    page: Result
    hello: Result

    @property
    def share(self) -> float:
        return self.page.rps / self.hello.rps * 100


def main() -> None:
    if shutil.which("wrk") is None:
        print("   wrk is not installed (`make bench` installs it); skipped")
        return
    fresh_database()
    flask("db", "upgrade")
    flask("seed-library")
    demo = flask("seed-demo", "--couples", "12", "--sessions", "6")
    gather_statistics()
    login = dict(line.split(": ", 1) for line in demo.splitlines() if ": " in line)
    port, hello_port = free_port(), free_port()
    pairs: dict[tuple[str, int], list[Pair]] = {}
    with gunicorn("bench.hello:app", hello_port) as hello, gunicorn("app:app", port) as base:
        # Each worker starts its PDF render process when it boots (about a second of CPU
        # each); let that finish before anything is measured.
        time.sleep(BOOT_SECONDS)
        cookie = sign_in(port, login["email"], login["password"])
        ids = first_ids(port, cookie)
        pages = [
            ("caseload /couples", "/couples"),
            ("dashboard /", "/"),
            ("couple /couples/<id>", f"/couples/{ids['couple']}"),
            ("plan builder /sessions/<id>", f"/sessions/{ids['session']}"),
            ("progress /couples/<id>/progress", f"/couples/{ids['couple']}/progress"),
        ]
        wrk("warm-up", f"{hello}/", CONNECTIONS[-1], None, seconds=WARM_UP_SECONDS)
        for _, path in pages:
            # Steady state, as a running practice sees it: every worker booted, its render
            # process started, its templates compiled and its statements cached.
            wrk("warm-up", base + path, CONNECTIONS[-1], cookie, seconds=WARM_UP_SECONDS)
        for _ in range(ROUNDS):
            for label, path in pages:
                for connections in CONNECTIONS:
                    before = wrk("hello-world", f"{hello}/", connections, None)
                    measured = wrk(label, base + path, connections, cookie)
                    pairs.setdefault((label, connections), []).append(Pair(measured, before))
    report(pairs)


def report(pairs: dict[tuple[str, int], list[Pair]]) -> None:
    print(
        f"   gunicorn, {WORKERS} workers, production mode, PostgreSQL and Redis; "
        f"wrk {SECONDS} s a run, {ROUNDS} rounds, medians (share: lowest-highest)"
    )
    print(
        f"   {'page':34} {'conn':>4} {'req/s':>8} {'hello':>6} {'of hello':>15} "
        f"{'p50 ms':>7} {'p99 ms':>7} err"
    )
    for (label, connections), runs in pairs.items():
        shares = sorted(run.share for run in runs)
        print(
            f"   {label:34} {connections:>4} {median(r.page.rps for r in runs):>8.0f} "
            f"{median(r.hello.rps for r in runs):>6.0f} "
            f"{median(shares):>5.1f}% ({shares[0]:.1f}-{shares[-1]:.1f}) "
            f"{median(r.page.p50_ms for r in runs):>7.1f} "
            f"{median(r.page.p99_ms for r in runs):>7.1f} {sum(r.page.errors for r in runs)}"
        )
    caseload = next(runs for (label, c), runs in pairs.items() if "caseload" in label and c == 8)
    share = median(run.share for run in caseload)
    print(
        f"   goal: caseload ≥ 10 % of hello-world at 8 connections: {share:.1f} % "
        f"({'met' if share >= 10 else 'MISSED'})"
    )
    slow = [
        label
        for (label, connections), runs in pairs.items()
        if connections == 8 and median(r.page.p99_ms for r in runs) >= 100
    ]
    verdict = "met" if not slow else "MISSED: " + ", ".join(slow)
    print(f"   goal: every page p99 < 100 ms at 8 connections (median of rounds): {verdict}")
    errors = sum(r.page.errors + r.hello.errors for runs in pairs.values() for r in runs)
    print(f"   errors: {errors}")


if __name__ == "__main__":
    main()
