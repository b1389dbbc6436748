"""The PDF engine: the static-only fetcher, the cache, the page and time caps."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import weasyprint
from flask import Flask

from tests.pdf_helpers import (
    attachments,
    connection_attempted,
    flat,
    make_pdf_app,
    page_size,
    reader,
    shipped_font_chars,
)
from therapy import pdf
from therapy.pdf.cache import MemoryCache, RedisCache
from therapy.pdf.engine import TandemHTML
from therapy.pdf.fetcher import STATIC_ORIGIN, FetchRefused, StaticFetcher
from therapy.pdf.job import RenderJob
from therapy.pdf.worker import RenderPool, render_process

from .conftest import REDIS_URL


def page(body: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"


# --- The fetcher -----------------------------------------------------------------------


@pytest.fixture
def fetcher(pdf_app: Flask) -> StaticFetcher:
    assert pdf_app.static_folder
    return StaticFetcher(pdf_app.static_folder, pdf_app.static_url_path)


def test_fetcher_serves_a_static_file(fetcher: StaticFetcher, pdf_app: Flask) -> None:
    response = fetcher.fetch(f"{STATIC_ORIGIN}/static/css/handout.css")
    assert response.content_type == "text/css"
    assert b"Tandem Sans" in response.read()
    font = fetcher.fetch(f"{STATIC_ORIGIN}/static/fonts/TandemSans-Regular.ttf?v=1")
    assert font.read()[:4] == b"\x00\x01\x00\x00"  # a TrueType font


@pytest.mark.parametrize(
    ("url", "body", "mime"),
    [
        ("data:text/plain;base64,SGVsbG8=", b"Hello", "text/plain"),
        ("data:,Hello%20there", b"Hello there", "text/plain"),
        ("data:image/svg+xml,%3Csvg%2F%3E", b"<svg/>", "image/svg+xml"),
    ],
)
def test_fetcher_serves_data_urls(fetcher: StaticFetcher, url: str, body: bytes, mime: str) -> None:
    response = fetcher.fetch(url)
    assert response.read() == body
    assert response.content_type == mime


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://127.0.0.1:5000/",
        "http://localhost/static/css/handout.css",
        "https://example.com/x.png",
        "https://static.tandem.invalid.example.com/static/css/handout.css",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1:6379/_INFO",
        f"{STATIC_ORIGIN}/static/../therapy/config.py",
        f"{STATIC_ORIGIN}/static/%2e%2e/therapy/config.py",
        f"{STATIC_ORIGIN}/static/..%2ftherapy/config.py",
        f"{STATIC_ORIGIN}/static//etc/passwd",
        f"{STATIC_ORIGIN}/static/css/..\\..\\therapy\\config.py",
        f"{STATIC_ORIGIN}/therapy/config.py",
        f"{STATIC_ORIGIN}/static/",
        f"{STATIC_ORIGIN}/static/css",
        f"{STATIC_ORIGIN}/static/no-such-file.css",
        "data:text/plain",
    ],
)
def test_fetcher_refuses(fetcher: StaticFetcher, url: str) -> None:
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)


def test_fetcher_never_opens_through_urllib(fetcher: StaticFetcher) -> None:
    with pytest.raises(FetchRefused):
        fetcher.open("http://127.0.0.1/")


def test_fetcher_refuses_symlinks_out_of_the_static_folder(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "passwd").symlink_to("/etc/passwd")
    (static / "ok.txt").write_text("fine")
    fetcher = StaticFetcher(static, "/static")
    assert fetcher.fetch(f"{STATIC_ORIGIN}/static/ok.txt").read() == b"fine"
    with pytest.raises(FetchRefused):
        fetcher.fetch(f"{STATIC_ORIGIN}/static/passwd")


# --- Rendering, through the one entry point -------------------------------------------


def test_render_pdf_uses_static_css_fonts_and_paper(pdf_app: Flask) -> None:
    html = page("<p class='handout'>Zoë and Łukasz</p>")
    a4 = pdf.render_pdf(html, paper="A4", stylesheets=["css/handout.css"])
    letter = pdf.render_pdf(html, paper="Letter", stylesheets=["css/handout.css"])
    assert a4.startswith(b"%PDF-")
    assert page_size(a4) == (595, 842)
    assert page_size(letter) == (612, 792)
    assert "Zoë and Łukasz" in flat(a4)
    assert set("Zoë and Łukasz") - {" "} <= shipped_font_chars(a4)


def test_unknown_paper_is_refused(pdf_app: Flask) -> None:
    with pytest.raises(ValueError, match="paper"):
        pdf.render_pdf(page("x"), paper="A3")


def test_the_template_cannot_reach_files_or_the_network(
    pdf_app: Flask, listener: socket.socket
) -> None:
    """Even markup that asks for them (user text never becomes markup) fetches nothing."""
    port = listener.getsockname()[1]
    html = page(
        f"""<style>@import url(http://127.0.0.1:{port}/a.css);</style>
        <link rel="stylesheet" href="http://127.0.0.1:{port}/b.css">
        <link rel="attachment" href="file:///etc/passwd">
        <img src="file:///etc/passwd"><img src="http://127.0.0.1:{port}/x.png">
        <img src="/static/../therapy/config.py"><p>still here</p>"""
    )
    result = pdf.render_pdf(html)
    assert "still here" in flat(result)
    assert not connection_attempted(listener)
    assert attachments(result) == []
    assert b"root:" not in result


def test_same_content_comes_from_the_cache(pdf_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    html = page("<p>cached</p>")
    first = pdf.render_pdf(html)
    service = pdf.service()

    def no_render(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("rendered again instead of using the cache")

    monkeypatch.setattr(service.process, "render", no_render)
    assert pdf.render_pdf(html) == first
    with pytest.raises(AssertionError, match="rendered again"):
        pdf.render_pdf(html, paper="Letter")


def test_the_cache_key_is_opaque_and_covers_every_input(pdf_app: Flask) -> None:
    service = pdf.service()
    job = RenderJob(("<p>Zoë</p>",), ("css/handout.css",), "A4", 40)
    key = service.key(job)
    assert len(key) == 64 and "Zo" not in key
    variants = [
        RenderJob(("<p>Zoe</p>",), ("css/handout.css",), "A4", 40),
        RenderJob(("<p>Zoë</p>",), (), "A4", 40),
        RenderJob(("<p>Zoë</p>",), ("css/handout.css",), "Letter", 40),
        RenderJob(("<p>Zoë</p>",), ("css/handout.css",), "A4", 41),
        RenderJob(("<p>Z", "oë</p>"), ("css/handout.css",), "A4", 40),
    ]
    assert len({key, *(service.key(variant) for variant in variants)}) == len(variants) + 1


def test_editing_a_stylesheet_changes_the_cache_key(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    sheet = static / "css" / "x.css"
    sheet.write_text("p { color: black }")
    app = Flask(__name__, static_folder=str(static))
    app.config.update({**pdf.DEFAULTS, "SECRET_KEY": "k" * 40, "PDF_CACHE": "memory"})
    service = pdf.PdfService(app)
    job = RenderJob(("<p>x</p>",), ("css/x.css",), "A4", 40)
    before = service.key(job)
    sheet.write_text("p { color: gray }")
    assert service.key(job) != before


def test_memory_cache_is_bounded_by_bytes() -> None:
    cache = MemoryCache(max_bytes=100)
    cache.set("a", b"a" * 40)
    cache.set("b", b"b" * 40)
    assert cache.get("a") is not None  # now the most recently used
    cache.set("c", b"c" * 40)  # over 100 bytes: the least recently used goes
    assert cache.get("b") is None
    assert cache.get("a") == b"a" * 40 and cache.get("c") == b"c" * 40
    assert cache.total_bytes == 80
    cache.set("huge", b"h" * 101)  # bigger than the whole cache: not kept
    assert cache.get("huge") is None
    cache.clear()
    assert len(cache) == 0 and cache.total_bytes == 0


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_redis_cache_expires_and_clears() -> None:
    assert REDIS_URL
    cache = RedisCache(REDIS_URL, ttl=60, max_entry_bytes=1000)
    cache.set("k1", b"%PDF-1")
    assert cache.get("k1") == b"%PDF-1"
    assert 0 < cache._client.ttl("tandem:pdf:k1") <= 60
    cache.set("big", b"x" * 1001)
    assert cache.get("big") is None
    cache.clear()
    assert cache.get("k1") is None


def test_redis_outage_means_rendering_not_an_error() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", ttl=60, max_entry_bytes=1000)
    assert cache.get("k") is None
    cache.set("k", b"%PDF")  # logged, not raised


def test_the_cache_follows_the_settings(tmp_path: Path) -> None:
    assert isinstance(pdf.make_cache({"PDF_CACHE": "memory"}), MemoryCache)
    assert isinstance(pdf.make_cache({"PDF_CACHE": "auto"}), MemoryCache)
    assert isinstance(
        pdf.make_cache({"PDF_CACHE": "auto", "REDIS_URL": "redis://127.0.0.1:6379/0"}), RedisCache
    )
    assert pdf.make_cache({"PDF_CACHE": "none"}).get("x") is None
    with pytest.raises(ValueError, match="PDF_CACHE"):
        pdf.make_cache({"PDF_CACHE": "disk"})


# --- Caps -------------------------------------------------------------------------------


def test_page_cap_refuses_before_writing(pdf_app: Flask) -> None:
    html = page("".join(f"<p style='break-after: page'>page {n}</p>" for n in range(5)))
    with pytest.raises(pdf.PdfTooLarge) as caught:
        pdf.render_pdf(html, max_pages=3)
    assert caught.value.pages == 5 and caught.value.limit == 3
    assert "too long" in caught.value.message
    assert pdf.render_pdf(html, max_pages=5).startswith(b"%PDF")


def test_oversized_html_is_refused_before_layout(tmp_path: Path) -> None:
    app = make_pdf_app(tmp_path, PDF_MAX_HTML_CHARS=1000)
    with app.app_context(), pytest.raises(pdf.PdfTooLarge):
        pdf.render_pdf(page("x" * 2000))


def test_time_cap_stops_the_render_and_the_next_one_works(pdf_app: Flask) -> None:
    # A 12,000-character word takes seconds to break into lines (quadratic in WeasyPrint).
    slow = page(f"<p style='overflow-wrap: break-word; width: 5cm'>{'x' * 12000}</p>")
    process = pdf.service().process
    pdf.render_pdf(page("<p>warm</p>"))  # the child is running
    before = process.pid
    started = time.monotonic()
    with pytest.raises(pdf.PdfTimeout) as caught:
        pdf.render_pdf(slow, timeout=0.5)
    assert time.monotonic() - started < 3
    assert "took too long" in caught.value.message
    assert process.pid is None  # killed, not left running
    assert "after" in flat(pdf.render_pdf(page("<p>after</p>")))
    assert process.pid not in (None, before)


def test_the_render_process_is_shared_and_restarts(pdf_app: Flask) -> None:
    assert pdf_app.static_folder
    process = render_process(pdf_app.static_folder, pdf_app.static_url_path)
    assert process is pdf.service().process
    process.stop()
    assert process.pid is None
    assert pdf.render_pdf(page("<p>again</p>")).startswith(b"%PDF")
    assert process.pid is not None


def test_the_slim_user_agent_stylesheet_hook_exists() -> None:
    """WeasyPrint's private hook: if an upgrade drops it, renders get slower, not wrong."""
    assert "_ua_stylesheets" in vars(weasyprint.HTML)
    assert "_ua_stylesheets" in vars(TandemHTML)


# --- Batches: one job per document, in parallel, joined ---------------------------------


def test_a_batch_reuses_each_documents_cached_pdf(
    pdf_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = page("<p>first</p>"), page("<p>second</p>")
    alone = pdf.render_pdf(first)
    pool = pdf.service().process
    rendered: list[RenderJob] = []
    real_render = pool.render

    def counting(job: RenderJob, timeout: float) -> bytes:
        rendered.append(job)
        return real_render(job, timeout)

    monkeypatch.setattr(pool, "render", counting)
    both = pdf.render_pdf([first, second])
    assert [job.documents for job in rendered] == [(second,)]  # the first came from the cache
    assert flat(both).split() == ["first", "second"]
    assert alone != both and pdf.render_pdf([first, second]) == both
    assert attachments(both) == []


def test_a_joined_batch_is_deterministic_and_keeps_its_title(pdf_app: Flask) -> None:
    documents = [page("<p>one</p>").replace("<head>", "<head><title>Handouts</title>"), page("x")]
    joined = pdf.render_pdf(documents)
    pdf.clear_cache()
    assert pdf.render_pdf(documents) == joined
    assert reader(joined).metadata.title == "Handouts"


def test_a_pool_lays_out_a_batch_on_several_children(pdf_app: Flask) -> None:
    assert pdf_app.static_folder
    pool = RenderPool(pdf_app.static_folder, pdf_app.static_url_path, size=2)
    try:
        jobs = [RenderJob((page(f"<p>doc {n}</p>"),), (), "A4", 40) for n in range(4)]
        results = pool.render_all(jobs, timeout=60, each_timeout=30)
        assert [flat(result) for result in results] == [f"doc {n}" for n in range(4)]
        assert all(process.pid is not None for process in pool.processes)
    finally:
        pool.stop()


def test_a_batch_has_one_time_cap_and_one_page_cap(pdf_app: Flask) -> None:
    assert pdf_app.static_folder
    pool = RenderPool(pdf_app.static_folder, pdf_app.static_url_path, size=1)
    slow = page(f"<p style='overflow-wrap: break-word; width: 5cm'>{'x' * 12000}</p>")
    try:
        started = time.monotonic()
        with pytest.raises(pdf.PdfTimeout):
            pool.render_all([RenderJob((slow,), (), "A4", 40)] * 3, timeout=0.5, each_timeout=10)
        assert time.monotonic() - started < 3
    finally:
        pool.stop()
    three = page("".join(f"<p style='break-after: page'>{n}</p>" for n in range(3)))
    with pytest.raises(pdf.PdfTooLarge) as caught:
        pdf.render_pdf([three, three], max_pages=5)
    assert caught.value.limit == 5


def test_a_lone_render_after_a_batch_reuses_the_child_used_last(pdf_app: Flask) -> None:
    assert pdf_app.static_folder
    pool = RenderPool(pdf_app.static_folder, pdf_app.static_url_path, size=2)
    try:
        jobs = [RenderJob((page(f"<p>{n}</p>"),), (), "A4", 40) for n in range(2)]
        pool.render_all(jobs, timeout=60, each_timeout=30)
        last = pool.pid
        pool.render(RenderJob((page("<p>alone</p>"),), (), "A4", 40), timeout=30)
        assert pool.pid == last is not None
    finally:
        pool.stop()
