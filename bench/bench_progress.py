"""A couple with two years of weekly check-ins from both partners and a monthly CSI-4:
the progress page's server time (charts cached and not) and the report PDF's.

The couple's ratings follow the demo's trends; a second couple's are drawn at random
each week (the worst case for the charts: most weeks are ringed as reliable changes)."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from random import Random

from flask import Flask
from sqlalchemy import insert, select

import therapy
from bench.harness import bench_app, counting_queries, report, timings
from therapy.auth import services
from therapy.checkins import questions
from therapy.checkins.services import practices
from therapy.couples import services as couples
from therapy.demo import TRENDS, weekly_rating
from therapy.extensions import db
from therapy.library.seed import seed_library
from therapy.measures.services import measures
from therapy.models import CheckIn, CheckInHomework, CheckInRating, MeasureScore
from therapy.progress import charts

PASSWORD = "benchmark pass phrase for tandem"
WEEKS = 104
PAGE_GOAL_MS = 60.0
PDF_GOAL_MS = 400.0


def populate(user_id: int, *, noisy: bool = False) -> int:
    """The couple and its two years of answers; returns the couple's id.

    By default the ratings follow the demo's model of a couple getting better (a trend
    for each partner plus week-to-week noise of about a point) and two homework
    exercises are answered each week. `noisy` instead draws every rating at random from
    2 to 9, so most weeks jump by 3 or more: every such week is a ringed reliable
    change, the worst case for the charts.
    """
    seed_library()
    user = services.find_user("bench@example.com")
    assert user is not None and user.id == user_id
    data = couples.CoupleData(
        partner_a=couples.PartnerData("Zoë"),
        partner_b=couples.PartnerData("Łukasz"),
        goals=(couples.GoalData("A weekly talk"),),
    )
    couple = couples.create_couple(user, data)
    rng = Random(7)  # noqa: S311  (benchmark data)
    rated = practices()
    offsets = {p.id: rng.uniform(-1.5, 1.5) for p in rated}
    csi = next(m for m in measures() if m.slug == "csi-4")
    trend = TRENDS[0]
    today = date.today()
    for week in range(WEEKS):
        on_date = today - timedelta(weeks=WEEKS - 1 - week)
        t = week / (WEEKS - 1)
        for role, (begin, end) in (("a", trend.a), ("b", trend.b)):
            checkin = CheckIn(
                couple_id=couple.id,
                partner_role=role,
                on_date=on_date,
                entered_by="partner",
                went_well="A walk together." if week % 3 else "",
                was_hard="Busy week." if week % 4 == 0 else "",
                was_hard_private=week % 8 == 0,
            )
            db.session.add(checkin)
            db.session.flush()
            db.session.execute(
                insert(CheckInRating),
                [
                    {
                        "checkin_id": checkin.id,
                        "practice_id": p.id,
                        "question": key,
                        "value": rng.randint(2, 9)
                        if noisy
                        else weekly_rating(rng, begin, end, t, offsets[p.id]),
                        "private": rng.random() < 0.05,
                    }
                    for p in rated
                    for key in [q.key for q in questions.asked(p.slug)] or [p.slug]
                ],
            )
            if not noisy:
                db.session.execute(
                    insert(CheckInHomework),
                    [
                        {
                            "checkin_id": checkin.id,
                            "position": position,
                            "title": title,
                            "done": rng.choices(("fully", "partly", "not"), (5, 3, 2))[0],
                            "helpful": 2,
                        }
                        for position, title in enumerate(("The daily download", "The unsaid list"))
                    ],
                )
            if week % 4 == 0:
                items = {
                    "happiness": rng.randint(2, 5),
                    "warmth": 3,
                    "rewarding": 3,
                    "satisfaction": 3,
                }
                db.session.add(
                    MeasureScore(
                        couple_id=couple.id,
                        partner_role=role,
                        measure_id=csi.id,
                        on_date=on_date,
                        item_scores=items,
                        total=csi.measure.score(items),
                    )
                )
    db.session.commit()
    assert db.session.scalar(select(CheckIn.id).order_by(CheckIn.id.desc()).limit(1))
    return couple.id


def forget_charts(app: Flask, *, shared: bool = True) -> None:
    """This process's charts forgotten, and with `shared` those in Redis too (REDIS_URL)."""
    with app.app_context():
        if shared:
            charts.clear_cache()
        else:
            with charts._lock:
                charts._cache.clear()


