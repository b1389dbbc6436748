"""Handout PDFs: render time, size, cache hits, a batch of 30, memory over 500 renders,
and the therapist's agenda.

Run with `python -m bench handouts`. Renders go through the real path (Jinja →
render_pdf → the render process) unless a line says "in-process". Wall-clock times on
a shared machine are noisy; the in-process CPU times (time.process_time) are not
disturbed by other processes waiting for the CPU, so compare those between changes.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from bench.harness import BENCH_SECRET, bench_app, report, timings
from therapy import create_app, pdf
from therapy.handouts import services
from therapy.handouts.samples import reference_handout

GOAL_RENDER_MS = 60
GOAL_SIZE_BYTES = 60_000
GOAL_CACHED_MS = 10
GOAL_BATCH_S = 2.0
GOAL_RSS_GROWTH_MB = 60
RSS_RENDERS = 500
BATCH = 30


@contextmanager
def pdf_app(**overrides: Any) -> Iterator[Flask]:
    """An app for PDFs only (no database is touched)."""
    with tempfile.TemporaryDirectory() as folder:
        config = {"SECRET_KEY": BENCH_SECRET, "SQLALCHEMY_DATABASE_URI": "sqlite://", **overrides}
        app = create_app(config, instance_path=folder)
        with app.app_context():
            pdf.clear_cache()
            yield app


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process, from /proc (no psutil)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    handout = reference_handout()
    with pdf_app(PDF_CACHE="none") as app:
        first = time.perf_counter()
        document = services.handout_pdf(handout)
        print(f"   first render (starts the render process): {time.perf_counter() - first:.2f} s")
        counter = iter(range(1_000_000))

        def fresh() -> bytes:
            # A different name each time, as a cache would otherwise hide the work.
            return services.handout_pdf(
                replace(handout, therapist_name=f"Dr. Maya Ortiz {next(counter)}")
            )

        samples = timings(fresh, repeat=40, warmup=5)
        median = statistics.median(samples)
        print(
            f"   reference handout (2 exercises, 1 tracked daily, {len(document):,} bytes, A4): "
            f"median {median:.1f} ms, p95 {percentile(samples, 0.95):.1f} ms, n={len(samples)}"
            f"  goal <= {GOAL_RENDER_MS} ms: {verdict(median <= GOAL_RENDER_MS)}"
        )
        print(
            f"   size: {len(document):,} bytes  goal <= {GOAL_SIZE_BYTES:,}: "
            f"{verdict(len(document) <= GOAL_SIZE_BYTES)}"
        )
        letter = services.handout_pdf(replace(handout, paper="Letter"))
        print(f"   US Letter: {len(letter):,} bytes")
        in_process_breakdown(app, handout)
        before_and_after(app, handout)
        memory(app, fresh)
    batch(handout)
    cache_hits(handout)
    agenda()


def cpu_times(run: Callable[[], object], repeat: int = 20, warmup: int = 3) -> list[float]:
    """CPU milliseconds of this process per call (time.process_time), after a warm-up."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        samples.append((time.process_time() - started) * 1000)
    return samples


def in_process_breakdown(app: Flask, handout: Any) -> None:
    """Where the time goes, measured in the web process on the same Engine the child uses."""
    from therapy.pdf.engine import WRITE_OPTIONS, Engine
    from therapy.pdf.job import RenderJob

    assert app.static_folder
    engine = Engine(app.static_folder, app.static_url_path)
    engine.warm_up()
    html = services.handout_html(handout)
    job = RenderJob((html,), (services.STYLESHEET,), "A4", 40)
    stylesheets = (services.STYLESHEET,)
    layout = timings(lambda: engine.layout(html, stylesheets, "A4"), repeat=30)
    laid_out = engine.layout(html, stylesheets, "A4")
    write = timings(lambda: laid_out.write_pdf(**WRITE_OPTIONS), repeat=30)
    whole = timings(lambda: engine.render(job), repeat=30)
    jinja = timings(lambda: services.handout_html(handout), repeat=100)
    cpu = cpu_times(lambda: engine.render(job), repeat=30)
    print(
        f"   reference handout, CPU time in-process (Engine.render): median "
        f"{statistics.median(cpu):.1f} ms, p95 {percentile(cpu, 0.95):.1f} ms, "
        f"min {min(cpu):.1f} ms, n={len(cpu)}"
    )
    print("   where the time goes (in-process, wall-clock medians):")
    print(f"     Jinja template        {statistics.median(jinja):6.1f} ms")
    print(f"     layout (parse, CSS, boxes, pages) {statistics.median(layout):6.1f} ms")
    print(f"     write_pdf (draw, fonts, zlib)     {statistics.median(write):6.1f} ms")
    print(f"     whole render in-process           {statistics.median(whole):6.1f} ms")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(10):
        engine.render(job)
    profile.disable()
    groups: dict[str, float] = {}
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, own_time, _, _) in stats.items():
        groups[area(filename)] = groups.get(area(filename), 0) + own_time
    total = sum(groups.values())
    print("     cProfile, own time by area (10 renders):")
    for name, spent in sorted(groups.items(), key=lambda item: -item[1])[:8]:
        print(f"       {name:38s} {100 * spent / total:5.1f} %")


