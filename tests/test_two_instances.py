"""Two Tandem servers (two gunicorn processes, two ports) on one database and one Redis
behave as one: a sign-out on one ends the session on the other, failed sign-ins count
together, and a plan edited through both keeps both edits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import REDIS_URL
from tests.live_gunicorn import Gunicorn, gunicorn
from tests.test_concurrency import Browser, new_session
from tests.test_couples import couple_form
from tests.test_sessions import PageForm, calm_exercises
from therapy.extensions import db
from therapy.models import PlanItem


@pytest.fixture
def two_servers(app: Any, database_url: str, tmp_path: Path) -> Iterator[tuple[Gunicorn, Gunicorn]]:
    if not REDIS_URL:
        pytest.skip("two instances share their limits through Redis (REDIS_URL)")
    with app.app_context():
        db.session.remove()
    env = {"REDIS_URL": REDIS_URL}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        gunicorn(database_url, tmp_path / "a", env=env) as first,
        gunicorn(database_url, tmp_path / "b", env=env) as second,
    ):
        yield first, second


def port(server: Gunicorn) -> int:
    return int(server.url.rsplit(":", 1)[1])


def same_browser(browser: Browser, server: Gunicorn) -> Browser:
    """The same browser sent to the other server (as a load balancer would)."""
    other = Browser(port(server))
    other.cookies, other.csrf = dict(browser.cookies), browser.csrf
    return other


def test_signing_out_on_one_ends_the_session_on_the_other(two_servers, therapist):
    first, second = two_servers
    on_first = Browser(port(first))
    on_first.sign_in(therapist.email, therapist.password)
    on_second = same_browser(on_first, second)
    assert on_second.request("GET", "/couples").status == 200
    # A copy of the cookie kept before signing out (a stolen or a second tab's copy).
    kept = same_browser(on_first, second)
    assert on_first.request("POST", "/logout", {}).status == 302
    reply = kept.request("GET", "/couples")
    assert reply.status == 302 and reply.location.startswith("/login")


def test_failed_sign_ins_count_across_both(two_servers, therapist):
    first, second = two_servers
    statuses = []
    for attempt in range(31):
        server = first if attempt % 2 else second
        browser = Browser(port(server))
        page = browser.request("GET", "/login")
        browser.csrf = page.body.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        reply = browser.request(
            "POST", "/login", {"email": therapist.email, "password": "not the password at all"}
        )
        statuses.append(reply.status)
    # 30 failures from this address for this account, split over both servers: the next
    # one is refused, whichever server it reaches.
    assert 429 not in statuses[:30], statuses
    assert statuses[30] == 429, statuses


def test_a_plan_edited_through_both_keeps_both_edits(
    app, library, two_servers, therapist, make_couple
):
    first, second = two_servers
    couple_id = make_couple(therapist, "Noa", "Ira")
    on_first = Browser(port(first))
    on_first.sign_in(therapist.email, therapist.password)
    on_second = same_browser(on_first, second)
    session_id = new_session(on_first, couple_id)
    for exercise in calm_exercises(app, library, 2):
        reply = on_second.request(
            "POST", f"/sessions/{session_id}/items", {"exercise_id": str(exercise)}
        )
        assert reply.status == 302, reply.body
    with app.app_context():
        x, y = db.session.scalars(
            select(PlanItem.id).where(PlanItem.session_id == session_id).order_by(PlanItem.position)
        ).all()
    tab_one = PageForm(on_first.request("GET", f"/sessions/{session_id}").body, "plan-form")
    tab_two = PageForm(on_second.request("GET", f"/sessions/{session_id}").body, "plan-form")
    saved = on_first.request(
        "POST", f"/sessions/{session_id}/plan", tab_one.fields(**{f"item-{x}-note": "From one"})
    )
    assert saved.status == 302, saved.body
    stale = on_second.request(
        "POST", f"/sessions/{session_id}/plan", tab_two.fields(**{f"item-{y}-note": "From two"})
    )
    assert stale.status == 302, stale.body
    with app.app_context():
        notes = dict(
            db.session.execute(
                select(PlanItem.id, PlanItem.note).where(PlanItem.session_id == session_id)
            ).all()
        )
    assert notes == {x: "From one", y: "From two"}


def test_a_page_one_server_keeps_shows_a_change_made_through_the_other(
    two_servers, therapist, make_couple
):
    first, second = two_servers
    make_couple(therapist, "Noa", "Ira")
    on_first = Browser(port(first))
    on_first.sign_in(therapist.email, therapist.password)
    on_second = same_browser(on_first, second)
    for _ in range(3):  # the second server keeps its caseload now (therapy/pagecache.py)
        assert "Noa" in on_second.request("GET", "/couples").body
    added = on_first.request(
        "POST",
        "/couples/new",
        couple_form(**{"partner_a-first_name": "Mina", "partner_b-first_name": "Omar"}),
    )
    assert added.status == 302, added.body
    assert "Mina" in on_second.request("GET", "/couples").body
