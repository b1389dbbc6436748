"""Tandem served by a real gunicorn, as in production: `gunicorn -c gunicorn.conf.py app:app`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG = PROJECT_ROOT / "gunicorn.conf.py"
SECRET_KEY = "gunicorn-test-key-Vq8Lm3Zr7Xw2Pb9Tn4Hs6Jd"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Gunicorn:
    url: str
    access_log: Path
    error_log: Path
    process: subprocess.Popen[bytes]


def server_environment(database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment without Tandem's own settings, plus production ones."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TANDEM_", "GUNICORN_"))
        and name not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEB_CONCURRENCY"}
    }
    return {
        **inherited,
        "TANDEM_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "TANDEM_TRUSTED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "TANDEM_WORKERS": "1",
        **extra,
    }


@contextmanager
def gunicorn(
    database_url: str,
    folder: Path,
    args: Sequence[str] = (),
    scheme: str = "http",
    env: dict[str, str] | None = None,
) -> Iterator[Gunicorn]:
    """Run gunicorn with the repository's config on a free loopback port until the block ends."""
    port = free_port()
    access_log, error_log = folder / "access.log", folder / "error.log"
    env = server_environment(
        database_url,
        TANDEM_BIND=f"127.0.0.1:{port}",
        TANDEM_ACCESS_LOG=str(access_log),
        **(env or {}),
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(CONFIG),
        "--error-logfile",
        str(error_log),
        *args,
        "app:app",
    ]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)  # noqa: S603
    try:
        _wait_until_listening(process, port, error_log)
        yield Gunicorn(f"{scheme}://127.0.0.1:{port}", access_log, error_log, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, error_log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = error_log.read_text() if error_log.exists() else ""
            raise AssertionError(f"gunicorn exited with {process.returncode}:\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not listen on port {port} in {STARTUP_SECONDS} s")
