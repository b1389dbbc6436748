"""The caseload and dashboard parts kept between requests (therapy/pagecache.py): served
again only while nothing they show has changed, whoever changed it and however."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, text, update

from tests.conftest import AuthActions
from tests.progress_helpers import create_link, rating_form
from tests.test_couples import couple_form
from tests.test_sessions import add, calm_exercises, new_session
from therapy import pagecache
from therapy.extensions import db
from therapy.models import AuditEvent, Couple, DataVersion, Exercise


def token(app) -> str | None:
    with app.app_context():
        return db.session.scalar(select(DataVersion.token))


def test_a_repeated_caseload_is_served_from_the_kept_part(
    app, logged_in, therapist, make_couple, count_queries
):
    make_couple(therapist, "Zoë", "Łukasz")
    first = logged_in.get("/couples").get_data(as_text=True)
    with count_queries() as counter:
        again = logged_in.get("/couples").get_data(as_text=True)
    assert "Zoë" in again
    # The same list without its queries: one reads the signed-in user and the data version.
    strip = lambda page: page.split('name="csrf-token"')[1].split("</main>")[0]  # noqa: E731
    assert strip(again) == strip(first)
    assert counter.count == 1, counter.statements
    # Other filters are another part.
    assert "No couples found." in logged_in.get("/couples?q=nobody").get_data(as_text=True)


def test_every_kind_of_write_shows_on_the_next_caseload(app, logged_in, therapist, make_couple):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    assert "Zoë" in logged_in.get("/couples").get_data(as_text=True)
    before = token(app)
    # Through the app's own form ...
    response = logged_in.post(
        "/couples/new",
        data=couple_form(**{"partner_a-first_name": "Mina", "partner_b-first_name": "Omar"}),
    )
    assert response.status_code == 302
    assert "Mina" in logged_in.get("/couples").get_data(as_text=True)
    assert token(app) != before
    # ... an ORM change, a bulk UPDATE and plain SQL, each committed by itself.
    with app.app_context():
        db.session.get(Couple, couple).label = "Label by the ORM"
        db.session.commit()
    assert "Label by the ORM" in logged_in.get("/couples").get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(Couple).values(label="Label by UPDATE"))
        db.session.commit()
    assert "Label by UPDATE" in logged_in.get("/couples").get_data(as_text=True)
    with app.app_context():
        db.session.execute(text("UPDATE couples SET label = 'Label by SQL'"))
        db.session.commit()
    page = logged_in.get("/couples").get_data(as_text=True)
    assert "Label by SQL" in page and "Label by UPDATE" not in page


def test_a_partners_safety_answer_reaches_a_dashboard_already_shown(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    assert "answered “No”" not in logged_in.get("/").get_data(as_text=True)
    assert "answered “No”" not in logged_in.get("/").get_data(as_text=True)  # kept now
    partner = app.test_client()
    partner.get(f"/c/{create_link(app, couple, 'a')}")
    assert partner.post("/c/", data=rating_form(app, 6, safety_answer="no")).status_code == 302
    dashboard = logged_in.get("/").get_data(as_text=True)
    assert "Zoë answered “No” to “Do you feel safe at home right now?”" in dashboard


def test_opening_a_couple_leaves_the_token_but_recently_viewed_is_current(
    app, logged_in, therapist, make_couple
):
    first = make_couple(therapist, "Zoë", "Łukasz")
    logged_in.get("/")
    before = token(app)
    assert logged_in.get(f"/couples/{first}").status_code == 200  # writes an audit event
    assert token(app) == before  # the audit trail alone changes nothing kept
    dashboard = logged_in.get("/").get_data(as_text=True)
    recent = dashboard.split('id="recent-heading"')[1].split("</section>")[0]
    assert f'href="/couples/{first}"' in recent

    # The list is kept too, and made again whenever a couple is opened: its order follows.
    second = make_couple(therapist, "Ana", "Bea")
    for opened, listed in ((second, [second, first]), (first, [first, second])):
        logged_in.get("/")
        for _ in range(2):  # opened twice in a row: the mark is set once
            assert logged_in.get(f"/couples/{opened}").status_code == 200
        for _ in range(2):  # made, then kept
            dashboard = logged_in.get("/").get_data(as_text=True)
            recent = dashboard.split('id="recent-heading"')[1].split("</section>")[0]
            assert [int(i) for i in re.findall(r'href="/couples/(\d+)"', recent)] == listed


def test_another_app_instance_on_the_database_sees_a_write_at_once(
    app, make_app, logged_in, therapist, make_couple, auth
):
    other_app = make_app()
    other = other_app.test_client()
    assert (
        other.post(
            "/login", data={"email": therapist.email, "password": therapist.password}
        ).status_code
        == 302
    )
    couple = make_couple(therapist, "Zoë", "Łukasz")
    assert "Zoë" in other.get("/couples").get_data(as_text=True)  # kept by the other one
    # Renamed through this instance: the other's kept part is not shown again.
    with app.app_context():
        db.session.get(Couple, couple).label = "Renamed elsewhere"
        db.session.commit()
    assert "Renamed elsewhere" in other.get("/couples").get_data(as_text=True)


def test_one_therapists_part_is_never_shown_to_another(app, client, auth, make_user, make_couple):
    first, second = make_user("first@example.com"), make_user("second@example.com")
    make_couple(first, "Zoë", "Łukasz")
    make_couple(second, "Mina", "Omar")
    auth.login(first)
    assert "Zoë" in client.get("/couples").get_data(as_text=True)
    auth.logout()
    auth.login(second)
    page = client.get("/couples").get_data(as_text=True)
    assert "Mina" in page and "Zoë" not in page


def test_a_part_is_made_again_when_the_minute_turns(
    app, logged_in, therapist, make_couple, monkeypatch
):
    make_couple(therapist, "Zoë", "Łukasz")
    made: list[str] = []
    original = pagecache.part

    def counting(name, key, make, user):
        def counted():
            made.append(name)
            return make()

        return original(name, key, counted, user)

    monkeypatch.setattr(pagecache, "part", counting)
    now = [29_000_000]
    monkeypatch.setattr(pagecache, "_minute", lambda: now[0])
    logged_in.get("/couples")
    logged_in.get("/couples")
    assert made == ["caseload"]
    now[0] += 1
    logged_in.get("/couples")
    assert made == ["caseload", "caseload"]


def test_without_the_table_pages_are_made_each_time_and_writes_still_commit(
    app, logged_in, therapist, make_couple
):
    # A database not yet migrated this far: nothing is kept, and no write is refused.
    with app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE data_version")
    pagecache.schema_changed()
    try:
        couple = make_couple(therapist, "Zoë", "Łukasz")
        assert "Zoë" in logged_in.get("/couples").get_data(as_text=True)
        with app.app_context():
            db.session.get(Couple, couple).label = "Renamed"
            db.session.commit()
        assert "Renamed" in logged_in.get("/couples").get_data(as_text=True)
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE data_version (id INTEGER PRIMARY KEY, token VARCHAR(32))"
            )
        pagecache.schema_changed()


def form_secrets(app, page: str) -> set[str]:
    """The session secrets the page's CSRF tokens were signed from (Flask-WTF's signing)."""
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    tokens = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    tokens += re.findall(r'type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert tokens, "no form on the page"
    return {signer.loads(token) for token in tokens}


def test_a_kept_couple_page_carries_each_browsers_own_csrf_token(app, therapist, make_couple):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    laptop, tablet = app.test_client(), app.test_client()
    for browser in (laptop, tablet):
        AuthActions(browser).login(therapist)
    on_laptop = laptop.get(f"/couples/{couple}").get_data(as_text=True)
    on_tablet = tablet.get(f"/couples/{couple}").get_data(as_text=True)
    assert form_secrets(app, on_laptop) == {laptop._session()["csrf_token"]}
    assert form_secrets(app, on_tablet) == {tablet._session()["csrf_token"]}
    # The tablet's own form works.
    token = re.search(r'name="csrf_token" value="([^"]+)"', on_tablet.split("/archive")[1])
    response = tablet.post(
        f"/couples/{couple}/archive", data={"csrf_token": token.group(1)}, csrf=False
    )
    assert response.status_code == 302


def test_every_visit_to_a_couple_is_audited_though_its_content_is_kept(
    app, logged_in, therapist, make_couple, count_queries
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    for _ in range(3):
        assert logged_in.get(f"/couples/{couple}").status_code == 200
    with app.app_context():
        views = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "couple.view")
        ).all()
    assert len(views) == 3


def test_a_new_check_in_shows_on_a_progress_page_already_shown(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    before = logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True)
    assert "No answers in this period." in before
    partner = app.test_client()
    partner.get(f"/c/{create_link(app, couple, 'a')}")
    assert partner.post("/c/", data=rating_form(app, 7)).status_code == 302
    after = logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True)
    assert after != before and "data:image/svg+xml" in after


def test_the_plan_builder_shows_an_added_exercise_and_says_so_once(
    app, logged_in, library, therapist, make_couple
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    session_id = new_session(logged_in, couple)
    url = f"/sessions/{session_id}"
    logged_in.get(url)
    assert "Added “" not in logged_in.get(url).get_data(as_text=True)  # kept now
    (exercise,) = calm_exercises(app, library, 1)
    with app.app_context():
        title = db.session.get(Exercise, exercise).title
    assert add(logged_in, session_id, exercise).status_code == 302
    page = logged_in.get(url).get_data(as_text=True)
    assert f"Added “{title}”." in page and page.count(title) >= 2
    again = logged_in.get(url).get_data(as_text=True)
    assert f"Added “{title}”." not in again and title in again


def test_a_missing_part_is_made_once_while_the_workers_other_threads_wait():
    cache = pagecache.PartCache()
    made: list[int] = []
    start = threading.Barrier(4)

    def make() -> str:
        made.append(1)
        time.sleep(0.2)
        return "the part"

    def ask() -> str:
        start.wait()
        return cache.get_or_make(("progress", 1), make)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: ask(), range(4)))
    assert answers == ["the part"] * 4
    assert made == [1]
    # A part that failed to be made is tried again by the next request.
    with pytest.raises(RuntimeError):
        cache.get_or_make(("couple", 2), lambda: (_ for _ in ()).throw(RuntimeError("db")))
    assert cache.get_or_make(("couple", 2), lambda: "made") == "made"


def test_kept_pages_read_outside_a_transaction_and_leave_the_connection_as_it_was(
    app, database_url, logged_in, therapist, make_couple
):
    # On PostgreSQL a kept page is read in autocommit mode (no BEGIN, no ROLLBACK). A part
    # being made gets a transaction (it may write), and the connection must go back to the
    # pool transactional, or the next request's writes would commit one at a time.
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite pages keep their transaction")
    from sqlalchemy import event

    couple = make_couple(therapist, "Zoë", "Łukasz")
    modes: list[bool] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        modes.append(conn.connection.dbapi_connection.autocommit)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for path in ("/couples", "/", f"/couples/{couple}", f"/couples/{couple}/progress"):
            modes.clear()
            assert logged_in.get(path).status_code == 200, path  # its parts made
            assert modes[0] is True and False in modes, (path, modes)
            # (Made again if the first added the built-in measures, a write: then kept.)
            assert logged_in.get(path).status_code == 200, path
            modes.clear()
            assert logged_in.get(path).status_code == 200, path
            assert modes and all(modes), (path, modes)
            with app.app_context():
                modes.clear()
                db.session.execute(text("SELECT 1"))
                assert modes == [False], path
                db.session.rollback()
        # Another page (here a form) keeps its transaction.
        modes.clear()
        assert logged_in.get(f"/couples/{couple}/edit").status_code == 200
        assert modes and not any(modes)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
