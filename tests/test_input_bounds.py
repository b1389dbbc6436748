"""The sixteen server errors an attacker found with odd input, one test each.

Superscript digits that pass `str.isdigit()`, ids past the integer columns, dates at the
end of the calendar, line breaks in a redirect, a title that grows when case-folded, and
measure files with absurd numbers: each gets a page with a message (or a 404), not a 500.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, update

from tests.progress_helpers import add_score
from therapy.extensions import db
from therapy.measures.services import digest
from therapy.models import Exercise, MeasureDefinition, PlanItem, TherapySession, User
from therapy.parsing import MAX_ID, parse_id, parse_int, parse_signed_int

# --- the helpers themselves --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("0", 0),
        ("²", None),
        ("1²", None),
        ("①", None),
        ("١٢", None),  # Arabic-Indic digits: int() takes them, we do not
        ("１２", None),  # full-width digits likewise
        ("-1", None),
        ("+1", None),
        ("1e3", None),
        ("", None),
        (None, None),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 5000, None),
    ],
)
def test_parse_int_takes_ascii_digits_within_range_only(raw, expected):
    assert parse_int(raw) == expected


def test_ids_are_1_to_max_id_and_positions_are_signed_and_bounded():
    assert parse_id("0") is None and parse_id("1") == 1 and parse_id(str(MAX_ID)) == MAX_ID
    assert parse_signed_int("-3", bound=10) == -3 and parse_signed_int("-²", bound=10) is None
    assert parse_signed_int("11", bound=10) is None and parse_signed_int("--1", bound=10) is None


# --- a couple, a planned session with items, as the signed-in therapist ------------------


@pytest.fixture
def western(app, therapist):
    """The therapist works in Los Angeles: local times move forward on the way to UTC."""
    with app.app_context():
        db.session.execute(
            update(User).where(User.id == therapist.id).values(timezone="America/Los_Angeles")
        )
        db.session.commit()
    return therapist


@pytest.fixture
def plan(app, logged_in, therapist, make_couple, library):
    """(session id, [plan item ids]) of a planned session with two exercises."""
    from therapy.models import Couple
    from therapy.sessions import services

    couple_id = make_couple(therapist)
    with app.app_context():
        session = services.create_session(db.session.get(Couple, couple_id), starts_at=None)
        for key in ("communication-daily-download", "appreciation-nightly-thank-you"):
            exercise = db.session.scalars(select(Exercise).where(Exercise.key == key)).one()
            services.add_item(session, exercise)
        services.touch(session)
        db.session.commit()
        # The version a freshly loaded builder page would carry in its form.
        VERSIONS[session.id] = str(session.version)
        items = list(
            db.session.scalars(
                select(PlanItem.id).where(PlanItem.session_id == session.id).order_by(PlanItem.id)
            )
        )
        return session.id, items, couple_id


VERSIONS: dict[int, str] = {}


def plan_form(session_id, items, **changes):
    data = {"version": VERSIONS.get(session_id, "1"), "order": [str(i) for i in items]}
    for item in items:
        data[f"item-{item}-minutes"] = "10"
    data.update(changes)
    return data


# 1 ----------------------------------------------------------------------------------------
def test_caseload_page_number_in_superscript_is_page_one(logged_in):
    response = logged_in.get("/couples", query_string={"page": "²"})
    assert response.status_code == 200


@pytest.mark.sqlite_too
@pytest.mark.parametrize("page", ["9223372036854775808", "9223372036854775807", "-3", "²"])
def test_a_library_page_number_past_any_offset_is_a_page_not_a_crash(logged_in, library, page):
    """Found by the route fuzz on PostgreSQL: page 2**63 made an OFFSET past bigint (500)."""
    response = logged_in.get("/exercises/", query_string={"page": page})
    assert response.status_code == 200


# 2, 3, 4 ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [("order", "²"), ("move", "{item}:²"), ("move", "²:0"), ("remove", "¹²")],
    ids=["order", "move position", "move item", "remove"],
)
def test_plan_fields_in_superscript_are_refused_not_crashed(logged_in, plan, field, value):
    session_id, items, _ = plan
    data = plan_form(session_id, items)
    data[field] = value.format(item=items[0]) if field != "order" else [*data["order"], value]
    response = logged_in.post(f"/sessions/{session_id}/plan", data=data)
    assert response.status_code in (302, 422)
    if field != "order":
        assert response.status_code == 422
        assert "nothing was changed" in response.get_data(as_text=True)


# 5 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/admin/couples?owner=²",
        "/admin/couples?page=①",
        "/admin/audit?page=²",
        "/admin/audit?actor=²",
    ],
)
def test_admin_filters_in_superscript_show_the_unfiltered_page(app, client, auth, make_user, url):
    auth.login(make_user("admin@example.com", admin=True))
    assert client.get(url).status_code == 200


# 6, 7 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("exercise_id", [2**31, 2**63, 10**30])
@pytest.mark.parametrize("action", ["", "/edit", "/handout.pdf"])
def test_exercise_ids_past_the_integer_column_are_not_found(logged_in, exercise_id, action):
    assert logged_in.get(f"/exercises/{exercise_id}{action}").status_code == 404


@pytest.mark.parametrize("template_id", [str(2**31), "9" * 11, "²"])
def test_start_from_a_template_id_past_the_integer_column_adds_nothing(
    logged_in, plan, template_id
):
    session_id, _, _ = plan
    response = logged_in.post(
        f"/sessions/{session_id}/start-from", data={"source": f"template:{template_id}"}
    )
    assert response.status_code == 302


def test_adding_an_exercise_id_past_the_integer_column_is_refused(logged_in, plan):
    session_id, _, _ = plan
    response = logged_in.post(f"/sessions/{session_id}/items", data={"exercise_id": str(2**40)})
    assert response.status_code == 422


# 8, 9, 10 --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "last"), [("9999-12-25", "9999-12-31"), ("0001-01-01", "0001-01-07")]
)
@pytest.mark.parametrize("url", ["/handouts/week", "/handouts/week.pdf"])
def test_the_week_batch_at_the_calendars_edge_asks_for_another_date(
    logged_in, western, url, first, last
):
    response = logged_in.get(url, query_string={"first": first, "last": last})
    assert response.status_code in (200, 400)
    assert "Enter a date between 1900 and 2200" in response.get_data(as_text=True)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_new_session_at_the_calendars_edge_in_a_western_zone_asks_for_another_date(
    app, logged_in, western, make_couple, therapist, day
):
    couple = make_couple(therapist)
    response = logged_in.post(
        f"/couples/{couple}/sessions/new",
        data={
            "date": day,
            "time": "23:00",
            "minutes": "50",
            "status": "planned",
            "start_from": "blank",
        },
    )
    assert response.status_code == 200
    assert "Enter a date between 1900 and 2200" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(TherapySession.id)) is None


@pytest.mark.parametrize("field", ["since", "until"])
def test_the_audit_filter_at_the_calendars_edge_is_left_out(client, auth, make_user, field):
    auth.login(make_user("admin@example.com", admin=True))
    for day in ("9999-12-31", "0001-01-01"):
        response = client.get("/admin/audit", query_string={field: day})
        assert response.status_code == 200
        assert "Enter a date between 1900 and 2200" in response.get_data(as_text=True)


# 11 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("route", ["items", "plan", "start-from"])
def test_line_breaks_in_the_picker_search_never_reach_the_redirect(logged_in, plan, library, route):
    session_id, items, _ = plan
    data = {
        "items": {"exercise_id": str(library.id("communication-daily-download"))},
        "plan": plan_form(session_id, items),
        "start-from": {"source": "blank"},
    }[route]
    data["picker"] = "q=talk\r\nSet-Cookie: evil=1&practice=x\n"
    response = logged_in.post(f"/sessions/{session_id}/{route}", data=data)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert (
        "\n" not in location
        and "\r" not in location
        and "evil" not in response.headers.get("Set-Cookie", "")
    )
    assert "q=talk" in location


# 12 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("title", ["ß" * 61, "ß" * 120, "ΐ" * 120])
def test_a_title_that_grows_when_folded_is_saved_and_found(app, logged_in, library, title):
    from therapy.library.services import practices  # noqa: F401  (the library is seeded)

    with app.app_context():
        practice_id = db.session.scalar(select(Exercise.practice_id).limit(1))
    response = logged_in.post(
        "/exercises/new",
        data={
            "title": title,
            "practice_id": str(practice_id),
            "summary": "Say one thing.",
            "why": "It helps.",
            "minutes": "10",
            "setting": "homework",
            "who": "together",
            "format": "conversation",
            "tracking": "none",
            "steps": "Talk.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        saved = db.session.scalars(select(Exercise).where(Exercise.title == title)).one()
        assert saved.search_title == title.casefold()
        assert len(saved.search_title) <= Exercise.__table__.c.search_title.type.length
    found = logged_in.get("/exercises/", query_string={"q": title[:30].upper()})
    assert title in found.get_data(as_text=True)


# 13, 14, 15 -------------------------------------------------------------------------------
MEASURE = """slug = "{slug}"
name = "{name}"
short_name = "BIG"
entry = "scores"
higher_is_better = true
licence = "Test"
source = "Test"

