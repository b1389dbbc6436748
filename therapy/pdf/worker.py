"""The render process: WeasyPrint runs in a child process that can be stopped.

Why a process. WeasyPrint cannot be interrupted once layout starts: a thread cannot be
killed; SIGALRM only reaches the main thread (gunicorn's gthread workers and the Flask
development server render in other threads), and an exception raised from a signal
handler in the middle of layout would leave the shared font configuration in an unknown
state. Input-size limits bound the time in practice but not in the worst case: an
unbroken 20,000-character word took 10 s to break into lines (quadratic). So every
render goes to one long-lived child process per web process, over a socket; the web
process waits at most `timeout` seconds, then kills the child, raises PdfTimeout, and
the next render starts a fresh child. Measured cost: ~0.3 ms per render for the socket
round trip; the child starts once in about a second, and is recycled after
RECYCLE_AFTER jobs so its memory stays flat.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from therapy.pdf.errors import PdfError, PdfTimeout, PdfTooLarge
from therapy.pdf.job import RenderJob

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 60.0  # importing WeasyPrint and loading fonts, on a slow laptop
RECYCLE_AFTER = 1000  # jobs; like gunicorn's max_requests, against slow memory growth
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class RenderProcess:
    """One render child for this web process; jobs take turns on it."""

    def __init__(self, static_folder: str | Path, static_url_path: str) -> None:
        self.static_folder = str(static_folder)
        self.static_url_path = static_url_path
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._owner_pid = 0
        self._jobs = 0

    @property
    def pid(self) -> int | None:
        """The child's process id, while it runs."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def render(self, job: RenderJob, timeout: float) -> bytes:
        """Send `job` to the child and wait at most `timeout` seconds for the PDF."""
        # Waiting for another thread's render counts against this request's time too.
        if not self._lock.acquire(timeout=timeout):
            raise PdfTimeout(timeout)
        try:
            conn = self._ensure_started()
            try:
                conn.send(job)
                finished = conn.poll(timeout)
            except (OSError, EOFError) as error:
                self._stop(kill=True)
                raise PdfError("the PDF renderer stopped unexpectedly") from error
            if not finished:
                self._stop(kill=True)
                raise PdfTimeout(timeout)
            try:
                status, payload = conn.recv()
            except (OSError, EOFError) as error:
                self._stop(kill=True)
                raise PdfError("the PDF renderer stopped unexpectedly") from error
            self._jobs += 1
            if self._jobs >= RECYCLE_AFTER:
                self._stop()
        finally:
            self._lock.release()
        if status == "ok" and isinstance(payload, bytes):
            return payload
        if status == "too_large":
            raise PdfTooLarge(job.max_pages, payload)
        raise PdfError(str(payload))

    def stop(self) -> None:
        """End the child (it is started again on the next render)."""
        with self._lock:
            self._stop()

    def _ensure_started(self) -> Connection:
        if self._owner_pid != os.getpid():
            # Inherited through fork (e.g. gunicorn --preload): that child is not ours.
            self._process = self._conn = None
        if self._process is not None and self._conn is not None and self._process.poll() is None:
            return self._conn
        self._stop(kill=True)
        # A fresh interpreter (not fork: a forked copy of a threaded web process can
        # deadlock; not multiprocessing's spawn: it re-runs the parent's main script).
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), *sys.path])}
        try:
            process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
                [
                    sys.executable,
                    "-m",
                    "therapy.pdf.child",
                    str(theirs.fileno()),
                    self.static_folder,
                    self.static_url_path,
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        finally:
            theirs.close()
        conn = Connection(ours.detach())
        try:
            if not conn.poll(STARTUP_TIMEOUT):
                raise PdfError("the PDF renderer did not start in time")
            conn.recv()  # ("ready", pid)
        except (OSError, EOFError, PdfError) as error:
            process.kill()
            process.wait()
            conn.close()
            raise PdfError("the PDF renderer could not start") from error
        self._process, self._conn, self._owner_pid, self._jobs = process, conn, os.getpid(), 0
        return conn

    def _stop(self, kill: bool = False) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()  # a healthy child sees end-of-file and exits by itself
        if process is not None:
            if kill:
                process.kill()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_processes: dict[tuple[str, str], RenderProcess] = {}
_processes_lock = threading.Lock()


def render_process(static_folder: str | Path, static_url_path: str) -> RenderProcess:
    """The render child for this static folder, shared by every app in this process."""
    key = (str(static_folder), static_url_path)
    with _processes_lock:
        if key not in _processes:
            _processes[key] = RenderProcess(static_folder, static_url_path)
        return _processes[key]


@atexit.register
def stop_all() -> None:
    """End every render child of this process (at exit, and in tests)."""
    with _processes_lock:
        processes = list(_processes.values())
    for process in processes:
        process.stop()
