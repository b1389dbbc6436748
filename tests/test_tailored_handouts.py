"""Handouts a therapist can tailor: days per week, timings that follow the plan's minutes,
steps for the therapist only, and no situation's name on a shared handout."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.pdf_helpers import poppler_text
from tests.test_handout_views import DAILY, SAY_IT_BACK, STARTS, plan
from tests.test_sessions import PageForm, item_row, open_plan, save_from
from therapy import pdf
from therapy.extensions import db
from therapy.library import catalog, steps
from therapy.models import Exercise, PlanItem, TherapySession

SIDE_BY_SIDE = "partner-not-open-side-by-side"  # a situation's homework, tracked daily
SITUATION_NAME = "One partner is not open to it"


@pytest.fixture(autouse=True)
def empty_pdf_cache(app):
    with app.app_context():
        pdf.clear_cache()


@pytest.fixture
def couple(make_couple, therapist) -> int:
    return make_couple(therapist, "Zoë", "Łukasz")


def handout_text(client, session_id: int) -> str:
    response = client.get(f"/sessions/{session_id}/handout.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return poppler_text(response.data)


def therapist_texts(key: str) -> list[str]:
    """The therapist's steps of the exercise's usual version (not its variants')."""
    exercise = next(e for p in catalog.load() for e in p.exercises if e.key == key)
    return steps.therapist_steps(list(exercise.steps))


# --- days per week ------------------------------------------------------------------------


def test_a_daily_exercise_prints_every_day_and_a_week_grid_by_default(
    app, logged_in, library, couple
):
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True})])
    text = handout_text(logged_in, session_id)
    assert "Every day" in text and "Tick a box on each day you do it" in text
    assert "Thu 3 Fri 4 Sat 5 Sun 6 Mon 7 Tue 8 Wed 9" in text  # the 7 days after 2 Dec


def test_four_days_a_week_prints_four_days_and_a_grid_of_four(app, logged_in, library, couple):
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True, "days": 4})])
    text = handout_text(logged_in, session_id)
    assert "On 4 days a week" in text
    assert "Do it on 4 days. Write the day in a box each time you do it" in text
    assert "Time 1 2 3 4 Zoë Łukasz" in text
    assert "Every day" not in text and "Tick a box on each day" not in text
    assert "Thu 3" not in text  # no week of dated columns to tick every day


def test_one_day_a_week_prints_once_with_one_box(app, logged_in, library, couple):
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True, "days": 1})])
    text = handout_text(logged_in, session_id)
    assert "Once before your next session" in text and "Done on" in text
    assert "Every day" not in text


# --- minutes: the steps' timings follow the plan --------------------------------------------


def test_a_longer_plan_item_lengthens_the_talk_in_the_steps(app, logged_in, library, couple):
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True, "minutes": 15})])
    text = handout_text(logged_in, session_id)
    assert "15 minutes" in text and "Set a timer for 15 minutes." in text
    assert "talk for about 6 minutes" in text  # 4 of 10 minutes, at 15: 6
    assert "for about 6 minutes." in text  # the speaker's role follows too
    assert "Set a timer for 10 minutes" not in text and "{m:" not in text


def test_the_exercise_page_prints_timings_at_the_exercises_own_length(logged_in, library):
    page = html.unescape(logged_in.get(f"/exercises/{library.id(DAILY)}").get_data(as_text=True))
    assert "Set a timer for 10 minutes." in page and "{m:" not in page


def test_a_custom_exercises_when_line_follows_the_plans_minutes(app, logged_in, library, couple):
    from tests.test_library import exercise_form

    form = exercise_form(timing="{m:10} minutes after dinner.", minutes="10")
    response = logged_in.post("/exercises/new", data=form)
    assert response.status_code == 302
    exercise_id = int(response.headers["Location"].split("/")[2])
    page = html.unescape(logged_in.get(f"/exercises/{exercise_id}").get_data(as_text=True))
    assert "When: 10 minutes after dinner." in re.sub(r"<[^>]+>", "", page)
    session_id = plan(app, couple, [(exercise_id, {"homework": True, "minutes": 20})])
    text = handout_text(logged_in, session_id)
    assert "When: 20 minutes after dinner." in text and "{m:" not in text


