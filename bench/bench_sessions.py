"""The plan builder: a 12-item plan with a 2,000-exercise library behind the picker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bench.harness import add_custom_exercises, bench_app, counting_queries, report, timings
from therapy.auth import services as accounts
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.library.seed import seed_library
from therapy.models import Exercise, utcnow
from therapy.sessions import services as sessions

PASSWORD = "benchmark pass phrase for tandem"


def main() -> None:
    with bench_app() as app:
        with app.app_context():
            seed_library()
            user = accounts.create_user("bench@example.com", "Bench", PASSWORD)
            add_custom_exercises(user.id, 2000)
            couple = couples.create_couple(
                user,
                couples.CoupleData(
                    partner_a=couples.PartnerData("Zoë"), partner_b=couples.PartnerData("Łukasz")
                ),
            )
            calm = [
                e
                for e in db.session.scalars(select(Exercise).where(Exercise.owner_id.is_(None)))
                if not e.is_sensitive
            ][:12]
            previous = sessions.create_session(couple, starts_at=utcnow() - timedelta(days=7))
            for exercise in calm[:4]:
                sessions.add_item(previous, exercise)
            session = sessions.create_session(couple, starts_at=utcnow() + timedelta(days=1))
            from therapy.models import Practice

            session.focus = list(db.session.scalars(select(Practice).limit(3)))
            for exercise in calm:
                sessions.add_item(session, exercise)
            db.session.commit()
            session_id = session.id
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
        for label, url in {
            "plan builder, 12 items": f"/sessions/{session_id}",
            "plan builder with a picker search": f"/sessions/{session_id}?q=listen",
        }.items():
            assert client.get(url).status_code == 200
            with counting_queries(app) as statements:
                client.get(url)
            report(
                f"{label} ({len(statements)} queries)",
                timings(lambda url=url: client.get(url), repeat=60),
                goal_ms=30,
            )