def area(filename: str) -> str:
    path = filename.replace(os.sep, "/")
    for marker, label in [
        ("weasyprint/layout/", "layout (boxes, lines, pages)"),
        ("weasyprint/text/", "text (Pango line breaking)"),
        ("weasyprint/css/", "CSS cascade and computed styles"),
        ("weasyprint/draw/", "drawing pages"),
        ("weasyprint/pdf/", "PDF objects and font subsetting"),
        ("weasyprint/formatting_structure/", "box tree"),
        ("pydyf/", "PDF serialisation (pydyf)"),
        ("tinyhtml5/", "HTML parsing"),
        ("cssselect2/", "selector matching"),
        ("weasyprint/", "other WeasyPrint"),
    ]:
        if marker in path:
            return label
    return "other (Python, cffi, zlib, …)"


def before_and_after(app: Flask, handout: Any) -> None:
    """The same handout with each optimisation switched on in turn (in-process)."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from therapy.pdf.engine import WRITE_OPTIONS, Engine, TandemHTML

    assert app.static_folder
    engine = Engine(app.static_folder, app.static_url_path)
    html = services.handout_html(handout)
    css_path = Path(app.static_folder) / services.STYLESHEET
    css_url = engine.base_url + services.STYLESHEET
    dejavu = css_path.read_text().replace('"Tandem Sans", sans-serif', '"DejaVu Sans", sans-serif')
    paper = CSS(string="@page { size: A4 }")

    def naive(css_text: str, html_class: type[HTML] = HTML) -> Callable[[], bytes]:
        def run() -> bytes:
            fonts = FontConfiguration()
            sheet = CSS(
                string=css_text, base_url=css_url, url_fetcher=engine.fetcher, font_config=fonts
            )
            document = html_class(string=html, base_url=engine.base_url, url_fetcher=engine.fetcher)
            result: bytes = document.render(
                stylesheets=[sheet, paper], font_config=fonts
            ).write_pdf(**WRITE_OPTIONS)
            return result

        return run

    def shared(css_text: str, html_class: type[HTML]) -> Callable[[], bytes]:
        fonts = FontConfiguration()
        sheet = CSS(
            string=css_text, base_url=css_url, url_fetcher=engine.fetcher, font_config=fonts
        )

        def run() -> bytes:
            document = html_class(string=html, base_url=engine.base_url, url_fetcher=engine.fetcher)
            result: bytes = document.render(
                stylesheets=[sheet, paper], font_config=fonts
            ).write_pdf(**WRITE_OPTIONS)
            return result

        return run

    tandem = css_path.read_text()
    # The floor for this much text: the same markup with nothing but the font and margins.
    fonts_only = "\n".join(
        [line for line in tandem.splitlines() if line.startswith("@font-face")]
        + [
            "@page { margin: 14mm 16mm 17mm 16mm; }",
            '.handout { font-family: "Tandem Sans"; font-size: 10pt; line-height: 1.4; }',
        ]
    )
    steps = [
        ("naive: DejaVu Sans, new fonts + CSS per render", naive(dejavu)),
        ("shared font configuration and parsed CSS", shared(dejavu, HTML)),
        ("+ Tandem Sans (pre-subset) instead of DejaVu", shared(tandem, HTML)),
        ("+ slim user-agent stylesheet (= Engine)", shared(tandem, TandemHTML)),
        ("floor: the same text, styled only with the font", shared(fonts_only, TandemHTML)),
    ]
    print("   before/after, in-process (median of 15, CPU-bound):")
    for label, run in steps:
        size = len(run())
        report(f"  {label} [{size:,} B]", timings(run, repeat=15, warmup=2))


def batch(handout: Any) -> None:
    """30 handouts in one PDF: none cached yet, then each already cached (e.g. printed)."""
    with pdf_app(PDF_CACHE="memory", REDIS_URL=None):
        processes = pdf.service().process.size
        services.handouts_pdf([replace(handout, partner_a=f"Warm {n}") for n in range(4)])
        spent: list[float] = []
        for round_ in range(3):
            pdf.clear_cache()
            couples = [replace(handout, partner_a=f"Partner {round_}-{n}") for n in range(BATCH)]
            started = time.perf_counter()
            result = services.handouts_pdf(couples)
            spent.append(time.perf_counter() - started)
        median = statistics.median(spent)
        print(
            f"   batch of {BATCH} handouts in one PDF, none cached, {processes} render "
            f"processes: median {median:.2f} s of 3 ({', '.join(f'{s:.2f}' for s in spent)}), "
            f"{len(result):,} bytes  goal < {GOAL_BATCH_S:g} s: {verdict(median < GOAL_BATCH_S)}"
        )
        pdf.clear_cache()
        for single in couples:
            services.handout_pdf(single)
        started = time.perf_counter()
        services.handouts_pdf(couples)
        joined = time.perf_counter() - started
        print(f"   the same batch, each handout already cached (joined only): {joined:.2f} s")


def memory(app: Flask, fresh: Callable[[], bytes]) -> None:
    child = pdf.service().process.pid
    before, child_before = rss_mb(), rss_mb(child) if child else 0.0
    for _ in range(RSS_RENDERS):
        fresh()
    child_after_pid = pdf.service().process.pid
    after, child_after = rss_mb(), rss_mb(child_after_pid) if child_after_pid else 0.0
    growth = (after - before) + (child_after - child_before)
    print(
        f"   RSS after {RSS_RENDERS} renders: web process {before:.0f} → {after:.0f} MB, "
        f"render process {child_before:.0f} → {child_after:.0f} MB; growth {growth:.1f} MB  "
        f"goal <= {GOAL_RSS_GROWTH_MB} MB: {verdict(growth <= GOAL_RSS_GROWTH_MB)}"
    )


def cache_hits(handout: Any) -> None:
    kinds = [("memory", {"PDF_CACHE": "memory", "REDIS_URL": None})]
    if os.environ.get("REDIS_URL"):
        kinds.append(("Redis", {"PDF_CACHE": "auto"}))
    for label, settings in kinds:
        with pdf_app(**settings):
            services.handout_pdf(handout)
            samples = timings(lambda: services.handout_pdf(handout), repeat=200)
            median = statistics.median(samples)
            print(
                f"   cached hit ({label}, template + hash + lookup): median {median:.2f} ms, "
                f"p95 {percentile(samples, 0.95):.2f} ms  "
                f"goal < {GOAL_CACHED_MS} ms: {verdict(median < GOAL_CACHED_MS)}"
            )


def agenda() -> None:
    """The therapist's agenda of a session with seven exercises, on a migrated database."""
    from sqlalchemy import select

    from therapy.auth.services import create_user
    from therapy.couples.services import CoupleData, GoalData, PartnerData, create_couple
    from therapy.extensions import db
    from therapy.handouts.agenda import agenda_for_session, agenda_pdf
    from therapy.library.seed import seed_library
    from therapy.models import Exercise
    from therapy.sessions.services import add_item, create_session

    with bench_app(PDF_CACHE="none") as app, app.app_context():
        seed_library()
        therapist = create_user("bench@example.com", "Dr. Maya Ortiz", "bench password 1234")
        couple = create_couple(
            therapist,
            CoupleData(
                PartnerData("Zoë"),
                PartnerData("Łukasz"),
                goals=(GoalData("Talk every evening without phones"),),
                safety_flag=True,
                safety_reason="Raised voices at home.",
            ),
        )
        exercises = db.session.scalars(
            select(Exercise).where(Exercise.owner_id.is_(None)).order_by(Exercise.id).limit(7)
        ).all()
        session = create_session(couple, starts_at=datetime(2026, 12, 2, 14, tzinfo=UTC))
        for position, exercise in enumerate(exercises):
            add_item(session, exercise, minutes=5 + position, homework=position % 3 == 1)
        db.session.commit()
        plan = agenda_for_session(session, therapist)
        counter = iter(range(1_000_000))

        def fresh() -> bytes:
            return agenda_pdf(replace(plan, therapist_name=f"Dr. Maya Ortiz {next(counter)}"))

        document = fresh()
        samples = timings(fresh, repeat=20, warmup=3)
        print(
            f"   agenda PDF (7 exercises, {len(document):,} bytes): median "
            f"{statistics.median(samples):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms, "
            f"n={len(samples)}"
        )
