"""Sign-in cost: argon2id at the production settings dominates, by design."""

from __future__ import annotations

from bench.harness import bench_app, report, timings
from therapy.auth import services

PASSWORD = "benchmark pass phrase for tandem"


def main() -> None:
    with bench_app() as app:
        with app.app_context():
            services.create_user("bench@example.com", "Bench", PASSWORD)
        client = app.test_client()

        def sign_in() -> None:
            response = client.post(
                "/login", data={"email": "bench@example.com", "password": PASSWORD}
            )
            assert response.status_code == 302
            client.post("/logout")

        def wrong_email() -> None:
            client.post("/login", data={"email": "nobody@example.com", "password": PASSWORD})

        report("sign in + sign out (argon2id t=3, m=64 MiB)", timings(sign_in, repeat=20))
        report("unknown email (dummy hash)", timings(wrong_email, repeat=20))
        report("login page", timings(lambda: client.get("/login"), repeat=100))
