"""Shared set-up for benchmarks: a throwaway app on SQLite, timings, query counts."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event

from therapy import create_app
from therapy.extensions import db

BENCH_SECRET = "benchmark-secret-key-benchmark-secret-key"


@contextmanager
def bench_app(**overrides: Any) -> Iterator[Flask]:
    """A migrated app on a fresh SQLite file (or DATABASE_URL when given in overrides)."""
    with tempfile.TemporaryDirectory() as folder:
        config = {
            "SECRET_KEY": BENCH_SECRET,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'bench.sqlite'}",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            **overrides,
        }
        app = create_app(config, instance_path=folder)
        with app.app_context():
            upgrade()
        yield app
        with app.app_context():
            db.engine.dispose()


def timings(run: Callable[[], Any], repeat: int = 50, warmup: int = 5) -> list[float]:
    """Milliseconds per call, after a warm-up."""
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def report(label: str, samples: list[float], goal_ms: float | None = None) -> None:
    samples = sorted(samples)
    median = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    verdict = ""
    if goal_ms is not None:
        verdict = f"  goal < {goal_ms:g} ms: {'met' if median < goal_ms else 'MISSED'}"
    print(f"   {label}: median {median:.1f} ms, p95 {p95:.1f} ms, n={len(samples)}{verdict}")


@contextmanager
def counting_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def add_custom_exercises(owner_id: int, count: int) -> None:
    """A therapist's own exercises in bulk, spread over the practices (one INSERT)."""
    from sqlalchemy import insert, select

    from therapy.library.seed import search_fields
    from therapy.models import Exercise, Practice

    practice_ids = list(db.session.scalars(select(Practice.id)))
    rows = []
    for n in range(count):
        title = f"Custom exercise {n}"
        summary = "A therapist's own exercise about listening and time together."
        steps = ["Sit together.", f"Talk about topic {n}.", "Thank each other."]
        search_title, search_text = search_fields(title, summary, steps)
        rows.append(
            {
                "owner_id": owner_id,
                "practice_id": practice_ids[n % len(practice_ids)],
                "title": title,
                "summary": summary,
                "why": "Because.",
                "timing": "",
                "minutes": 10 + n % 20,
                "setting": "either",
                "who": "together",
                "format": "conversation",
                "tracking": "none",
                "involves_conflict": False,
                "involves_vulnerability": False,
                "steps": steps,
                "roles": [],
                "stop_safely": "",
                "prompts": [],
                "cautions": [],
                "search_title": search_title,
                "search_text": search_text,
                "version": 1,
            }
        )
    db.session.execute(insert(Exercise), rows)
    db.session.commit()
