"""WeasyPrint lives here: lay out HTML, enforce the page cap, write the PDF.

This module runs inside the render process (see worker.py); the web process never
imports WeasyPrint. One Engine serves many renders and keeps what is costly to rebuild:
the font configuration (a fresh one reloads every font for each document, about 45 ms
per handout) and the parsed stylesheets (re-read only when the file changes). When the
system's fonts change (see fonts.py), both are built again before the next render.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from weasyprint import CSS, HTML, Document
from weasyprint.html import UA_COUNTER_STYLE
from weasyprint.text.fonts import FontConfiguration

from therapy.pdf import fonts, svg_speed
from therapy.pdf.errors import PdfTooLarge
from therapy.pdf.fetcher import StaticFetcher, static_base_url
from therapy.pdf.job import PAPER_SIZES, RenderJob

# write_pdf options, measured on the reference handout (bench/bench_handouts.py):
# - font subsetting stays on (full_fonts=False): whole fonts would add ~140 KB per face;
# - hinting=False: printers and PDF viewers ignore TrueType hinting;
# - compression stays on (uncompressed_pdf=False): ~3x smaller for ~4 ms;
# - no raster images yet, so optimize_images/jpeg_quality/dpi change nothing;
# - pdf_tags off: tagging costs time and handouts are printed, not read on screen.
WRITE_OPTIONS = {
    "full_fonts": False,
    "hinting": False,
    "uncompressed_pdf": False,
    "optimize_images": False,
    "pdf_tags": False,
}

# The print stylesheets, as the handouts, agenda and reports ask for them.
WARM_UP_STYLESHEETS = (
    ("css/handout.css", "css/printed_link.css"),
    ("css/agenda.css",),
    ("css/chart-legend.css", "css/report.css"),
)
# A progress report cut to a page (four charts as the app draws them, a row of two
# practices, legends and summaries), laid out with the report's stylesheets at warm-up.
# A first report still paid ~40 ms over the next (fonts at the charts' sizes and weights,
# the SVG image and table code paths) after the tiny sample alone. A stale sample only
# costs that time again; regenerate it from a report's HTML when the charts change.
WARM_UP_REPORT = Path(__file__).with_name("warm_up_report.html")

log = logging.getLogger(__name__)

# Charts' labels drawn whole and their numbers read faster (see svg_speed.py).
svg_speed.install()

FONTS_CHECK = 5.0  # seconds between looks at the system's font folders

UA_STYLESHEET = CSS(
    string=(Path(__file__).with_name("ua.css")).read_text("utf-8"), counter_style=UA_COUNTER_STYLE
)


class TandemHTML(HTML):
    """An HTML document with Tandem's slim user-agent stylesheet (see ua.css).

    `_ua_stylesheets` is WeasyPrint's hook for the default stylesheet (pinned < 71);
    tests/test_pdf.py checks it is still there, since losing it only costs speed.
    """

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [UA_STYLESHEET]


class Engine:
    """Renders RenderJobs with one font configuration and cached stylesheets."""

    def __init__(self, static_folder: str | Path, static_url_path: str = "/static") -> None:
        self.static_folder = Path(static_folder)
        self.fetcher = StaticFetcher(static_folder, static_url_path)
        self.base_url = static_base_url(static_url_path)
        self.font_config = FontConfiguration()
        self._stylesheets: dict[str, tuple[tuple[int, int], CSS]] = {}
        self._paper: dict[str, CSS] = {}
        self._fonts_stamp = fonts.fonts_stamp()
        self._fonts_checked = time.monotonic()

    def refresh_fonts(self) -> bool:
        """Start a new font configuration if the system's fonts changed; whether it did.

        Looked at no more than every FONTS_CHECK seconds (a walk of the font folders takes
        about a millisecond): installing a font package shows up in the next PDF after it.
        """
        now = time.monotonic()
        if now - self._fonts_checked < FONTS_CHECK:
            return False
        self._fonts_checked = now
        stamp = fonts.fonts_stamp()
        if stamp == self._fonts_stamp:
            return False
        self._fonts_stamp = stamp
        self.font_config = FontConfiguration()
        self._stylesheets.clear()  # their @font-face rules belong to the old configuration
        return True

    def stylesheet(self, name: str) -> CSS:
        """The parsed static stylesheet `name`, parsed again only when the file changes."""
        stat = os.stat(self.static_folder / name)
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._stylesheets.get(name)
        if cached is None or cached[0] != stamp:
            css = CSS(
                url=self.base_url + name, url_fetcher=self.fetcher, font_config=self.font_config
            )
            self._stylesheets[name] = cached = (stamp, css)
        return cached[1]

    def paper(self, paper: str) -> CSS:
        """`@page { size: … }` for a known paper name (never text from a request)."""
        if paper not in self._paper:
            self._paper[paper] = CSS(string=f"@page {{ size: {PAPER_SIZES[paper]}; }}")
        return self._paper[paper]

    def layout(self, html: str, stylesheets: tuple[str, ...], paper: str) -> Document:
        """Lay out one HTML document into pages."""
        sheets = [self.stylesheet(name) for name in stylesheets] + [self.paper(paper)]
        document = TandemHTML(string=html, base_url=self.base_url, url_fetcher=self.fetcher)
        return document.render(
            stylesheets=sheets, font_config=self.font_config, presentational_hints=False
        )

    def render(self, job: RenderJob) -> bytes:
        """Lay out every document, refuse past the page cap, then write one PDF."""
        self.refresh_fonts()
        documents: list[Document] = []
        pages = 0
        for html in job.documents:
            document = self.layout(html, job.stylesheets, job.paper)
            pages += len(document.pages)
            if pages > job.max_pages:
                # Refuse before the (costlier) PDF writing, and before laying out the rest.
                raise PdfTooLarge(job.max_pages, pages)
            documents.append(document)
        if len(documents) == 1:
            combined = documents[0]
        else:
            # WeasyPrint's documented way to merge: each handout keeps its own page numbers.
            combined = documents[0].copy([page for doc in documents for page in doc.pages])
        pdf: bytes = combined.write_pdf(**WRITE_OPTIONS)  # bytes, since no target is given
        return pdf

    def warm_up(self) -> None:
        """Pay WeasyPrint's first-time costs before the first real job arrives: the fonts
        and Pango, every print stylesheet parsed, an SVG chart drawn and a PDF written (the
        first report after a start took about a second longer than the next without it),
        and a page of a report laid out (WARM_UP_REPORT)."""
        sample = (
            "<h1>Aa</h1><p><strong>Aa</strong> <em>Aa</em></p><table><tr><td>1</td></tr></table>"
            '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
            '<polyline points="0,30 40,10 80,20 120,5" fill="none" stroke="#333"/>'
            '<circle cx="40" cy="10" r="3"/><text x="2" y="38" font-size="8">Aa 10</text></svg>'
        )
        for sheets in WARM_UP_STYLESHEETS:
            try:
                is_report = sheets == WARM_UP_STYLESHEETS[-1]
                html = WARM_UP_REPORT.read_text("utf-8") if is_report else sample
                document = self.layout(html, sheets, "A4")
            except Exception:  # a missing stylesheet shows on the first real job instead
                log.warning("Warming up the PDF engine with %s failed", sheets, exc_info=True)
                continue
            document.write_pdf(**WRITE_OPTIONS)
