"""The one URL fetcher every PDF render uses: the app's own static files and data: URLs.

WeasyPrint fetches stylesheets, fonts, images and attachments through this object. It
never opens a socket or reads outside the static folder: `file:`, `http(s):` (to any
host, loopback included), `ftp:` and every other scheme are refused, and there is nothing
to redirect. Documents get `STATIC_BASE_URL` as their base URL, so a relative reference
such as `/static/css/handout.css` or `../fonts/x.ttf` resolves to a URL on a reserved,
never-resolvable host (RFC 2606 `.invalid`) that only this fetcher understands.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

STATIC_ORIGIN = "https://static.tandem.invalid"
MAX_STATIC_BYTES = 8 * 1024 * 1024
MAX_DATA_URL_BYTES = 2 * 1024 * 1024


class FetchRefused(ValueError):
    """A PDF asked for a resource it is not allowed to load."""


def static_base_url(static_url_path: str) -> str:
    """The base URL of rendered documents: relative URLs resolve into the static folder."""
    return f"{STATIC_ORIGIN}{static_url_path.rstrip('/')}/"


class StaticFetcher(URLFetcher):
    """Serve `STATIC_ORIGIN/<static_url_path>/...` from the static folder, and data: URLs."""

    def __init__(self, static_folder: str | Path, static_url_path: str = "/static") -> None:
        # WeasyPrint's own urllib opener is never used: fetch() below decides everything.
        super().__init__(allowed_protocols=(), allow_redirects=False)
        self.static_folder = Path(static_folder).resolve()
        self.prefix = static_base_url(static_url_path)

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        """Return the resource at `url`, or raise FetchRefused."""
        if url[:5].lower() == "data:":
            return self._data(url)
        if url.startswith(self.prefix):
            return self._static(url)
        # Everything else: file:, http(s) to any host, ftp:, unknown schemes.
        raise FetchRefused(f"PDF resources come only from the static folder: {url[:200]!r}")

    def open(self, url: object, data: object = None, timeout: object = None) -> URLFetcherResponse:
        """Refuse urllib's entry point too: nothing reaches the network from here."""
        raise FetchRefused("PDF resources are never fetched through urllib")

    def _static(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        relative = unquote(parts.path[len(urlsplit(self.prefix).path) :])
        if not relative or "\\" in relative or "\x00" in relative:
            raise FetchRefused(f"not a static file: {url[:200]!r}")
        joined = safe_join(str(self.static_folder), relative)
        if joined is None:
            raise FetchRefused(f"path escapes the static folder: {url[:200]!r}")
        path = Path(joined).resolve()
        # A symlink inside static/ must not lead out of it either.
        if not path.is_relative_to(self.static_folder) or not path.is_file():
            raise FetchRefused(f"no such static file: {url[:200]!r}")
        if path.stat().st_size > MAX_STATIC_BYTES:
            raise FetchRefused(f"static file too large for a PDF: {url[:200]!r}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    def _data(self, url: str) -> URLFetcherResponse:
        if len(url) > MAX_DATA_URL_BYTES:
            raise FetchRefused("data: URL too large for a PDF")
        header, comma, payload = url[5:].partition(",")
        if not comma:
            raise FetchRefused("malformed data: URL")
        params = header.split(";")
        mime = params[0].strip() or "text/plain"
        try:
            if "base64" in (param.strip().lower() for param in params[1:]):
                body = base64.b64decode(unquote(payload), validate=False)
            else:
                body = unquote_to_bytes(payload)
        except (binascii.Error, ValueError) as error:
            raise FetchRefused("malformed data: URL") from error
        return URLFetcherResponse(url, body, {"Content-Type": mime})