# --- steps for the therapist -----------------------------------------------------------


def test_therapist_steps_never_print_on_a_handout_but_show_to_the_therapist(
    app, logged_in, library, couple
):
    mine = therapist_texts(SAY_IT_BACK)
    assert len(mine) == 2
    session_id = plan(app, couple, [(library.id(SAY_IT_BACK), {"homework": True})])
    text = handout_text(logged_in, session_id)
    assert "Say it back" in text
    for step in mine:
        assert step not in text
    assert "Therapist: Help" not in text and "Therapist: Ask" not in text
    exercise_pdf = poppler_text(
        logged_in.get(f"/exercises/{library.id(SAY_IT_BACK)}/handout.pdf").data
    )
    assert not any(step in exercise_pdf for step in mine)
    preview = html.unescape(logged_in.get(f"/sessions/{session_id}/handout").get_data(as_text=True))
    assert not any(step in preview for step in mine)
    # The therapist sees them, marked, on the exercise page, in the builder and the agenda.
    exercise_url = f"/exercises/{library.id(SAY_IT_BACK)}"
    page = html.unescape(logged_in.get(exercise_url).get_data(as_text=True))
    assert all(step in page for step in mine) and page.count("badge-therapist") >= 2
    builder = html.unescape(logged_in.get(f"/sessions/{session_id}").get_data(as_text=True))
    assert "Steps for you (2)" in builder and all(step in builder for step in mine)
    agenda = html.unescape(logged_in.get(f"/sessions/{session_id}/agenda").get_data(as_text=True))
    assert "Your steps:" in agenda and all(step in agenda for step in mine)


def test_a_snapshot_of_plain_string_steps_still_prints(app, logged_in, library, couple):
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True})])
    with app.app_context():
        item = db.session.scalars(select(PlanItem)).one()
        item.snapshot = {**item.snapshot, "steps": ["Sit down.", "Talk.", "Listen."]}
        item.snapshot.pop("practice_kind")
        db.session.commit()
    text = handout_text(logged_in, session_id)
    assert "Sit down." in text and "Listen." in text


def test_a_therapist_line_in_a_custom_exercise_is_a_therapist_step(app, logged_in, library):
    from tests.test_library import exercise_form

    form = exercise_form(steps="Sit together.\nTherapist: watch for blame.\nTalk.\nListen.")
    response = logged_in.post("/exercises/new", data=form)
    assert response.status_code == 302
    exercise_id = int(response.headers["Location"].split("/")[2])
    with app.app_context():
        steps = db.session.get(Exercise, exercise_id).steps
    assert steps == ["Sit together.", {"therapist": "watch for blame."}, "Talk.", "Listen."]
    edit = html.unescape(logged_in.get(f"/exercises/{exercise_id}/edit").get_data(as_text=True))
    assert "Therapist: watch for blame." in edit  # edited as it was typed
    text = poppler_text(logged_in.get(f"/exercises/{exercise_id}/handout.pdf").data)
    assert "watch for blame" not in text and "Sit together." in text


# --- situation names ---------------------------------------------------------------------


def test_a_shared_handout_never_names_the_situation(app, logged_in, library, couple):
    session_id = plan(app, couple, [(library.id(SIDE_BY_SIDE), {"homework": True})])
    text = handout_text(logged_in, session_id)
    assert SITUATION_NAME not in text and "not open" not in text
    assert "For the two of you" in text
    exercise_pdf = poppler_text(
        logged_in.get(f"/exercises/{library.id(SIDE_BY_SIDE)}/handout.pdf").data
    )
    assert SITUATION_NAME not in exercise_pdf
    # A snapshot taken before the practice's kind was kept is recognised by its slug.
    with app.app_context():
        item = db.session.scalars(select(PlanItem)).one()
        snapshot = dict(item.snapshot)
        del snapshot["practice_kind"]
        item.snapshot = snapshot
        db.session.commit()
    pdf_text = handout_text(logged_in, session_id)
    assert SITUATION_NAME not in pdf_text and "For the two of you" in pdf_text
    # The therapist's own pages keep the name.
    builder = html.unescape(logged_in.get(f"/sessions/{session_id}").get_data(as_text=True))
    assert SITUATION_NAME in builder


