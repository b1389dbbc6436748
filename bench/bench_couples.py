"""The caseload with 500 couples (four sessions each): server time and query counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bench.harness import bench_app, counting_queries, report, timings
from therapy import demo
from therapy.auth import services
from therapy.extensions import db
from therapy.models import AuditEvent, Couple, TherapySession

PASSWORD = "benchmark pass phrase for tandem"
COUPLES = 500
GOAL_MS = 20.0
# A busy therapist's trail after a year or two: each opening of a couple's page is a row.
VIEWS = 30_000


def populate(owner_id: int) -> None:
    """The demo caseload up to 500 couples, then past, next and cancelled sessions each."""
    user = services.find_user("bench@example.com")
    assert user is not None and user.id == owner_id
    demo.seed_couples(user, COUPLES)
    now = datetime.now(UTC)
    ids = db.session.scalars(select(Couple.id).where(Couple.owner_id == owner_id)).all()
    plan = [(-28, "held"), (-14, "held"), (3, "cancelled"), (10, "planned")]
    db.session.execute(
        insert(TherapySession),
        [
            {
                "couple_id": couple_id,
                "number": number,
                "starts_at": now + timedelta(days=days + index % 7, hours=index % 9),
                "minutes": 50,
                "status": status,
            }
            for index, couple_id in enumerate(ids)
            for number, (days, status) in enumerate(plan, start=1)
        ],
    )
    db.session.commit()
    assert len(ids) == COUPLES


def main() -> None:
    with bench_app() as app:
        with app.app_context():
            user = services.create_user("bench@example.com", "Bench", PASSWORD)
            user_id = user.id
            populate(user_id)
            first_couple = db.session.scalar(select(Couple.id).order_by(Couple.id))
        client = app.test_client()
        response = client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
        assert response.status_code == 302

        pages = [
            ("/couples", GOAL_MS),
            ("/couples?sort=last", GOAL_MS),
            ("/couples?sort=next", GOAL_MS),
            ("/couples?q=ana", GOAL_MS),
            ("/couples?status=paused&page=2", GOAL_MS),
            (f"/couples/{first_couple}", None),
            ("/", None),
        ]
        for url, goal in pages:
            with counting_queries(app) as statements:
                assert client.get(url).status_code == 200
            samples = timings(lambda url=url: client.get(url), repeat=100)
            report(f"{url} ({len(statements)} queries)", samples, goal_ms=goal)

        # The dashboard's "Recently viewed" reads the audit trail, which only grows.
        with app.app_context():
            add_views(user_id, ids=db.session.scalars(select(Couple.id)).all())
        samples = timings(lambda: client.get("/"), repeat=100)
        report(f"/ with {VIEWS:,} couple views in the audit trail", samples, goal_ms=GOAL_MS)


def add_views(actor_id: int, ids: Sequence[int]) -> None:
    now = datetime.now(UTC)
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "at": now - timedelta(minutes=index),
                "actor_id": actor_id,
                "action": "couple.view",
                "record_type": "couple",
                "record_id": ids[index % len(ids)],
            }
            for index in range(VIEWS)
        ],
    )
    db.session.commit()
