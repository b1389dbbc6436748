"""A records request: the ZIP of a demo couple with 12 sessions (their agendas, handouts
and progress report rendered cold, then again with the PDF cache warm), and deleting a
couple for good."""

from __future__ import annotations

import io
import time

from sqlalchemy import select

from bench.harness import bench_app
from therapy import demo, pdf
from therapy.extensions import db
from therapy.library.seed import seed_library
from therapy.models import Couple, User, utcnow
from therapy.records import export
from therapy.records.delete import delete_couple

SESSIONS = 12
# A request that renders everything cold must stay well inside gunicorn's 120 s timeout.
COLD_GOAL_S = 30.0


def main() -> None:
    with bench_app() as app, app.app_context():
        seed_library()
        demo.seed(couples=2, sessions=SESSIONS)
        couple = db.session.scalars(select(Couple).order_by(Couple.id)).first()
        assert couple is not None
        owner = db.session.get(User, couple.owner_id)
        assert owner is not None
        pdf.clear_cache()
        for label in ("cold", "warm cache"):
            started = time.perf_counter()
            target = io.BytesIO()
            record = export.write_zip(couple, target, therapist=owner)
            seconds = time.perf_counter() - started
            rows = sum(len(found) for found in record.tables.values())
            goal = f"  goal < {COLD_GOAL_S:g} s: {'met' if seconds < COLD_GOAL_S else 'MISSED'}"
            print(
                f"   export, {SESSIONS} sessions, {rows} rows, {len(target.getvalue()) // 1024} KB"
                f" ({label}): {seconds:.2f} s{goal if label == 'cold' else ''}"
            )
        couple.archived_at = utcnow()
        db.session.commit()
        started = time.perf_counter()
        counts = delete_couple(couple, typed=couple.label, actor=owner)
        print(
            f"   delete for good, {sum(counts.values())} rows: "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
