"""The library page and search with the built-ins plus 2,000 custom exercises."""

from __future__ import annotations

from bench.harness import add_custom_exercises, bench_app, counting_queries, report, timings
from therapy.auth import services
from therapy.extensions import db
from therapy.library.seed import seed_library
from therapy.models import Exercise

PASSWORD = "benchmark pass phrase for tandem"
CUSTOM = 2000


def main() -> None:
    with bench_app() as app:
        with app.app_context():
            seed_library()
            user = services.create_user("bench@example.com", "Bench", PASSWORD)
            add_custom_exercises(user.id, CUSTOM)
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
