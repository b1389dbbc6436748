"""The library's second edition in the app: lineage (therapist only), step variants chosen
per plan item, one-page explainers, one partner's work, and merged built-ins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.pdf_helpers import poppler_text, reader
from tests.test_handout_views import assert_pdf_download, custom_exercise, plan
from tests.test_sessions import add, item_row, open_plan, save_from
from therapy import pdf
from therapy.extensions import db
from therapy.library import catalog, steps
from therapy.library.seed import seed_library
from therapy.models import Exercise, PlanItem, TherapySession

DAILY = "communication-daily-download"  # has living-apart steps
LETTER = "appreciation-letter"  # has said-aloud steps
SAY_IT_BACK = "communication-say-it-back"  # has video steps
ALONE = "partner-not-open-alone-turn-toward"  # one partner's work, with living-apart steps


@pytest.fixture(autouse=True)
def empty_pdf_cache(app) -> Iterator[None]:
    with app.app_context():
        pdf.clear_cache()
    yield


def data_of(key: str) -> catalog.ExerciseData:
    return next(e for p in catalog.load() for e in p.exercises if e.key == key)


def words(text: str) -> str:
    """A step as pdftotext gives it back: markdown bold gone, whitespace collapsed."""
    return " ".join(text.replace("**", "").split())


@pytest.fixture
def couple(make_couple, therapist) -> int:
    return make_couple(therapist, "Noor", "Kit")


# --- lineage: for the therapist, never for the couple ------------------------------------


def test_lineage_is_stored_and_shown_to_the_therapist_but_never_printed(
    app, logged_in, library, couple
):
    lineage = data_of(DAILY).lineage
    assert lineage.startswith("Second edition")
    with app.app_context():
        exercise = db.session.get(Exercise, library.id(DAILY))
        assert exercise.lineage == lineage
    page = logged_in.get(f"/exercises/{library.id(DAILY)}").get_data(as_text=True)
    assert "Where the idea comes from" in page
    assert str(escape(lineage)) in page
    # The exercise's own handout, and a session handout with it as homework.
    sheet = poppler_text(logged_in.get(f"/exercises/{library.id(DAILY)}/handout.pdf").data)
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True})])
    handout = poppler_text(logged_in.get(f"/sessions/{session_id}/handout.pdf").data)
    for text in (sheet, handout):
        assert data_of(DAILY).title in text
        assert "Gottman" not in text and "Second edition" not in text
        assert "Where the idea comes from" not in text
    with app.app_context():
        item = db.session.scalars(select(PlanItem).where(PlanItem.session_id == session_id)).one()
        assert "lineage" not in item.snapshot
        assert lineage not in str(item.snapshot)


def test_a_custom_exercise_keeps_its_lineage_and_variants_off_the_handout(app, logged_in, library):
    exercise_id = custom_exercise(
        logged_in,
        lineage="Adapted from a workshop handout by Dr. Example",
        apart_steps="Call each other.\nShare one good moment.\nShare one hard moment.",
        aloud_steps="Say one good moment aloud.\nSay one hard one.\nSay thanks.",
    )
    page = logged_in.get(f"/exercises/{exercise_id}").get_data(as_text=True)
    assert "Adapted from a workshop handout by Dr. Example" in page
    assert "Steps: living apart" in page and "Call each other." in page
    assert "Steps: said aloud, not written" in page
    form = logged_in.get(f"/exercises/{exercise_id}/edit").get_data(as_text=True)
    assert "Adapted from a workshop handout by Dr. Example</textarea>" in form
    assert "Call each other.\nShare one good moment." in form
    text = poppler_text(logged_in.get(f"/exercises/{exercise_id}/handout.pdf").data)
    assert "Sit together." in text  # the usual steps
    assert "Dr. Example" not in text and "Call each other." not in text
    # A copy keeps them too.
    copied = logged_in.post(f"/exercises/{exercise_id}/copy")
    copy_id = int(copied.headers["Location"].split("/")[2])
    with app.app_context():
        copy = db.session.get(Exercise, copy_id)
        assert copy.lineage == "Adapted from a workshop handout by Dr. Example"
        assert copy.apart_steps[0] == "Call each other."


# --- variants: the plan item chooses, the handout prints that one --------------------------


def test_the_exercise_page_shows_every_version_of_the_steps(logged_in, library):
    page = logged_in.get(f"/exercises/{library.id(DAILY)}").get_data(as_text=True)
    assert "Steps: living apart" in page
    assert str(escape(data_of(DAILY).apart_steps[2])) in page
    page = logged_in.get(f"/exercises/{library.id(SAY_IT_BACK)}").get_data(as_text=True)
    assert "Steps: session over video" in page


def test_a_plan_item_prints_the_version_it_chose_and_no_other(app, logged_in, library, couple):
    from tests.test_sessions import new_session

    session_id = new_session(logged_in, couple)
    assert add(logged_in, session_id, library.id(DAILY)).status_code == 302
    assert add(logged_in, session_id, library.id(LETTER)).status_code == 302
    daily, letter = (row[0] for row in plan_rows(app, session_id))
    builder = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert f'name="item-{daily}-variant"' in builder
    assert '<option value="apart">Living apart</option>' in builder
    assert '<option value="aloud">' not in builder.split(f'name="item-{letter}-variant"')[0]

    def handout() -> str:
        with app.app_context():
            pdf.clear_cache()
        return poppler_text(logged_in.get(f"/sessions/{session_id}/handout.pdf").data)

    def couple(raw: Any) -> list[str]:
        return [steps.scaled(text) for text in steps.couple_steps(list(raw))]

    usual, apart = couple(data_of(DAILY).steps), couple(data_of(DAILY).apart_steps)
    written, aloud = couple(data_of(LETTER).steps), couple(data_of(LETTER).aloud_steps)
    before = handout()
    assert words(usual[0]) in before and words(written[0]) in before
    assert words(apart[0]) not in before and words(aloud[0]) not in before

    tab = open_plan(logged_in, session_id)
    response = save_from(
        logged_in,
        session_id,
        tab,
        **{f"item-{daily}-variant": "apart", f"item-{letter}-variant": "aloud"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert [i.variant for i in db.session.get(TherapySession, session_id).items] == [
            "apart",
            "aloud",
        ]
    after = handout()
    for step in (*apart, *aloud):
        assert words(step) in after, step
    assert words(usual[0]) not in after and words(written[0]) not in after
    page = logged_in.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert '<option value="apart" selected>' in page


def test_a_version_the_exercise_lacks_is_refused(app, logged_in, library, couple):
    from tests.test_sessions import new_session

    session_id = new_session(logged_in, couple)
    add(logged_in, session_id, library.id(LETTER))
    (letter,) = (row[0] for row in plan_rows(app, session_id))
    tab = open_plan(logged_in, session_id)
    for wrong in ("video", "sideways"):
        response = save_from(logged_in, session_id, tab, **{f"item-{letter}-variant": wrong})
        assert response.status_code == 422
        assert "nothing was saved" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PlanItem, letter).variant == ""


def test_a_couple_living_apart_gets_the_living_apart_steps_by_default(
    app, logged_in, library, make_couple, therapist
):
    from tests.test_sessions import new_session

    apart = make_couple(therapist, "Ana", "Bea", living_situation="apart")
    session_id = new_session(logged_in, apart)
    add(logged_in, session_id, library.id(DAILY), homework="y")
    add(logged_in, session_id, library.id(LETTER))
    with app.app_context():
        items = db.session.get(TherapySession, session_id).items
        assert [i.variant for i in items] == ["apart", ""]
        assert items[0].variants["apart"] == list(data_of(DAILY).apart_steps)


def test_a_copied_plan_keeps_each_items_version(app, logged_in, library, couple):
    from therapy.sessions import services

    first, second = plan(app, couple, []), plan(app, couple, [])
    with app.app_context():
        session = db.session.get(TherapySession, first)
        daily = db.session.get(Exercise, library.id(DAILY))
        services.add_item(session, daily, variant="apart")
        db.session.commit()
        specs = services.plan_as_specs(session)
        assert specs[0]["variant"] == "apart"
        services.copy_plan(db.session.get(TherapySession, second), specs, {daily.id: daily})
        assert db.session.get(TherapySession, second).items[0].variant == "apart"


# --- two tabs: the variant merges like the other item fields -------------------------------


@pytest.fixture
def two_items(app, logged_in, library, couple) -> tuple[int, int, int]:
    from tests.test_sessions import new_session

    session_id = new_session(logged_in, couple)
    add(logged_in, session_id, library.id(DAILY))
    add(logged_in, session_id, library.id(LETTER))
    daily, letter = (row[0] for row in plan_rows(app, session_id))
    return session_id, daily, letter


def variant_of(app, item_id: int) -> str:
    with app.app_context():
        return db.session.get(PlanItem, item_id).variant


def test_a_stale_tab_keeps_the_other_tabs_choice_of_steps(app, logged_in, two_items):
    session_id, daily, letter = two_items
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    assert (
        save_from(logged_in, session_id, tab_a, **{f"item-{daily}-variant": "apart"}).status_code
        == 302
    )
    # Tab B, loaded before, changes a note and another item's version: all of it lands.
    response = save_from(
        logged_in,
        session_id,
        tab_b,
        **{f"item-{daily}-note": "Call at nine", f"item-{letter}-variant": "aloud"},
    )
    assert response.status_code == 302
    assert variant_of(app, daily) == "apart" and variant_of(app, letter) == "aloud"
    assert item_row(app, session_id, daily)[4] == "Call at nine"


def test_two_tabs_choosing_different_steps_get_a_conflict(app, logged_in, library, couple):
    from tests.test_sessions import new_session

    two_versions = custom_exercise(
        logged_in,
        apart_steps="Call each other.\nShare one good moment.\nShare one hard moment.",
        aloud_steps="Say one good moment aloud.\nSay one hard one.\nSay thanks.",
    )
    session_id = new_session(logged_in, couple)
    add(logged_in, session_id, two_versions)
    (item,) = (row[0] for row in plan_rows(app, session_id))
    tab_a, tab_b = open_plan(logged_in, session_id), open_plan(logged_in, session_id)
    assert (
        save_from(logged_in, session_id, tab_a, **{f"item-{item}-variant": "apart"}).status_code
        == 302
    )
    response = save_from(logged_in, session_id, tab_b, **{f"item-{item}-variant": "aloud"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Version of the steps" in page
    assert "Living apart" in page and "Said aloud, not written" in page
    assert variant_of(app, item) == "apart"
    # The conflict page holds tab B's choice; saving it again keeps B's version.
    from tests.test_sessions import PageForm

    again = PageForm(page, "plan-form")
    assert again.fields()[f"item-{item}-variant"] == "aloud"
    assert save_from(logged_in, session_id, again).status_code == 302
    assert variant_of(app, item) == "aloud"


def test_a_page_without_the_control_leaves_the_choice_as_saved(app, logged_in, two_items):
    session_id, daily, _ = two_items
    tab = open_plan(logged_in, session_id)
    assert (
        save_from(logged_in, session_id, tab, **{f"item-{daily}-variant": "apart"}).status_code
        == 302
    )
    old_page = open_plan(logged_in, session_id).fields(
        **{f"item-{daily}-variant": None, f"item-{daily}-variant-was": None}
    )
    old_page[f"item-{daily}-note"] = "From an old page"
    assert logged_in.post(f"/sessions/{session_id}/plan", data=old_page).status_code == 302
    assert variant_of(app, daily) == "apart"
    assert item_row(app, session_id, daily)[4] == "From an old page"


# --- explainers and one partner's work --------------------------------------------------

EXPLAINERS = [e.key for p in catalog.load() for e in p.exercises if e.format == "psychoeducation"]


@pytest.mark.parametrize("key", EXPLAINERS)
def test_each_explainer_prints_on_one_page(app, logged_in, library, key):
    data = assert_pdf_download(
        logged_in.get(f"/exercises/{library.id(key)}/handout.pdf"),
        f"exercise-{library.id(key)}-handout.pdf",
    )
    assert len(reader(data).pages) == 1, key
    text = poppler_text(data)
    assert data_of(key).title.split(":")[0] in text
    assert "What to know" in text and "Talk it over" in text
    assert "Steps" not in text


def test_an_explainer_gets_a_page_of_its_own_in_a_session_handout(app, logged_in, library, couple):
    key = "conflict-learn-four-patterns"
    session_id = plan(
        app,
        couple,
        [
            (library.id(DAILY), {"homework": True}),
            (library.id(key), {"homework": True}),
            (library.id(LETTER), {"homework": True}),
        ],
    )
    pages = [
        " ".join(page.extract_text().split())
        for page in reader(logged_in.get(f"/sessions/{session_id}/handout.pdf").data).pages
    ]
    on = [n for n, text in enumerate(pages) if "Four patterns that hurt" in text]
    assert len(on) == 1
    page = pages[on[0]]
    assert data_of(DAILY).title not in page and data_of(LETTER).title not in page


def test_one_partners_work_says_so_on_the_handout(logged_in, library):
    text = poppler_text(logged_in.get(f"/exercises/{library.id(ALONE)}/handout.pdf").data)
    assert "For one of you, on your own" in text
    shared = poppler_text(logged_in.get(f"/exercises/{library.id(DAILY)}/handout.pdf").data)
    assert "on your own" not in shared


# --- merged near-duplicates: retired keys stay for old plans -----------------------------

RETIRED = {
    "empathy-weather-report": "empathy",
    "disconnected-two-questions": "disconnected",
    "emotional-support-outside-stress": "emotional-support",
    "humor-remember-when": "humor",
    "humor-inside-joke-book": "humor",
    "appreciation-care-list": "appreciation",
    "growth-what-help-looks-like": "growth",
    "emotional-support-listen-or-help": "emotional-support",
}


def test_a_plan_using_a_merged_away_exercise_still_prints(app, logged_in, library, couple):
    from therapy.library.seed import apply_builtin
    from therapy.models import Practice

    # An old database holds the first edition's built-in, planned before the merge.
    with app.app_context():
        source = replace_key(data_of("empathy-name-the-feeling"), "empathy-weather-report")
        old = Exercise(key=source.key)
        practice = db.session.scalars(select(Practice).where(Practice.slug == "empathy")).one()
        apply_builtin(old, source, practice)
        old.title = "The weather report"
        db.session.add(old)
        db.session.commit()
        old_id = old.id
    session_id = plan(app, couple, [(old_id, {"homework": True})])
    with app.app_context():
        report = seed_library()
        assert report.retired == 1
        assert db.session.get(Exercise, old_id).archived_at is not None
    listing = logged_in.get("/exercises/?q=weather").get_data(as_text=True)
    assert "The weather report" not in listing
    text = poppler_text(logged_in.get(f"/sessions/{session_id}/handout.pdf").data)
    assert "The weather report" in text


def replace_key(data: catalog.ExerciseData, key: str) -> catalog.ExerciseData:
    from dataclasses import replace

    return replace(data, key=key)


def test_merged_away_keys_are_gone_from_the_data_and_the_merged_ones_say_so():
    keys = {e.key for p in catalog.load() for e in p.exercises}
    assert not keys & set(RETIRED)
    for key in (DAILY, "quality-time-memory-lane", "emotional-support-comfort-menu"):
        assert data_of(key).lineage.startswith("Second edition: merges"), key


def plan_rows(app, session_id: int) -> list[tuple[int, ...]]:
    with app.app_context():
        session = db.session.get(TherapySession, session_id)
        return [(i.id, i.exercise_id) for i in session.items]


def test_the_agenda_tells_the_therapist_which_steps_are_planned(app, logged_in, library, couple):
    session_id = plan(
        app, couple, [(library.id(SAY_IT_BACK), {"homework": False, "variant": "video"})]
    )
    page = logged_in.get(f"/sessions/{session_id}/agenda").get_data(as_text=True)
    assert "Steps: session over video" in page
