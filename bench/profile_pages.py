"""Profile the benchmarked pages in-process: queries and time per request, and a cProfile.

    .venv/bin/python -m bench.profile_pages [--profile PAGE] [--repeat N]

Production settings on PostgreSQL (BENCH_DATABASE_URL, default a `tandem_profile` database
on 127.0.0.1:5432, created afresh) with the demo caseload, the pages bench_server measures,
requested through Flask's test client with a signed-in therapist's cookie.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import time
from collections import Counter

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text

from bench.harness import counting_queries
from therapy import create_app

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/tandem_profile"
)
SECRET = "benchmark-secret-key-benchmark-secret-key-0123456789"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def fresh_database() -> None:
    url = make_url(DATABASE_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def seeded_app() -> tuple[Flask, str, str]:
    from flask_migrate import upgrade

    from therapy import demo
    from therapy.library.seed import seed_library

    fresh_database()
    app = create_app(
        {
            "TANDEM_ENV": "production",
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "TRUSTED_HOSTS": ["localhost"],
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
        }
    )
    with app.app_context():
        upgrade()
        seed_library()
        result = demo.seed(couples=12, sessions=6)
    return app, result.email, result.password


def signed_in(app: Flask, email: str, password: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302, response.status_code
    return client


def pages(client: FlaskClient) -> list[tuple[str, str]]:
    page = client.get("/couples", base_url="https://localhost").get_data(as_text=True)
    couple = re.search(r'href="/couples/(\d+)"', page).group(1)  # type: ignore[union-attr]
    page = client.get(f"/couples/{couple}", base_url="https://localhost").get_data(as_text=True)
    session = re.search(r'href="/sessions/(\d+)"', page).group(1)  # type: ignore[union-attr]
    return [
        ("status", "/session"),
        ("caseload", "/couples"),
        ("dashboard", "/"),
        ("couple", f"/couples/{couple}"),
        ("plan builder", f"/sessions/{session}"),
        ("progress", f"/couples/{couple}/progress"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", help="a page label to profile with cProfile")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--queries", action="store_true", help="print each page's queries")
    args = parser.parse_args()
    app, email, password = seeded_app()
    client = signed_in(app, email, password)
    for label, path in pages(client):
        get = lambda path=path: client.get(path, base_url="https://localhost")  # noqa: E731
        assert get().status_code == 200
        with counting_queries(app) as statements:
            get()
        for _ in range(3):
            get()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.repeat):
            get()
        ms = (time.perf_counter() - started) * 1000 / args.repeat
        cpu_ms = (time.process_time() - cpu) * 1000 / args.repeat
        print(
            f"{label:14} {path:28} {len(statements):3} queries "
            f"{ms:6.1f} ms ({cpu_ms:5.1f} ms CPU in this process)"
        )
        if args.queries:
            for statement, count in Counter(" ".join(s.split())[:150] for s in statements).items():
                print(f"    {count:3}x {statement}")
        if args.profile == label:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for _ in range(args.repeat):
                get()
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(r"therapy/|templates/", 40)
            stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
