"""Every PDF in Tandem comes from `render_pdf()`: one entry point, one owner of WeasyPrint.

Callers render an autoescaped Jinja template from plain values and hand the HTML here.
This module adds what every PDF needs: the static-only URL fetcher and base URL, the
paper size, a cap on pages and on time (the render runs in a child process that is
killed at the time cap, see worker.py), and a cache keyed by a hash of the content.
Several documents (a batch) are rendered one per job, in parallel on up to
PDF_PROCESSES children, each cached like a single document, then joined (merge.py).
WeasyPrint itself is imported only by engine.py and fetcher.py, in the render process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from therapy.pdf.cache import MemoryCache, NoCache, PdfCache, RedisCache
from therapy.pdf.errors import PdfError, PdfTimeout, PdfTooLarge
from therapy.pdf.job import PAPER_SIZES, RenderJob
from therapy.pdf.merge import merge, page_count
from therapy.pdf.worker import RenderPool, render_process

__all__ = [
    "PAPER_SIZES",
    "PdfError",
    "PdfService",
    "PdfTimeout",
    "PdfTooLarge",
    "clear_cache",
    "init_app",
    "render_pdf",
    "render_pdf_later",
    "warm_up",
]

log = logging.getLogger(__name__)

#: Settings and their defaults; instance/config.py or test overrides may change them.
DEFAULTS: dict[str, object] = {
    "PDF_MAX_PAGES": 40,  # one document (a handout, an agenda, a report)
    "PDF_BATCH_MAX_PAGES": 400,  # "this week's handouts" as one PDF
    "PDF_TIMEOUT": 10.0,  # seconds for one document
    "PDF_BATCH_TIMEOUT": 60.0,  # seconds for a batch
    "PDF_MAX_HTML_CHARS": 500_000,  # per document, refused before layout (handout: ~12,000)
    "PDF_CACHE": "auto",  # "auto" (Redis when REDIS_URL is set, else memory), "memory", "none"
    "PDF_CACHE_MAX_BYTES": 64 * 1024 * 1024,  # the in-process LRU
    "PDF_CACHE_TTL": 3600,  # seconds a PDF stays in Redis
    # Render children per web process (~100 MB each); more than one only start when
    # renders overlap, e.g. a batch, which lays out one document per child at once.
    "PDF_PROCESSES": min(os.cpu_count() or 1, 4),
    # Make a session's handout in the background when its plan is saved or it is marked
    # held, so Print is a cache hit (tests turn it off: most of them never print).
    "PDF_RENDER_AHEAD": True,
}

# Part of every cache key: bump when the engine's output changes for the same input.
ENGINE_VERSION = f"1/weasyprint-{version('weasyprint')}"
FONT_FOLDER = "fonts"


class PdfService:
    """The app's PDF settings, cache and render process."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        if not app.static_folder or app.static_url_path is None:
            raise RuntimeError("PDFs need the app's static folder for their fonts and CSS")
        self.static_folder = Path(app.static_folder)
        self.max_pages = int(config["PDF_MAX_PAGES"])
        self.batch_max_pages = int(config["PDF_BATCH_MAX_PAGES"])
        self.timeout = float(config["PDF_TIMEOUT"])
        self.batch_timeout = float(config["PDF_BATCH_TIMEOUT"])
        self.max_html_chars = int(config["PDF_MAX_HTML_CHARS"])
        self.secret = str(config["SECRET_KEY"]).encode()
        self.cache = make_cache(config)
        self.process: RenderPool = render_process(
            self.static_folder, app.static_url_path, int(config["PDF_PROCESSES"])
        )

    def render(
        self,
        documents: Sequence[str],
        *,
        paper: str,
        stylesheets: Sequence[str],
        max_pages: int,
        timeout: float,
        cache: bool = True,
    ) -> bytes:
        """The PDF for `documents`, from the cache when its content was rendered before.

        `cache=False` neither reads nor writes the cache (a PDF carrying a live token).
        """
        if paper not in PAPER_SIZES:
            raise ValueError(f"unknown paper {paper!r}; one of {sorted(PAPER_SIZES)}")
        if not documents:
            raise ValueError("nothing to render")
        size = max(len(html) for html in documents)
        if size > self.max_html_chars:
            raise PdfTooLarge(max_pages, detail=f"{size} characters of HTML in one document")
        job = RenderJob(tuple(documents), tuple(stylesheets), paper, max_pages)
        if not cache:
            return self.process.render(job, timeout)
        key = self.key(job)
        pdf = self.cache.get(key)
        if pdf is None:
            if len(documents) == 1:
                pdf = self.process.render(job, timeout)
            else:
                pdf = self._render_batch(job, timeout)
            self.cache.set(key, pdf)
        return pdf

    def _render_batch(self, job: RenderJob, timeout: float) -> bytes:
        """Each document as a PDF of its own (from the cache, or laid out in parallel), joined.

        A document's job is the one its own PDF would have, so a handout printed alone
        earlier is not laid out again. `job.max_pages` caps the pages of the whole batch.
        """
        singles = [
            RenderJob((html,), job.stylesheets, job.paper, min(self.max_pages, job.max_pages))
            for html in job.documents
        ]
        keys = [self.key(single) for single in singles]
        pdfs = [self.cache.get(key) for key in keys]
        pages = sum(page_count(pdf) for pdf in pdfs if pdf is not None)
        if pages > job.max_pages:
            raise PdfTooLarge(job.max_pages, pages)
        missing = [index for index, pdf in enumerate(pdfs) if pdf is None]

        def arrived(position: int, pdf: bytes) -> None:
            nonlocal pages
            pages += page_count(pdf)
            if pages > job.max_pages:
                raise PdfTooLarge(job.max_pages, pages)
            index = missing[position]
            pdfs[index] = pdf
            self.cache.set(keys[index], pdf)

        self.process.render_all(
            [singles[index] for index in missing], timeout, self.timeout, arrived
        )
        return merge([pdf for pdf in pdfs if pdf is not None])

    def key(self, job: RenderJob) -> str:
        """An opaque hash of everything that changes the PDF."""
        digest = hmac.new(self.secret, digestmod=hashlib.sha256)
        for part in (ENGINE_VERSION, job.paper, str(job.max_pages)):
            _feed(digest, part.encode())
        for name in job.stylesheets:
            _feed(digest, name.encode())
        _feed(digest, self._assets_fingerprint(job.stylesheets))
        for html in job.documents:
            _feed(digest, html.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _assets_fingerprint(self, stylesheets: Sequence[str]) -> bytes:
        # Editing a stylesheet or replacing a font must miss the cache; a stat each is cheap.
        paths = [self.static_folder / name for name in stylesheets]
        fonts = self.static_folder / FONT_FOLDER
        if fonts.is_dir():
            paths += sorted(path for path in fonts.rglob("*") if path.is_file())
        stamps = []
        for path in paths:
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                stamps.append(f"{path}:missing")
            else:
                stamps.append(f"{path}:{stat.st_mtime_ns}:{stat.st_size}")
        return "\n".join(stamps).encode()


def _feed(digest: hmac.HMAC, part: bytes) -> None:
    # Length-prefixed, so no two different inputs concatenate to the same bytes.
    digest.update(len(part).to_bytes(8, "big"))
    digest.update(part)


def make_cache(settings: Mapping[str, Any]) -> PdfCache:
    """The cache the settings ask for."""
    kind = settings.get("PDF_CACHE", "auto")
    max_bytes = int(settings.get("PDF_CACHE_MAX_BYTES", DEFAULTS["PDF_CACHE_MAX_BYTES"]))
    redis_url = settings.get("REDIS_URL")
    if kind == "none":
        return NoCache()
    if kind == "auto" and redis_url:
        ttl = int(settings.get("PDF_CACHE_TTL", DEFAULTS["PDF_CACHE_TTL"]))
        return RedisCache(str(redis_url), ttl=ttl, max_entry_bytes=max_bytes)
    if kind in {"auto", "memory"}:
        return MemoryCache(max_bytes)
    raise ValueError(f"PDF_CACHE must be auto, memory or none, not {kind!r}")


def init_app(app: Flask) -> None:
    """Fill in the PDF settings and attach the service to the app."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.extensions["tandem_pdf"] = PdfService(app)


def service() -> PdfService:
    """The current app's PDF service."""
    found: PdfService = current_app.extensions["tandem_pdf"]
    return found


def render_pdf(
    html: str | Sequence[str],
    *,
    paper: str = "A4",
    stylesheets: Sequence[str] = (),
    max_pages: int | None = None,
    timeout: float | None = None,
    cache: bool = True,
) -> bytes:
    """Render HTML (or several documents, printed one after another) to PDF bytes.

    Raises PdfTooLarge past the page cap, PdfTimeout past the time cap, PdfError when
    the renderer fails. `stylesheets` are paths under the static folder. `cache=False`
    for a PDF that carries a secret (a partner's live link): it is never kept, in this
    process or in Redis.
    """
    pdf_service = service()
    documents = [html] if isinstance(html, str) else list(html)
    batch = len(documents) > 1
    return pdf_service.render(
        documents,
        paper=paper,
        stylesheets=stylesheets,
        max_pages=max_pages or (pdf_service.batch_max_pages if batch else pdf_service.max_pages),
        timeout=timeout or (pdf_service.batch_timeout if batch else pdf_service.timeout),
        cache=cache,
    )


def render_pdf_later(
    html: str, *, paper: str = "A4", stylesheets: Sequence[str] = ()
) -> threading.Thread:
    """Start rendering one document in the background, so a render_pdf() of the same HTML
    a moment later is a cache hit (e.g. the handout's PDF while its preview is read).

    Errors are only logged: whoever asks for the PDF itself gets them. Returns the thread.
    """
    pdf_service = service()

    def render() -> None:
        try:
            pdf_service.render(
                [html],
                paper=paper,
                stylesheets=stylesheets,
                max_pages=pdf_service.max_pages,
                timeout=pdf_service.timeout,
            )
        except Exception:  # the foreground request renders again and reports it
            log.info("Rendering a PDF ahead failed", exc_info=True)

    thread = threading.Thread(target=render, name="tandem-pdf-ahead", daemon=True)
    thread.start()
    return thread


def warm_up(app: Flask) -> threading.Thread | None:
    """Start the app's render process in the background (gunicorn.conf.py calls it when a
    worker boots), so the first PDF after a start does not wait about a second for it.
    None for an app without Tandem's PDF service."""
    pdf_service = app.extensions.get("tandem_pdf")
    if not isinstance(pdf_service, PdfService):
        return None

    def start() -> None:
        try:
            pdf_service.process.start()
        except Exception:  # the first render starts it again and reports what failed
            log.warning("Starting the PDF render process early failed", exc_info=True)

    thread = threading.Thread(target=start, name="tandem-pdf-warm-up", daemon=True)
    thread.start()
    return thread


def clear_cache() -> None:
    """Forget every cached PDF of the current app (tests, or after changing templates)."""
    service().cache.clear()
