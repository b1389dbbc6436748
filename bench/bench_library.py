"""The library page and search with the built-ins plus 2,000 custom exercises."""

from __future__ import annotations

from sqlalchemy import insert, select

from bench.harness import bench_app, counting_queries, report, timings
from therapy.auth import services
from therapy.extensions import db
from therapy.library.seed import search_fields, seed_library
from therapy.models import Exercise, Practice

PASSWORD = "benchmark pass phrase for tandem"
CUSTOM = 2000


def main() -> None:
    with bench_app() as app:
        with app.app_context():
            seed_library()
            user = services.create_user("bench@example.com", "Bench", PASSWORD)
            practice_ids = list(db.session.scalars(select(Practice.id)))
            rows = []
            for n in range(CUSTOM):
                title = f"Custom exercise {n}"
                summary = "A therapist's own exercise about listening and time together."
                steps = ["Sit together.", f"Talk about topic {n}.", "Thank each other."]
                search_title, search_text = search_fields(title, summary, steps)
                rows.append(
                    dict(
                        owner_id=user.id,
                        practice_id=practice_ids[n % len(practice_ids)],
                        title=title,
                        summary=summary,
                        why="Because.",
                        timing="",
                        minutes=10 + n % 20,
                        setting="either",
                        who="together",
                        format="conversation",
                        tracking="none",
                        involves_conflict=False,
                        involves_vulnerability=False,
                        steps=steps,
                        roles=[],
                        stop_safely="",
                        prompts=[],
                        cautions=[],
                        search_title=search_title,
                        search_text=search_text,
                        version=1,
                    )
                )
            db.session.execute(insert(Exercise), rows)
            db.session.commit()
            total = db.session.query(Exercise).count()
        client = app.test_client()
        client.post("/login", data={"email": "bench@example.com", "password": PASSWORD})
        print(f"   {total} exercises ({total - CUSTOM} built-in, {CUSTOM} custom)")
        pages = {
            "library page": "/exercises/",
            "search 'listen'": "/exercises/?q=listen",
            "search 'pause word' + filters": "/exercises/?q=pause+word&minutes=30&who=together",
            "one practice": "/exercises/?practice=conflict",
            "exercise page": "/exercises/1",
        }
        for label, url in pages.items():
            assert client.get(url).status_code == 200
            with counting_queries(app) as statements:
                client.get(url)
            report(
                f"{label} ({len(statements)} queries)",
                timings(lambda url=url: client.get(url), repeat=60),
                goal_ms=25,
            )