def main() -> None:
    # The progress page is measured as it is built, not as a worker keeps it between
    # changes (therapy/pagecache.py; bench_server measures that).
    with bench_app(PAGE_CACHE=False) as app:
        with app.app_context():
            user = services.create_user("bench@example.com", "Bench", PASSWORD)
            couple_id = populate(user.id)
            noisy_id = populate(user.id, noisy=True)
        client = app.test_client()
        response = client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
        assert response.status_code == 302
        start = (date.today() - timedelta(weeks=WEEKS)).isoformat()
        # The first export after the process started (nothing drawn, laid out or cached
        # yet): 2 years, or 6 months with BENCH_FIRST_REPORT=6m (one per process: run it
        # again for the other). BENCH_WARM_UP=1 first warms up as gunicorn does when a
        # worker boots (therapy.warm_up: render process, templates, a chart); without it,
        # as `flask run` starts.
        # BENCH_FIRST_ONLY=1 stops after this figure. The rest is measured as a gunicorn
        # worker serves it: what the process has loaded frozen out of the garbage
        # collector's passes, and its thresholds set (therapy.settle_gc).
        span = os.environ.get("BENCH_FIRST_REPORT", "2y")
        since = start if span == "2y" else (date.today() - timedelta(weeks=26)).isoformat()
        warm = os.environ.get("BENCH_WARM_UP") == "1"
        if warm:
            thread = therapy.warm_up(app)
            if thread is not None:
                thread.join()
            therapy.settle_gc()
        started = time.perf_counter()
        response = client.post(
            f"/couples/{couple_id}/report.pdf",
            data={"start": since, "end": date.today().isoformat(), "summary": "First"},
        )
        assert response.status_code == 200
        first = (time.perf_counter() - started) * 1000
        label = "2 years" if span == "2y" else "last 6 months"
        how = "render process warmed up at boot" if warm else "no warm-up"
        print(f"   report PDF, {label}, first export after start ({how}): {first:.0f} ms")
        if os.environ.get("BENCH_FIRST_ONLY") == "1":
            return
        therapy.settle_gc()
        pages = [
            (f"/couples/{couple_id}/progress", "last 6 months"),
            (f"/couples/{couple_id}/progress?start={start}", "all 2 years"),
            (f"/couples/{couple_id}/progress?start={start}&view=couple", "all, couple view"),
            (f"/couples/{noisy_id}/progress?start={start}", "all 2 years, random ratings"),
        ]
        for url, label in pages:
            forget_charts(app)
            started = time.perf_counter()
            with counting_queries(app) as statements:
                assert client.get(url).status_code == 200
            cold = (time.perf_counter() - started) * 1000
            samples = timings(lambda url=url: client.get(url), repeat=30)
            label = (
                f"progress, {label} ({len(statements)} queries; first, charts drawn: {cold:.0f} ms)"
            )
            report(label, samples, goal_ms=PAGE_GOAL_MS)

        def report_pdf(couple: int, summary: str, since: str = start) -> None:
            response = client.post(
                f"/couples/{couple}/report.pdf",
                data={"start": since, "end": date.today().isoformat(), "summary": summary},
            )
            assert response.status_code == 200, response.get_data(as_text=True)[-3000:]

        counter = iter(range(1_000_000))
        half_year = (date.today() - timedelta(weeks=26)).isoformat()
        # A new summary each time, so the PDF cache never answers: the full render is timed.
        # The charts are those the progress page drew (the usual path: look, then export).
        for couple, since, label in (
            (couple_id, start, "2 years"),
            (couple_id, half_year, "last 6 months"),
            (noisy_id, start, "2 years of random ratings (worst case)"),
        ):
            samples = timings(
                lambda couple=couple, since=since: report_pdf(
                    couple, f"Summary {next(counter)}", since
                ),
                repeat=15,
                warmup=1,
            )
            report(f"report PDF, {label}, rendered each time", samples, goal_ms=PDF_GOAL_MS)
        # Without the progress page first: the report draws its 11 charts itself.
        samples = timings(
            lambda: (forget_charts(app), report_pdf(couple_id, f"Summary {next(counter)}")),
            repeat=15,
            warmup=1,
        )
        report("report PDF, 2 years, charts not drawn yet", samples, goal_ms=PDF_GOAL_MS)
        if app.config.get("REDIS_URL"):
            # The progress page shown by another worker: its charts come from Redis.
            client.get(f"/couples/{couple_id}/progress?start={start}")
            samples = timings(
                lambda: (
                    forget_charts(app, shared=False),
                    report_pdf(couple_id, f"Summary {next(counter)}"),
                ),
                repeat=15,
                warmup=1,
            )
            report(
                "report PDF, 2 years, charts drawn by another worker (Redis)",
                samples,
                goal_ms=PDF_GOAL_MS,
            )
        samples = timings(lambda: report_pdf(couple_id, "The same summary"), repeat=20, warmup=2)
        report("report PDF, 2 years, same content again (PDF cache)", samples)
