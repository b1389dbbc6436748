"""Handouts, agendas and the week's print run, from real sessions, through the app's URLs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import AuthActions
from tests.pdf_helpers import attachments, connection_attempted, flat, page_size, reader
from tests.test_library import exercise_form
from therapy import pdf
from therapy.extensions import db
from therapy.library.steps import couple_steps, scaled
from therapy.models import (
    AuditEvent,
    Couple,
    CoupleGoal,
    Exercise,
    SessionStatus,
    TherapySession,
    User,
)
from therapy.sessions.services import add_item, create_session, renumber, touch

DAILY = "communication-daily-download"  # homework, tracked daily
SAY_IT_BACK = "communication-say-it-back"  # in session
PAUSE_PLAN = "conflict-pause-plan"  # homework, with cautions
UNSAID = "communication-unsaid-list"  # homework
STARTS = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_pdf_cache(app) -> Iterator[None]:
    """The Redis cache outlives an app; every test starts without cached PDFs."""
    with app.app_context():
        pdf.clear_cache()
    yield


def plan(
    app,
    couple_id: int,
    items: list[tuple[int, dict[str, Any]]],
    *,
    starts_at: datetime | None = STARTS,
    status: str = SessionStatus.PLANNED.value,
    **fields: Any,
) -> int:
    """A session with these exercises in its plan, made through the session services."""
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        session = create_session(couple, starts_at=starts_at, status=status)
        for exercise_id, options in items:
            add_item(session, db.session.get(Exercise, exercise_id), **options)
        for name, value in fields.items():
            setattr(session, name, value)
        db.session.commit()
        return session.id


def edit(app, model, record_id: int, **fields: Any) -> None:
    with app.app_context():
        record = db.session.get(model, record_id)
        for name, value in fields.items():
            setattr(record, name, value)
        db.session.commit()


def audit_actions(app) -> list[tuple[str, str | None, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.record_type, AuditEvent.record_id).order_by(
                AuditEvent.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def custom_exercise(client, **overrides: str) -> int:
    response = client.post("/exercises/new", data=exercise_form(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].split("/")[2])


def assert_pdf_download(response, filename: str) -> bytes:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["Cache-Control"] == "no-store"
    return response.data


@pytest.fixture
def couple(make_couple, therapist) -> int:
    return make_couple(therapist, "Zoë", "Łukasz")


@pytest.fixture
def session_id(app, library, couple) -> int:
    """Session 1 on 2 December 2026 at 14:00 UTC: two homework items around one in session."""
    return plan(
        app,
        couple,
        [
            (library.id(DAILY), {"homework": True, "note": "Try it on the sofa, not the table."}),
            (library.id(SAY_IT_BACK), {"homework": False, "minutes": 25}),
            (library.id(PAUSE_PLAN), {"homework": True}),
        ],
    )


# --- the couple's handout ---------------------------------------------------------------


def test_the_handout_pdf_prints_the_sessions_homework(app, logged_in, library, couple, session_id):
    plan(app, couple, [], starts_at=STARTS + timedelta(days=3), status="cancelled")
    plan(app, couple, [], starts_at=STARTS + timedelta(days=7))
    data = assert_pdf_download(
        logged_in.get(f"/sessions/{session_id}/handout.pdf"), "handout-2026-12-02-session-1.pdf"
    )
    content = flat(data)
    with app.app_context():
        daily = db.session.get(Exercise, library.id(DAILY))
        pause = db.session.get(Exercise, library.id(PAUSE_PLAN))
        in_session = db.session.get(Exercise, library.id(SAY_IT_BACK))
        for exercise in (daily, pause):
            assert exercise.title in content
            for text in [*couple_steps(exercise.steps), *exercise.prompts]:
                assert " ".join(scaled(text).split()) in content, text
            assert exercise.practice.idea in content
        assert in_session.title not in content
        assert in_session.steps[1] not in content
        for caution in pause.cautions:
            assert caution[:40] not in content
    assert "Zoë & Łukasz" in content
    assert "Wednesday 2 December 2026" in content  # the session
    assert "Wednesday 9 December 2026" in content  # the next one (not the cancelled one)
    assert "Saturday 5 December" not in content
    assert "Try it on the sofa, not the table." in content
    assert "Page 1 of" in content
    assert content.index(daily.title) < content.index(pause.title)
    assert ("handout.export", "session", session_id) in audit_actions(app)


def test_the_filename_and_audit_hold_no_client_text(app, logged_in, session_id):
    response = logged_in.get(f"/sessions/{session_id}/handout.pdf")
    disposition = response.headers["Content-Disposition"]
    assert "Zo" not in disposition and "ukasz" not in disposition
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "handout.export"))
        assert event is not None and event.record_id == session_id
        assert "sofa" not in repr(vars(event))


def test_the_session_date_is_the_therapists_local_day(app, logged_in, therapist, couple, library):
    edit(app, User, therapist.id, timezone="America/New_York")
    late = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)  # 21:30 on 2 December in New York
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True})], starts_at=late)
    response = logged_in.get(f"/sessions/{session_id}/handout.pdf")
    content = flat(assert_pdf_download(response, "handout-2026-12-02-session-1.pdf"))
    assert "Wednesday 2 December 2026" in content
    assert "Thu 3" in content  # the tracking grid starts the day after


def test_the_preview_shows_the_same_handout_with_links(logged_in, session_id):
    response = logged_in.get(f"/sessions/{session_id}/handout")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Zoë &amp; Łukasz" in page and "The daily download" in page
    assert "Try it on the sofa, not the table." in page
    assert "Say it back" not in page
    assert f'href="/sessions/{session_id}/handout.pdf"' in page
    assert f'href="/sessions/{session_id}"' in page
    assert f'href="/sessions/{session_id}/agenda"' in page


def test_an_unscheduled_session_prints_a_line_for_the_date(app, logged_in, couple, library):
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True})], starts_at=None)
    content = flat(
        assert_pdf_download(
            logged_in.get(f"/sessions/{session_id}/handout.pdf"), "handout-session-1.pdf"
        )
    )
    assert "Date" in content and "Day 1" in content and "Day 7" in content


def test_no_homework_means_a_message_not_an_empty_pdf(app, logged_in, couple, library):
    session_id = plan(app, couple, [(library.id(SAY_IT_BACK), {"homework": False})])
    message = "This session has no homework yet: mark an exercise as homework in the plan"
    preview = logged_in.get(f"/sessions/{session_id}/handout")
    assert preview.status_code == 200 and message in preview.get_data(as_text=True)
    response = logged_in.get(f"/sessions/{session_id}/handout.pdf")
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and response.mimetype == "text/html"
    assert message in page
    assert re.search(rf'<a [^>]*href="/sessions/{session_id}">Go to the plan</a>', page)
    assert not any(action == "handout.export" for action, *_ in audit_actions(app))


def test_a_snapshot_keeps_the_handout_as_planned(app, logged_in, couple, library):
    exercise_id = custom_exercise(logged_in)
    session_id = plan(app, couple, [(exercise_id, {"homework": True})])
    before = flat(logged_in.get(f"/sessions/{session_id}/handout.pdf").data)
    assert "Evening check-in" in before and "Each share one good moment." in before
    form = logged_in.get(f"/exercises/{exercise_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    steps = "Sit together.\nEach name one thing you are proud of.\nEach share one hard moment."
    response = logged_in.post(
        f"/exercises/{exercise_id}/edit",
        data=exercise_form(title="Night-time check-in", steps=steps, version=version),
    )
    assert response.status_code == 302
    after = flat(logged_in.get(f"/sessions/{session_id}/handout.pdf").data)
    assert "Evening check-in" in after and "Each share one good moment." in after
    assert "Night-time check-in" not in after and "proud of" not in after


HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<link rel="attachment" href="file:///etc/passwd">',
    "@import url(http://127.0.0.1:{port}/);",
    '<img src="http://127.0.0.1:{port}/x.png">',
]


def test_hostile_text_in_notes_and_steps_prints_literally(
    app, logged_in, couple, library, listener
):
    port = listener.getsockname()[1]
    texts = [text.format(port=port) for text in HOSTILE]
    exercise_id = custom_exercise(logged_in, steps="\n".join(texts))
    session_id = plan(
        app,
        couple,
        [
            (library.id(DAILY), {"homework": True, "note": "\n".join(texts)}),
            (exercise_id, {"homework": True, "note": texts[1]}),
        ],
    )
    data = logged_in.get(f"/sessions/{session_id}/handout.pdf").data
    content = flat(data)
    for text in texts:
        assert content.count(text) >= 2, text  # in the note and in the steps
    assert not connection_attempted(listener)
    assert attachments(data) == []
    assert b"/EmbeddedFiles" not in data and b"/FileAttachment" not in data
    assert b"root:" not in data
    preview = logged_in.get(f"/sessions/{session_id}/handout").get_data(as_text=True)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in preview
    assert '<img src="file:' not in preview


def test_a_200_kb_note_is_refused_with_a_message_in_time(app, logged_in, couple, library):
    note = ("Evenings are hard when one of you is tired; try the sofa. " * 3600)[:200_000]
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True, "note": note})])
    started = time.monotonic()
    response = logged_in.get(f"/sessions/{session_id}/handout.pdf")
    with app.app_context():
        assert time.monotonic() - started < pdf.service().timeout + 5
    if response.status_code == 200:
        assert len(reader(response.data).pages) <= 40
    else:
        page = response.get_data(as_text=True)
        assert response.status_code in (422, 503)
        assert "Shorten the notes" in page
        assert f'href="/sessions/{session_id}/handout"' in page


def test_a_pdf_that_takes_too_long_is_a_clear_503(make_app, therapist, couple, library):
    slow_app = make_app(PDF_TIMEOUT=0.001, PDF_CACHE="none")
    session_id = plan(slow_app, couple, [(library.id(DAILY), {"homework": True})])
    client = slow_app.test_client()
    AuthActions(client).login(therapist)
    response = client.get(f"/sessions/{session_id}/handout.pdf")
    assert response.status_code == 503
    assert "took too long" in response.get_data(as_text=True)


# --- the cache ---------------------------------------------------------------------------


def test_the_same_plan_gives_the_same_bytes_and_any_change_new_ones(
    app, logged_in, therapist, couple, library, session_id
):
    url = f"/sessions/{session_id}/handout.pdf"
    first = logged_in.get(url).data
    assert logged_in.get(url).data == first
    seen = {first}

    def changed() -> None:
        data = logged_in.get(url).data
        assert data.startswith(b"%PDF") and data not in seen
        seen.add(data)

    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        session.items.reverse()  # plan order
        renumber(session)
        touch(session)
        db.session.commit()
    changed()
    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        session.items[0].note = "A different note."
        db.session.commit()
    changed()
    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        next(item for item in session.items if not item.homework).homework = True
        db.session.commit()
    changed()
    with app.app_context():
        db.session.get(Couple, couple).partner_b.first_name = "Lukas"
        db.session.commit()
    changed()
    edit(app, User, therapist.id, display_name="Dr. Renamed")
    changed()
    edit(app, User, therapist.id, paper_size="Letter")
    data = logged_in.get(url).data
    assert page_size(data) == (612, 792) and data not in seen
    seen.add(data)
    edit(app, TherapySession, session_id, starts_at=STARTS + timedelta(days=1))
    changed()


# --- who can see what --------------------------------------------------------------------


def session_urls(session_id: int) -> list[str]:
    return [
        f"/sessions/{session_id}/handout",
        f"/sessions/{session_id}/handout.pdf",
        f"/sessions/{session_id}/agenda",
        f"/sessions/{session_id}/agenda.pdf",
    ]


def test_another_therapist_gets_404_on_every_url(
    app, client, auth, therapist, make_user, make_couple, library, session_id
):
    auth.login(therapist)
    mine = custom_exercise(client)
    auth.logout()
    other = make_user("second@example.com", name="Dr. Second")
    auth.login(other)
    others_couple = make_couple(other, "Ana", "Bea")
    others_session = plan(app, others_couple, [(library.id(DAILY), {"homework": True})])
    for target in (session_id, session_id + 1000, others_session + 1, 0, 2**31):
        for url in session_urls(target):
            assert client.get(url).status_code == 404, url
    for url in session_urls(others_session):
        assert client.get(url).status_code == 200, url
    for target in (mine, mine + 1, 0):
        assert client.get(f"/exercises/{target}/handout.pdf").status_code == 404
    batch = client.get("/handouts/week?first=2026-11-30&last=2026-12-06").get_data(as_text=True)
    assert f"/sessions/{others_session}/handout" in batch
    assert f"/sessions/{session_id}/" not in batch
    content = flat(client.get("/handouts/week.pdf?first=2026-11-30&last=2026-12-06").data)
    assert "Ana & Bea" in content and "Zoë" not in content
    assert not any(
        record_id == session_id for action, _, record_id in audit_actions(app) if "export" in action
    )


# --- the generic handout of one exercise -------------------------------------------------


def test_an_exercise_handout_has_lines_for_names_and_no_note(app, logged_in, library):
    exercise_id = library.id(PAUSE_PLAN)
    data = assert_pdf_download(
        logged_in.get(f"/exercises/{exercise_id}/handout.pdf"),
        f"exercise-{exercise_id}-handout.pdf",
    )
    content = flat(data)
    assert "Make a pause plan" in content and "Pick a pause word or hand sign." in content
    assert "A note from" not in content and "Not for couples where there is violence" not in content
    assert "Zoë" not in content and "Therapist: Dr. First" in content
    assert "Date" in content and "Next session" in content
    assert ("exercise_handout.export", "exercise", exercise_id) in audit_actions(app)


def test_a_custom_exercise_handout_is_its_authors(app, logged_in, library):
    exercise_id = custom_exercise(logged_in)
    content = flat(logged_in.get(f"/exercises/{exercise_id}/handout.pdf").data)
    assert "Evening check-in" in content and "Tick a box on each day" in content


# --- the agenda --------------------------------------------------------------------------


@pytest.fixture
def agenda_session(app, library, couple) -> int:
    with app.app_context():
        record = db.session.get(Couple, couple)
        record.goals.append(CoupleGoal(position=0, text="Talk every evening without phones"))
        record.safety_flag = True
        record.safety_reason = "Raised voices at home; check safety first."
        db.session.commit()
    plan(
        app,
        couple,
        [(library.id(SAY_IT_BACK), {})],
        starts_at=STARTS - timedelta(days=7),
        status="held",
        notes_follow_up="Ask how the pause plan went.",
    )
    return plan(
        app,
        couple,
        [
            (library.id(SAY_IT_BACK), {"homework": False, "minutes": 10}),
            (library.id(DAILY), {"homework": True, "minutes": 10, "note": "Sofa, not table."}),
            (library.id(PAUSE_PLAN), {"homework": False, "minutes": 25}),
            (library.id(UNSAID), {"homework": False, "minutes": 5}),
        ],
    )


def test_the_agenda_page_has_start_times_goals_cautions_and_follow_up(
    app, logged_in, library, agenda_session
):
    response = logged_in.get(f"/sessions/{agenda_session}/agenda")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    starts = re.findall(r'<td class="agenda-start">([^<]*)</td>', page)
    # 14:00 + 10 (say it back); homework takes no session time; + 25 → 14:35 for the fourth
    assert starts == ["14:00", "Home", "14:10", "14:35"]
    assert "Homework" in page
    assert "Talk every evening without phones" in page
    assert "Raised voices at home; check safety first." in page
    assert "Ask how the pause plan went." in page and "session 1" in page
    assert "Not for couples where there is violence" in page  # a caution, for the therapist
    assert "Sofa, not table." in page
    assert "Wed 02 Dec 2026, 14:00–14:50" in page
    assert "40 planned in session" in page
    # Printable: the app's chrome and the buttons are hidden on paper.
    assert 'href="/static/css/agenda.css"' in page
    assert 'class="agenda-actions no-print"' in page


def test_the_agenda_pdf_is_one_page_with_everything(app, logged_in, library, agenda_session):
    data = assert_pdf_download(
        logged_in.get(f"/sessions/{agenda_session}/agenda.pdf"), "agenda-2026-12-02-session-2.pdf"
    )
    content = flat(data)
    assert len(reader(data).pages) == 1
    for expected in [
        "Zoë & Łukasz · session 2",
        "14:35",
        "Raised voices at home",
        "Talk every evening without phones",
        "Not for couples where there is violence",
        "Ask how the pause plan went.",
        "Page 1 of 1",
    ]:
        assert expected in content, expected
    assert ("agenda.export", "session", agenda_session) in audit_actions(app)


def test_an_unscheduled_agenda_counts_from_zero(app, logged_in, couple, library):
    session_id = plan(
        app,
        couple,
        [
            (library.id(SAY_IT_BACK), {"homework": False, "minutes": 10}),
            (library.id(PAUSE_PLAN), {"homework": False, "minutes": 25}),
            (library.id(UNSAID), {"homework": False, "minutes": 5}),
        ],
        starts_at=None,
    )
    page = logged_in.get(f"/sessions/{session_id}/agenda").get_data(as_text=True)
    assert re.findall(r'<td class="agenda-start">([^<]*)</td>', page) == ["0:00", "0:10", "0:35"]
    assert "Not scheduled yet" in page


def test_a_full_agenda_stays_on_one_page(app, logged_in, couple, library):
    keys = [SAY_IT_BACK, DAILY, PAUSE_PLAN, UNSAID, SAY_IT_BACK, DAILY, PAUSE_PLAN, UNSAID]
    session_id = plan(
        app,
        couple,
        [
            (library.id(key), {"homework": key in (DAILY, UNSAID), "note": "A short note."})
            for key in keys
        ],
    )
    data = logged_in.get(f"/sessions/{session_id}/agenda.pdf").data
    assert len(reader(data).pages) == 1


# --- this week's handouts ----------------------------------------------------------------


@pytest.fixture
def week_sessions(app, library, make_couple, therapist, couple) -> dict[str, int]:
    second = make_couple(therapist, "Noor", "Sam")
    homework = [(library.id(DAILY), {"homework": True})]
    return {
        "thursday": plan(app, second, homework, starts_at=datetime(2026, 12, 3, 9, tzinfo=UTC)),
        "tuesday": plan(app, couple, homework, starts_at=datetime(2026, 12, 1, 9, tzinfo=UTC)),
        "empty": plan(
            app,
            couple,
            [(library.id(SAY_IT_BACK), {"homework": False})],
            starts_at=datetime(2026, 12, 2, 9, tzinfo=UTC),
        ),
        "cancelled": plan(
            app,
            second,
            homework,
            starts_at=datetime(2026, 12, 2, 11, tzinfo=UTC),
            status="cancelled",
        ),
        "later": plan(app, second, homework, starts_at=datetime(2026, 12, 20, 9, tzinfo=UTC)),
    }


def test_the_week_pdf_prints_every_handout_in_date_order(app, logged_in, week_sessions):
    query = "first=2026-11-30&last=2026-12-06"
    page = logged_in.get(f"/handouts/week?{query}").get_data(as_text=True)
    assert "2 handouts to print" in page
    assert f'href="/sessions/{week_sessions["empty"]}"' in page  # listed as left out
    assert f"/sessions/{week_sessions['cancelled']}" not in page
    assert f"/sessions/{week_sessions['later']}" not in page
    assert f"/handouts/week.pdf?{query}" in page.replace("&amp;", "&")
    data = assert_pdf_download(
        logged_in.get(f"/handouts/week.pdf?{query}"), "handouts-2026-11-30-to-2026-12-06.pdf"
    )
    content = flat(data)
    assert content.index("Zoë & Łukasz") < content.index("Noor & Sam")
    assert content.count("Page 1 of 1") == 2 and len(reader(data).pages) == 2
    exported = [r for a, _, r in audit_actions(app) if a == "handouts_week.export"]
    assert sorted(exported) == sorted([week_sessions["tuesday"], week_sessions["thursday"]])


def test_the_week_form_defaults_to_the_next_seven_days(app, logged_in, therapist):
    page = logged_in.get("/handouts/week").get_data(as_text=True)
    today = datetime.now(UTC).date()  # the therapist's zone is UTC
    assert f'value="{today.isoformat()}"' in page
    assert f'value="{(today + timedelta(days=6)).isoformat()}"' in page
    assert "No session from" in page


def test_an_empty_week_is_a_message_not_a_pdf(logged_in, week_sessions):
    response = logged_in.get("/handouts/week.pdf?first=2027-01-04&last=2027-01-10")
    assert response.status_code == 409 and response.mimetype == "text/html"
    assert "has homework to print" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("first=2026-12-07&last=2026-12-01", "The last day cannot be before the first."),
        ("first=2026-12-01&last=2027-01-01", "Choose at most 31 days"),
        ("first=yesterday&last=2026-12-01", "Enter a date like 2026-12-01."),
        ("first=2026-02-30&last=2026-03-01", "Enter a date like 2026-12-01."),
        ("first=&last=2026-12-01", "Enter a date like 2026-12-01."),
        ("first=2026-12-01", "Enter a date like 2026-12-01."),
    ],
)
def test_the_week_form_explains_bad_dates(logged_in, query, message):
    for url, code in ((f"/handouts/week?{query}", 200), (f"/handouts/week.pdf?{query}", 400)):
        response = logged_in.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == code, url
        assert 'class="field-error"' in page and message in page, url


def test_31_days_is_allowed(logged_in, week_sessions):
    response = logged_in.get("/handouts/week?first=2026-12-01&last=2026-12-31")
    assert "3 handouts to print" in response.get_data(as_text=True)


def test_the_week_takes_a_fixed_number_of_queries(
    app, logged_in, week_sessions, library, couple, count_queries
):
    url = "/handouts/week?first=2026-11-30&last=2026-12-06"
    logged_in.get(url)
    with count_queries() as few:
        logged_in.get(url)
    for day in (1, 2, 3, 4):
        plan(
            app,
            couple,
            [(library.id(DAILY), {"homework": True})],
            starts_at=datetime(2026, 12, day, 17, tzinfo=UTC),
        )
    with count_queries() as more:
        logged_in.get(url)
    assert more.count == few.count


def test_the_dashboard_and_exercise_pages_link_to_their_pdfs(logged_in, library):
    assert 'href="/handouts/week"' in logged_in.get("/").get_data(as_text=True)
    exercise_id = library.id(PAUSE_PLAN)
    page = logged_in.get(f"/exercises/{exercise_id}").get_data(as_text=True)
    assert f'href="/exercises/{exercise_id}/handout.pdf"' in page


def test_the_preview_makes_the_pdf_ahead_so_download_is_a_cache_hit(
    app, logged_in, session_id, monkeypatch
):
    from therapy.handouts import services

    started = []
    ahead = services.prepare_handout_pdf
    monkeypatch.setattr(
        services, "prepare_handout_pdf", lambda handout: started.append(ahead(handout))
    )
    assert logged_in.get(f"/sessions/{session_id}/handout").status_code == 200
    started[0].join(30)
    with app.app_context():
        pool = pdf.service().process

    def no_render(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("rendered again instead of using the PDF made ahead")

    monkeypatch.setattr(pool, "render", no_render)
    response = logged_in.get(f"/sessions/{session_id}/handout.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=st.one_of(st.dates().map(str), st.text(st.characters(exclude_categories=["Cs"]))),
    last=st.one_of(st.dates().map(str), st.text(st.characters(exclude_categories=["Cs"]))),
)
def test_the_week_form_never_fails(logged_in, first, last):
    for path in ("/handouts/week", "/handouts/week.pdf"):
        response = logged_in.get(path, query_string={"first": first, "last": last})
        assert response.status_code in (200, 400, 409), (path, first, last)
        if response.status_code == 400:
            assert 'class="field-error"' in response.get_data(as_text=True)


def test_handout_with_check_in_links_prints_a_fresh_link_per_partner(
    app, logged_in, library, therapist, make_couple
):
    """The couple's handout can carry each partner's check-in link and QR code."""
    from therapy.models import CheckInLink, Couple, Exercise
    from therapy.sessions import services as sessions

    couple_id = make_couple(therapist, "Zoë", "Łukasz")
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        session = sessions.create_session(couple, starts_at=None)
        exercise = db.session.scalar(select(Exercise).where(Exercise.key.is_not(None)).limit(1))
        sessions.add_item(session, exercise, homework=True)
        db.session.commit()
        session_id = session.id
    old = logged_in.post(f"/sessions/{session_id}/handout-with-links.pdf")
    response = logged_in.post(f"/sessions/{session_id}/handout-with-links.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Zoë" not in response.headers["Content-Disposition"]
    text = flat(response.data)
    assert "/c/" in text and "Zoë" in text and "Łukasz" in text
    assert old.data != response.data
    with app.app_context():
        links = db.session.scalars(
            select(CheckInLink).where(CheckInLink.couple_id == couple_id)
        ).all()
        assert len(links) == 4
        assert sum(link.revoked_at is None for link in links) == 2
