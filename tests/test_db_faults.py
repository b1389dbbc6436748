"""The database goes away and comes back, for real: a throwaway PostgreSQL cluster.

While it is stopped a save gets a 503 with Retry-After and the typed text shown again;
after a restart the next request works (the pool tests connections before use).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from tests.conftest import TEST_PASSWORD, Client, build_app
from tests.test_sessions import PageForm
from therapy.extensions import db


def _bin(name: str) -> str | None:
    found = shutil.which(name, path="/usr/local/bin") or shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A PostgreSQL cluster of this test's own, on a free loopback port."""

    data: Path
    port: int
    user: str | None  # initdb refuses to run as root; then the cluster runs as `nobody`

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(  # noqa: S603  (fixed binaries, arguments from this file)
            [_bin("pg_ctl") or "pg_ctl", *args],
            check=True,
            capture_output=True,
            user=self.user,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("-D", str(self.data), "-o", options, "-l", str(self.data / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("initdb and pg_ctl are not installed (apt install postgresql)")
    user = "nobody" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="tandem-pg-"))
    if user:
        shutil.chown(folder, user)
    data = folder / "data"
    subprocess.run(  # noqa: S603
        [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        user=user,
        timeout=120,
    )
    cluster = Cluster(data, _free_port(), user)
    cluster.start()
    try:
        yield cluster
    finally:
        subprocess.run(  # noqa: S603
            [pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            user=user,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app_on_cluster(cluster: Cluster, tmp_path: Path) -> Iterator[Flask]:
    app = build_app(cluster.url, tmp_path / "instance")
    app.test_client_class = Client
    yield app
    with app.app_context():
        db.engine.dispose()


def test_database_down_gives_503_with_the_typed_text_and_a_restart_costs_no_request(
    cluster, app_on_cluster
):
    from therapy.auth.services import create_user
    from therapy.couples import services as couples
    from therapy.models import TherapySession, User
    from therapy.sessions.services import create_session

    app = app_on_cluster
    with app.app_context():
        upgrade()
        user = create_user("down@example.com", "Dr. Down", TEST_PASSWORD)
        couple = couples.create_couple(
            db.session.get(User, user.id),
            couples.CoupleData(
                partner_a=couples.PartnerData("Ada"), partner_b=couples.PartnerData("Bo")
            ),
        )
        session_id = create_session(couple, starts_at=None).id
    client = app.test_client()
    assert (
        client.post(
            "/login", data={"email": "down@example.com", "password": TEST_PASSWORD}
        ).status_code
        == 302
    )
    notes = f"/sessions/{session_id}/notes"
    assert client.get(notes).status_code == 200

    # A restart between two requests: the pooled connection is dead, the next request
    # must not pay for it.
    cluster.stop()
    cluster.start()
    page = client.get(notes)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]

    form = PageForm(page.get_data(as_text=True), None)
    typed = "Talked about Sunday evenings.\nFollow up on the walk <b>&</b> the jar."
    cluster.stop()
    response = client.post(
        notes, data=form.fields(notes_happened=typed, notes_follow_up="Ask Bo", action="save")
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert (
        "Talked about Sunday evenings.\nFollow up on the walk &lt;b&gt;&amp;&lt;/b&gt; the jar."
        in body
    )
    assert "Ask Bo" in body
    assert form.fields()["csrf_token"] not in body
    assert "csrf" not in body.lower()

    cluster.start()
    again = client.post(
        notes, data=form.fields(notes_happened=typed, notes_follow_up="Ask Bo", action="save")
    )
    assert again.status_code == 302
    with app.app_context():
        saved = db.session.get(TherapySession, session_id)
        assert (saved.notes_happened, saved.notes_follow_up) == (typed, "Ask Bo")


def test_a_pooled_connection_lost_while_idle_costs_no_request(app, database_url, logged_in):
    # The server ends a connection while it waits in the pool (an idle timeout, a
    # pg_terminate_backend, a restart): the next request is served on a new one.
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to lose the connection")
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from therapy.database import PING_AFTER_IDLE_S

    assert logged_in.get("/couples").status_code == 200
    with app.app_context():
        pids = {pid for (pid,) in db.session.execute(text("SELECT pg_backend_pid()"))}
        db.session.remove()
    admin = create_engine(database_url, poolclass=NullPool)
    with admin.connect() as connection:
        ended = connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
            {"pids": list(pids)},
        ).all()
    admin.dispose()
    assert ended == [(True,)]
    time.sleep(PING_AFTER_IDLE_S * 2)

    page = logged_in.get("/couples")
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    assert "<title>Couples" in page.get_data(as_text=True)
