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

A RenderPool holds up to PDF_PROCESSES such children. A render takes the most recently
used idle child, so one request at a time keeps using one warm child; the others start
only when renders overlap: concurrent requests, or a batch laid out in parallel
(render_all), one document per child.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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

    def start(self) -> None:
        """Start the child now, if it is not running, instead of on the first render."""
        with self._lock:
            self._ensure_started()

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


class RenderPool:
    """Up to `size` render children for this web process; each render takes an idle one."""

    def __init__(self, static_folder: str | Path, static_url_path: str, size: int) -> None:
        self.processes = [RenderProcess(static_folder, static_url_path) for _ in range(size)]
        # Last in, first out: the warm child that just finished is the next one used.
        self._idle: queue.LifoQueue[RenderProcess] = queue.LifoQueue()
        for process in reversed(self.processes):
            self._idle.put(process)
        self._last = self.processes[0]
        self._returning = threading.Lock()  # _last is always the top of _idle

    @property
    def size(self) -> int:
        return len(self.processes)

    @property
    def pid(self) -> int | None:
        """The process id of the child returned last (the next lone render's), while it runs."""
        return self._last.pid

    def start(self) -> None:
        """Start the child a lone render uses next; the others still start on demand."""
        self._last.start()

    def render(self, job: RenderJob, timeout: float) -> bytes:
        """Render on an idle child; waiting for one counts against `timeout` too."""
        deadline = time.monotonic() + timeout
        try:
            process = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise PdfTimeout(timeout) from None
        try:
            return process.render(job, max(deadline - time.monotonic(), 0.001))
        finally:
            with self._returning:
                self._last = process
                self._idle.put(process)

    def render_all(
        self,
        jobs: Sequence[RenderJob],
        timeout: float,
        each_timeout: float,
        check: Callable[[int, bytes], None] = lambda index, pdf: None,
    ) -> list[bytes]:
        """Render every job, as many at once as there are children, within `timeout` in all.

        `check(index, pdf)` sees each result as it arrives and may raise (e.g. past a page
        cap) to stop the rest: jobs not started are dropped, running ones finish.
        """
        deadline = time.monotonic() + timeout

        def one(job: RenderJob) -> bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                raise PdfTimeout(timeout)
            return self.render(job, min(each_timeout, left))

        results: list[bytes | None] = [None] * len(jobs)
        with ThreadPoolExecutor(max_workers=min(self.size, len(jobs)) or 1) as executor:
            futures: dict[Future[bytes], int] = {
                executor.submit(one, job): index for index, job in enumerate(jobs)
            }
            try:
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        index = futures[future]
                        pdf = future.result()
                        results[index] = pdf
                        check(index, pdf)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return [result for result in results if result is not None]

    def stop(self) -> None:
        """End every child (each starts again on its next render)."""
        for process in self.processes:
            process.stop()


_pools: dict[tuple[str, str], RenderPool] = {}
_pools_lock = threading.Lock()


def render_process(static_folder: str | Path, static_url_path: str, size: int = 1) -> RenderPool:
    """The render children for this static folder, shared by every app in this process.

    The first caller sets the pool's size.
    """
    key = (str(static_folder), static_url_path)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = RenderPool(static_folder, static_url_path, max(1, size))
        return _pools[key]


@atexit.register
def stop_all() -> None:
    """End every render child of this process (at exit, and in tests)."""
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.stop()
