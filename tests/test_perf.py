"""What keeps pages light: the handout made ahead, fewer queries, fewer cookies."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest

import therapy
from tests.test_auth import clock  # noqa: F401  (a fixture)
from tests.test_sessions import add, new_session, plan, plan_form
from therapy import pdf
from therapy.handouts.services import AHEAD_THREAD

DAILY = "communication-daily-download"  # homework, tracked daily


@pytest.fixture
def couple(make_couple, therapist) -> int:
    return make_couple(therapist, "Zoë", "Łukasz")


@pytest.fixture
def session_id(app, logged_in, library, couple) -> int:
    with app.app_context():
        pdf.clear_cache()
    session = new_session(logged_in, couple)
    app.config["PDF_RENDER_AHEAD"] = True
    return session


def made_ahead() -> None:
    """Wait for the handouts being made in the background."""
    for thread in threading.enumerate():
        if thread.name == AHEAD_THREAD:
            thread.join(60)


def refuse_to_render(app, monkeypatch) -> None:
    """From here on, a handout that is not in the cache fails the test."""
    with app.app_context():
        pool = pdf.service().process

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("rendered again instead of using the handout made ahead")

    monkeypatch.setattr(pool, "render", refuse)


def print_handout(client, session_id: int) -> bytes:
    response = client.get(f"/sessions/{session_id}/handout.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.data


def test_saving_a_plan_makes_its_handout_so_print_is_a_cache_hit(
    app, logged_in, library, session_id, monkeypatch
):
    assert add(logged_in, session_id, library.id(DAILY)).status_code == 302
    item_id = plan(app, session_id)[0][0][0]
    data = plan_form(app, session_id)
    data[f"item-{item_id}-homework"] = "y"
    data[f"item-{item_id}-note"] = "Try it on the sofa."
    assert logged_in.post(f"/sessions/{session_id}/plan", data=data).status_code == 302
    made_ahead()
    refuse_to_render(app, monkeypatch)
    assert print_handout(logged_in, session_id).startswith(b"%PDF")


def test_marking_a_session_held_makes_its_handout(app, logged_in, library, session_id, monkeypatch):
    add(logged_in, session_id, library.id(DAILY))
    made_ahead()
    with app.app_context():
        pdf.clear_cache()
    page = logged_in.get(f"/sessions/{session_id}/notes").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    response = logged_in.post(
        f"/sessions/{session_id}/notes",
        data={"notes_happened": "Talked.", "version": version, "action": "held"},
    )
    assert response.status_code == 302
    made_ahead()
    refuse_to_render(app, monkeypatch)
    assert print_handout(logged_in, session_id).startswith(b"%PDF")


def test_a_handout_with_live_links_is_never_made_ahead_or_kept(
    app, logged_in, library, session_id, monkeypatch
):
    add(logged_in, session_id, library.id(DAILY))
    made_ahead()
    with app.app_context():
        cache = pdf.service().cache
    kept: list[bytes] = []
    monkeypatch.setattr(cache, "set", lambda key, data: kept.append(data))
    response = logged_in.post(f"/sessions/{session_id}/handout-with-links.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    made_ahead()
    assert not kept


# --- the couple's page -------------------------------------------------------------------


def test_the_couples_page_takes_a_fixed_number_of_queries(
    app, logged_in, library, couple, count_queries
):
    for _ in range(3):
        new_session(logged_in, couple)
    logged_in.get(f"/couples/{couple}")
    with count_queries() as counted:
        assert logged_in.get(f"/couples/{couple}").status_code == 200
    # The user, the couple, its partners, tags, goals and reassignments, the timeline's
    # sessions and check-ins, the audit row: no plans, ratings or homework for the timeline.
    unused = ("plan_items", "session_practices", "checkin_ratings", "checkin_homework")
    assert not [s for s in counted.statements if any(f"FROM {t}" in s for t in unused)]
    # Plus the safety screen and any unseen private safety answer (2).
    assert counted.count <= 13, "\n".join(counted.statements)


# --- the session cookie ------------------------------------------------------------------


def test_the_session_cookie_is_rewritten_at_most_once_a_minute(logged_in, clock):  # noqa: F811
    logged_in.get("/")
    clock.advance(timedelta(seconds=61))
    assert "tandem_session=" in logged_in.get("/").headers.get("Set-Cookie", "")
    clock.advance(timedelta(seconds=5))
    assert "Set-Cookie" not in logged_in.get("/couples").headers
    # Activity within the minute still counts: 29 minutes later the session is alive.
    clock.advance(timedelta(minutes=29))
    assert logged_in.get("/").status_code == 200


# --- the render process ------------------------------------------------------------------


def test_warm_up_starts_the_render_process_before_the_first_pdf(app):
    with app.app_context():
        pool = pdf.service().process
    pool.stop()  # the pool is shared by every app of this process; earlier tests used it
    assert pool.pid is None
    pdf.warm_up(app).join(60)  # type: ignore[union-attr]
    assert pool.pid is not None
    assert pdf.warm_up(app.__class__("not-tandem")) is None


def test_warm_up_compiles_every_template_and_draws_a_chart_of_each_kind(app):
    from therapy.progress import charts

    app.jinja_env.cache.clear()
    charts._matcher.cache_clear()
    therapy.warm_up(app).join(60)  # type: ignore[union-attr]
    names = set(app.jinja_env.list_templates(extensions=["html"]))
    assert len(names) > 50
    compiled = {name for (_, name), _template in app.jinja_env.cache.items()}
    assert names <= compiled
    # The line charts' stylesheet and the bars' (one each), compiled once per process.
    assert charts._matcher.cache_info().currsize == 2
    assert therapy.warm_up(app.__class__("not-tandem")) is None


def test_gunicorn_warms_up_each_worker(monkeypatch):
    import runpy

    settings = runpy.run_path("gunicorn.conf.py")
    started = []
    monkeypatch.setattr(therapy, "warm_up", started.append)
    # Not the real one here: it would collect and freeze this test process's garbage
    # (and with it report a socket some earlier test left open, as a failure of this one).
    monkeypatch.setattr(therapy, "settle_gc", lambda: started.append("settled"))

    class Worker:
        wsgi = object()

    settings["post_worker_init"](Worker())
    assert started == [Worker.wsgi, "settled"]