[scoring]
method = "sum"
minimum = 0
maximum = {total}
reliable_change = 1

[[items]]
key = "a"
label = "Only"
minimum = 0
maximum = {item_max}
"""


def measure_file(*, slug="big", name="Big", item_max="10", total="10", extra=""):
    text = MEASURE.format(slug=slug, name=name, item_max=item_max, total=total) + extra
    return text.encode()


@pytest.fixture
def admin(app, client, auth, make_user):
    account = make_user("admin@example.com", admin=True)
    auth.login(account)
    return account


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (measure_file(item_max="1" + "0" * 400, total="1e400"), "numbers must be finite"),
        (measure_file(item_max="1" + "0" * 300, total="1e300"), "numbers must be finite"),
        (measure_file(item_max="9" * 5000, total="1"), "far too long"),
        (measure_file(total="inf"), "numbers must be finite"),
        (measure_file(extra="deep = " + "[" * 5000 + "]" * 5000 + "\n"), "nested more than"),
        (b"deep = " + b"[" * 100_000, "nested more than"),
        (measure_file(name="Bad\\u0000name"), "control characters"),
        (measure_file() + b"\n# \x00\n", "NUL bytes"),
    ],
    ids=["1e400", "1e300", "5000 digits", "inf", "nested", "only brackets", "escaped NUL", "NUL"],
)
def test_a_measure_file_with_absurd_content_is_refused_with_the_reason(
    app, client, admin, content, reason
):
    response = client.post(
        "/admin/measures",
        data={"definition": (io.BytesIO(content), "measure.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(select(MeasureDefinition).where(~MeasureDefinition.builtin)) is None
        )


# 16 ---------------------------------------------------------------------------------------
def test_a_stored_measure_with_an_absurd_range_no_longer_breaks_progress(
    app, client, admin, make_couple
):
    """A definition imported before the checks existed: range up to 1e300, one score."""
    couple = make_couple(admin)
    text = measure_file(item_max="1" + "0" * 300, total="1e300").decode()
    with app.app_context():
        from therapy.measures.services import measures

        measures()  # the shipped ones first, as the app does
        db.session.execute(
            insert(MeasureDefinition).values(
                slug="big",
                name="Big",
                short_name="BIG",
                definition=text,
                digest=digest(text),
                builtin=False,
            )
        )
        db.session.commit()
        measure_id = db.session.scalar(
            select(MeasureDefinition.id).where(MeasureDefinition.slug == "big")
        )
        from therapy.models import MeasureScore

        db.session.add(
            MeasureScore(
                couple_id=couple,
                partner_role="a",
                measure_id=measure_id,
                on_date=date.today() - timedelta(days=1),
                item_scores={"a": 10**299},
                total=1e299,
            )
        )
        db.session.commit()
    add_score(app, couple, "a", date.today() - timedelta(days=1), [3, 3, 3, 3])
    assert client.get(f"/couples/{couple}/progress").status_code == 200
    assert client.get(f"/couples/{couple}/scores/new?measure=big").status_code == 200
    report = client.post(f"/couples/{couple}/report.pdf", data={})
    assert report.status_code == 200 and report.mimetype == "application/pdf"


# Found by the route fuzzer after the sixteen: a line break as the search's length.
@pytest.mark.parametrize("minutes", ["\r\n", "²", " 10\n"])
def test_the_library_search_length_with_odd_characters_is_ignored(logged_in, plan, minutes):
    session_id, _, _ = plan
    assert logged_in.get("/exercises/", query_string={"minutes": minutes}).status_code == 200
    builder = logged_in.get(f"/sessions/{session_id}", query_string={"minutes": minutes})
    assert builder.status_code == 200