# --- the plan builder: days per week merged like the other fields ---------------------------


@pytest.fixture
def two_items(app, logged_in, library, couple):
    session_id = plan(
        app,
        couple,
        [(library.id(DAILY), {"homework": True}), (library.id(SAY_IT_BACK), {"homework": False})],
        starts_at=STARTS,
    )
    with app.app_context():
        items = db.session.get(TherapySession, session_id).items
        return session_id, [item.id for item in items]


def days_of(app, item_id):
    with app.app_context():
        return db.session.get(PlanItem, item_id).days_per_week


def test_the_builder_saves_days_per_week(app, logged_in, two_items):
    session_id, (x, _) = two_items
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert f'name="item-{x}-days"' in page and "As the exercise says (every day)" in page
    tab = open_plan(logged_in, session_id)
    assert save_from(logged_in, session_id, tab, **{f"item-{x}-days": "4"}).status_code == 302
    assert days_of(app, x) == 4
    tab = open_plan(logged_in, session_id)
    assert tab.fields()[f"item-{x}-days"] == "4"
    assert save_from(logged_in, session_id, tab, **{f"item-{x}-days": ""}).status_code == 302
    assert days_of(app, x) is None
    response = save_from(logged_in, session_id, tab, **{f"item-{x}-days": "9"})
    assert "Choose 1 to 7 days a week" in response.get_data(as_text=True)


def test_a_stale_tab_keeps_the_days_another_tab_saved(app, logged_in, two_items):
    session_id, (x, y) = two_items
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    assert save_from(logged_in, session_id, tab_a, **{f"item-{x}-days": "3"}).status_code == 302
    assert (
        save_from(logged_in, session_id, tab_b, **{f"item-{y}-note": "Go slowly"}).status_code
        == 302
    )
    assert days_of(app, x) == 3
    assert item_row(app, session_id, y)[4] == "Go slowly"


def test_both_tabs_changing_the_days_get_a_conflict(app, logged_in, two_items):
    session_id, (x, _) = two_items
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    save_from(logged_in, session_id, tab_a, **{f"item-{x}-days": "3"})
    response = save_from(logged_in, session_id, tab_b, **{f"item-{x}-days": "5"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 409
    assert "Days per week" in page and "3 days a week" in page and "5 days a week" in page
    assert days_of(app, x) == 3
    again = PageForm(response.get_data(as_text=True), "plan-form")
    assert again.fields()[f"item-{x}-days"] == "5"
    assert save_from(logged_in, session_id, again).status_code == 302
    assert days_of(app, x) == 5


def test_a_page_without_the_days_control_leaves_the_days_alone(app, logged_in, two_items):
    session_id, (x, _) = two_items
    tab = open_plan(logged_in, session_id)
    save_from(logged_in, session_id, tab, **{f"item-{x}-days": "2"})
    old_page = open_plan(logged_in, session_id)
    fields = old_page.fields(**{f"item-{x}-days": None, f"item-{x}-days-was": None})
    fields[f"item-{x}-note"] = "From an older page"
    assert logged_in.post(f"/sessions/{session_id}/plan", data=fields).status_code == 302
    assert days_of(app, x) == 2


def test_the_merge_compares_days_as_a_field():
    from therapy.sessions.services import ITEM_FIELDS, item_values

    assert ITEM_FIELDS["days"] == "Days per week"
    assert item_values(10, True, "", None)["days"] == ""
    assert item_values(10, True, "", 4)["days"] == "4"
    assert re.fullmatch(r"[0-9a-f]{32}", item_values(10, True, "x", 4)["note"])
