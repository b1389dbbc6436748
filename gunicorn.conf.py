"""Gunicorn settings for Tandem: `gunicorn -c gunicorn.conf.py app:app`.

Gunicorn also reads this file by itself when started from this folder. Settings given
on the command line override the ones here. Environment:

    TANDEM_BIND        address to listen on (default 127.0.0.1:8000; commas for several)
    TANDEM_WORKERS     worker processes (default 2 per CPU core, 2 to 8)
    TANDEM_THREADS     threads per worker (default 4; 1 for sync workers)
    TANDEM_ACCESS_LOG  access log file, "-" for standard output (the default)
"""

from __future__ import annotations

import logging
import os
import re

from gunicorn import glogging

bind = [
    address.strip()
    for address in os.environ.get("TANDEM_BIND", "127.0.0.1:8000").split(",")
    if address.strip()
]

# Each worker may start PDF render processes of its own (about 100 MB each, see
# PDF_PROCESSES), so past 8 more workers cost memory, not speed.
workers = int(os.environ.get("TANDEM_WORKERS") or min(max(2 * (os.cpu_count() or 1), 2), 8))
# Threads (gunicorn's gthread worker), not one request per process: a connection that is
# open but idle, as Chromium opens ahead of time, held a single-threaded ("sync") worker
# until it timed out, since that worker reads (and with --certfile, shakes hands) on one
# connection at a time. Measured: with one sync worker serving TLS, one idle connection
# left the next request hanging past 10 s; with 4 threads it was answered in 10 ms.
# TANDEM_THREADS=1 gives sync workers, which are fine only behind a buffering proxy.
threads = int(os.environ.get("TANDEM_THREADS") or 4)

# Longer than every PDF time cap (PDF_TIMEOUT 10 s, PDF_BATCH_TIMEOUT 60 s, in
# therapy/pdf/__init__.py): the app stops a render at its cap and shows a clear message,
# so gunicorn must not kill the worker first (the person would get a bare 502 instead).
# Twice the batch cap leaves room for the batch's waiting for a free render process,
# joining the PDFs and saving the audit row. tests/test_gunicorn.py checks the order.
# (A sync worker is killed when one request runs past it; a threaded one only when its
# main loop stops answering. The PDF caps bound renders either way.)
timeout = 120
# On a restart or stop, requests under way may finish, a 60-second batch PDF included.
# (systemd waits 90 s by default before it kills: set TimeoutStopSec=120 in the unit.)
graceful_timeout = 90
# Replace each worker after about ten thousand requests (the jitter keeps them from all
# restarting at once), so slow memory growth in a long-lived process stays bounded. Not
# fewer: a worker's start costs about 2 s of CPU (1.1 s to load the app, most of a second
# for its PDF render process), which at a thousand requests was 2 ms on every request,
# more than a quarter of the caseload page's own cost.
max_requests = 10000
max_requests_jitter = 1000

accesslog = os.environ.get("TANDEM_ACCESS_LOG", "-")

# A partner's link is /c/<token>, and the token opens that partner's check-in. The app
# swaps it for a cookie at once, but the first request line still carries it: keep it
# out of every log line (a token may also come percent-encoded, or in a Referer).
PARTNER_TOKEN = re.compile(r"(?i)(?:/|%2f)c(?:/|%2f)[^/?#&\s\"]{16,}")
REDACTED = "/c/[redacted]"


class RedactPartnerTokens(logging.Filter):
    """Replace partner tokens in the finished text of a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = PARTNER_TOKEN.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_redact = RedactPartnerTokens()


class Logger(glogging.Logger):
    """Gunicorn's logger, with partner tokens redacted from the access and error logs
    (the error log names the request's path when a request fails)."""

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            log.addFilter(_redact)  # a no-op when a reload adds it again


logger_class = Logger


def post_worker_init(worker: object) -> None:
    """Start the worker's PDF render process as it boots (in the background), so the first
    PDF after a start or a max_requests restart does not wait for it (about a second), and
    compile the templates and draw a chart before the first request (therapy.warm_up);
    then set the garbage collector for a long-lived worker, with what the warm-up made
    frozen too (therapy.settle_gc)."""
    import therapy

    therapy.warm_up(worker.wsgi)  # type: ignore[attr-defined]  (None for a non-Tandem app)
    therapy.settle_gc()
