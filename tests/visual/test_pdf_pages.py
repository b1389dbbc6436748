"""Every kind of printed page, drawn by poppler and compared with its baseline image.

The handout, the handout with check-in links, the agenda, one exercise, this week's
handouts in one PDF, and the progress report for the therapist and for the couple: each
page of each, rendered from the same practice (tests/visual/world.py) with the clock
frozen. See tests/visual/compare.py for the tolerance and where failures are left.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import Client, build_app
from tests.visual import compare, world
from therapy import pdf
from therapy.extensions import db

DPI = 50


@pytest.fixture(scope="module")
def printed(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The practice and a signed-in client, clock frozen for the whole module."""
    folder = tmp_path_factory.mktemp("visual-pdf")
    target = folder / "tandem.sqlite"
    shutil.copy(sqlite_template, target)
    monkeypatch = pytest.MonkeyPatch()
    world.fixed_tokens(monkeypatch)
    with world.frozen_clock():
        app = build_app(f"sqlite:///{target}", folder / "instance")
        app.test_client_class = Client
        built = world.build(app)
        client = app.test_client()
        response = client.post("/login", data={"email": built.email, "password": built.password})
        assert response.status_code == 302
        yield app, client, built
    monkeypatch.undo()
    with app.app_context():
        db.engine.dispose()


def fetch(app: Flask, client: Client, method: str, url: str, **data: str) -> bytes:
    with app.app_context():
        pdf.clear_cache()
    # (The clock is frozen by the `printed` fixture for the whole module.)
    response = client.post(url, data=data) if method == "POST" else client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
    assert response.mimetype == "application/pdf"
    return response.data


DOCUMENTS = {
    "handout": ("GET", "/sessions/{planned}/handout.pdf", {}),
    "handout-with-links": ("POST", "/sessions/{planned}/handout-with-links.pdf", {}),
    "agenda": ("GET", "/sessions/{planned}/agenda.pdf", {}),
    "exercise": ("GET", "/exercises/{exercise}/handout.pdf", {}),
    "week": ("GET", "/handouts/week.pdf", {}),
    "report-therapist": ("POST", "/couples/{couple}/report.pdf", {"start": "2026-09-01"}),
    "report-couple": (
        "POST",
        "/couples/{couple}/report.pdf",
        {"start": "2026-09-01", "for_couple": "y"},
    ),
}


@pytest.mark.parametrize("kind", DOCUMENTS)
def test_every_printed_page_looks_as_it_did(printed, kind, tmp_path, monkeypatch):
    app, client, built = printed
    # The links printed are the 2nd and 3rd tokens (the 1st is the practice's own link),
    # in whatever order the documents are drawn.
    world.fixed_tokens(monkeypatch, start=2)
    method, url, data = DOCUMENTS[kind]
    url = url.format(planned=built.planned_id, exercise=built.exercise_id, couple=built.couple_id)
    if kind.startswith("report"):
        data = {**data, "end": world.FROZEN.date().isoformat(), "summary": "Steady weeks."}
    body = fetch(app, client, method, url, **data)
    pages = compare.pdf_pages(body, tmp_path, dpi=DPI)
    assert pages
    for number, png in enumerate(pages, start=1):
        compare.check(f"pdf-{kind}-page{number}", png)
