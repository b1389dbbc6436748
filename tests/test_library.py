"""Browsing, searching, copying and editing exercises; seeding; favourites; privacy."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from therapy.extensions import db
from therapy.library import catalog
from therapy.library.seed import seed_library
from therapy.library.steps import parse, scaled
from therapy.models import AuditEvent, Exercise, ExerciseStar

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
]


def exercise_form(**overrides):
    data = {
        "title": "Evening check-in",
        "practice_id": "1",
        "summary": "Share one good and one hard moment of the day.",
        "why": "Small daily check-ins keep you close.",
        "timing": "After dinner.",
        "minutes": "10",
        "setting": "homework",
        "who": "together",
        "format": "ritual",
        "tracking": "daily",
        "steps": "Sit together.\nEach share one good moment.\nEach share one hard moment.",
        "prompts": "What surprised you?\nWhat helped?",
        "cautions": "",
        "stop_safely": "",
        "roles-0-name": "Speaker",
        "roles-0-does": "Shares a moment.",
    }
    data.update(overrides)
    return data


def ids_on_page(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/exercises/(\d+)"', html)]


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- seeding ---------------------------------------------------------------------------


def test_seed_library_loads_everything_and_is_idempotent(app, runner):
    first = runner.invoke(args=["seed-library"])
    assert first.exit_code == 0, first.output
    total = sum(len(p.exercises) for p in catalog.load())
    assert f"{total} created" in first.output
    second = runner.invoke(args=["seed-library"])
    assert "0 created, 0 updated" in second.output
    assert count(app, Exercise) == total


def test_reseeding_updates_a_changed_builtin_and_leaves_copies_alone(
    app, logged_in, library, monkeypatch
):
    key = (
        "communication-daily-download"
        if "communication-daily-download" in library.ids
        else (sorted(library.ids)[0])
    )
    builtin_id = library.id(key)
    response = logged_in.post(f"/exercises/{builtin_id}/copy")
    copy_id = int(response.headers["Location"].split("/")[2])

    original = catalog.load()
    changed = tuple(
        replace(
            p,
            exercises=tuple(
                replace(e, title="A clearer title", steps=(*e.steps, "A new last step."))
                if e.key == key
                else e
                for e in p.exercises
            ),
        )
        for p in original
    )
    monkeypatch.setattr(catalog, "load", lambda: changed)
    with app.app_context():
        before = db.session.get(Exercise, builtin_id).version
        copy_before = db.session.get(Exercise, copy_id)
        copy_title, copy_steps = copy_before.title, list(copy_before.steps)
        report = seed_library()
        assert (report.updated, report.created) == (1, 0)
        builtin = db.session.get(Exercise, builtin_id)
        assert builtin.title == "A clearer title"
        assert builtin.steps[-1] == "A new last step."
        assert builtin.version == before + 1
        copy = db.session.get(Exercise, copy_id)
        assert (copy.title, copy.steps, copy.version) == (copy_title, copy_steps, 1)


def test_a_builtin_dropped_from_the_data_leaves_the_library(app, library, monkeypatch):
    original = catalog.load()
    dropped = original[0].exercises[0].key
    trimmed = (replace(original[0], exercises=original[0].exercises[1:]), *original[1:])
    monkeypatch.setattr(catalog, "load", lambda: trimmed)
    with app.app_context():
        assert seed_library().retired == 1
        assert db.session.get(Exercise, library.id(dropped)).archived_at is not None


# --- browsing and search ---------------------------------------------------------------


def test_library_lists_by_practice_and_situation(logged_in, library):
    page = logged_in.get("/exercises/").get_data(as_text=True)
    assert "Exercise library" in page
    assert "Resolving conflict constructively" in page and "Long-distance relationship" in page
    page = logged_in.get("/exercises/?practice=long-distance").get_data(as_text=True)
    titles = [e.title for p in catalog.load() if p.slug == "long-distance" for e in p.exercises]
    for title in titles:
        assert title in page.replace("&#39;", "'")
    other = [e.title for p in catalog.load() if p.slug == "humor" for e in p.exercises]
    assert not any(title in page for title in other)


def test_search_finds_an_exercise_by_a_word_from_its_steps(logged_in, library):
    target, word = None, None
    for exercise in (e for p in catalog.load() for e in p.exercises):
        title_and_summary = (exercise.title + " " + exercise.summary).lower()
        for candidate in re.findall(r"[a-z]{7,}", " ".join(exercise.steps).lower()):
            if candidate not in title_and_summary:
                target, word = exercise, candidate
                break
        if target:
            break
    page = logged_in.get(f"/exercises/?q={word}").get_data(as_text=True)
    assert f'href="/exercises/{library.id(target.key)}"' in page


def test_title_matches_rank_first(app, logged_in, library):
    logged_in.post(
        "/exercises/new",
        data=exercise_form(title="Zebra talk", summary="Nothing to do with it.", steps="a\nb\nc"),
    )
    logged_in.post(
        "/exercises/new",
        data=exercise_form(title="Another one", summary="About a zebra.", steps="a\nb\nc"),
    )
    page = logged_in.get("/exercises/?q=zebra").get_data(as_text=True)
    assert page.index("Zebra talk") < page.index("Another one")


def test_filters_for_minutes_setting_and_who(app, logged_in, library):
    page = logged_in.get("/exercises/?minutes=10&setting=in-session&who=therapist-led")
    ids = ids_on_page(page.get_data(as_text=True))
    with app.app_context():
        for exercise in db.session.scalars(select(Exercise).where(Exercise.id.in_(ids))):
            assert exercise.minutes <= 10
            assert exercise.setting in ("in-session", "either")
            assert exercise.who == "therapist-led"
    page = logged_in.get("/exercises/?who=nobody&minutes=-5").get_data(as_text=True)
    assert page.count("exercise-card") >= 1  # invalid filters are ignored, not a 500


def test_search_input_is_shown_inert(logged_in, library):
    for payload in XSS:
        response = logged_in.get("/exercises/", query_string={"q": payload})
        assert response.status_code == 200
        assert "<script>alert" not in response.get_data(as_text=True)


def test_library_page_query_count_does_not_grow(app, logged_in, library, therapist, count_queries):
    def measure() -> int:
        with count_queries() as counter:
            assert logged_in.get("/exercises/?q=partner").status_code == 200
        return counter.count

    small = measure()
    with app.app_context():
        template = db.session.scalar(select(Exercise).limit(1))
        for n in range(150):
            db.session.add(
                Exercise(
                    owner_id=therapist.id,
                    practice_id=template.practice_id,
                    title=f"Mine {n}",
                    summary="partner time",
                    why="w",
                    minutes=5,
                    setting="either",
                    who="together",
                    format="game",
                    steps=["a partner step"],
                    search_title=f"mine {n}",
                    search_text=f"mine {n} partner time",
                )
            )
        db.session.commit()
    assert measure() == small


# --- reading and favourites ----------------------------------------------------------------


def test_detail_page_shows_the_whole_exercise(logged_in, library):
    data = next(e for p in catalog.load() for e in p.exercises if e.cautions and e.roles)
    page = logged_in.get(f"/exercises/{library.id(data.key)}").get_data(as_text=True)
    text_on_page = html.unescape(page)
    for text in (
        data.title,
        data.why,
        *(scaled(step.text) for step in parse(list(data.steps))),
        *data.prompts,
        data.cautions[0],
        data.roles[0].does,
    ):
        assert text in text_on_page
    assert "Never printed on the couple" in page


def test_star_and_unstar(app, logged_in, library, therapist):
    exercise_id = sorted(library.ids.values())[3]
    logged_in.post(f"/exercises/{exercise_id}/star", data={"starred": "1"})
    logged_in.post(f"/exercises/{exercise_id}/star", data={"starred": "1"})
    assert count(app, ExerciseStar) == 1
    page = logged_in.get("/exercises/?starred=y").get_data(as_text=True)
    assert ids_on_page(page) == [exercise_id]
    logged_in.post(f"/exercises/{exercise_id}/star", data={"starred": "0"})
    assert count(app, ExerciseStar) == 0


# --- custom exercises ----------------------------------------------------------------------


def test_create_custom_exercise(app, logged_in, library, therapist):
    response = logged_in.post("/exercises/new", data=exercise_form())
    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Evening check-in" in page and "My exercise" in page
    with app.app_context():
        mine = db.session.scalar(select(Exercise).where(Exercise.owner_id == therapist.id))
        assert mine.steps == [
            "Sit together.",
            "Each share one good moment.",
            "Each share one hard moment.",
        ]
        assert mine.roles == [{"name": "Speaker", "does": "Shares a moment."}]
        assert db.session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
            "exercise.create"
        )


def test_copy_a_builtin_then_edit_the_copy(app, logged_in, library):
    builtin_id = sorted(library.ids.values())[0]
    response = logged_in.post(f"/exercises/{builtin_id}/copy")
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit")
    copy_id = int(response.headers["Location"].split("/")[2])
    form_page = logged_in.get(f"/exercises/{copy_id}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form_page).group(1)
    response = logged_in.post(
        f"/exercises/{copy_id}/edit", data=exercise_form(title="My calmer version", version=version)
    )
    assert response.status_code == 302
    with app.app_context():
        copy, builtin = db.session.get(Exercise, copy_id), db.session.get(Exercise, builtin_id)
        assert copy.title == "My calmer version" and copy.copied_from_id == builtin_id
        assert builtin.title != "My calmer version" and builtin.version == 1


def test_builtins_are_read_only(logged_in, library):
    builtin_id = sorted(library.ids.values())[0]
    assert logged_in.get(f"/exercises/{builtin_id}/edit").status_code == 404
    assert logged_in.post(f"/exercises/{builtin_id}/edit", data=exercise_form()).status_code == 404
    assert logged_in.post(f"/exercises/{builtin_id}/archive").status_code == 404


def test_archive_and_restore_a_custom_exercise(app, logged_in, library):
    exercise_id = int(
        logged_in.post("/exercises/new", data=exercise_form()).headers["Location"].split("/")[2]
    )
    logged_in.post(f"/exercises/{exercise_id}/archive")
    assert exercise_id not in ids_on_page(
        logged_in.get("/exercises/?q=evening").get_data(as_text=True)
    )
    assert exercise_id in ids_on_page(
        logged_in.get("/exercises/?archived=y").get_data(as_text=True)
    )
    logged_in.post(f"/exercises/{exercise_id}/restore")
    assert exercise_id in ids_on_page(logged_in.get("/exercises/?q=evening").get_data(as_text=True))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": "   \n  "}, "Write at least 1 step"),
        ({"minutes": "0"}, "Use 1 to 240 minutes."),
        ({"minutes": "100000"}, "Use 1 to 240 minutes."),
        ({"minutes": "ten"}, "Enter a whole number, like 10."),
        ({"title": "x" * 121}, "Field cannot be longer than 120 characters."),
        ({"steps": "y" * 501}, "Line 1 is longer than 500 characters."),
        ({"involves_conflict": "y"}, "Say how the couple can stop safely."),
        ({"roles-1-name": "Listener"}, "Give both the role and what they do."),
        ({"practice_id": "99999"}, "Not a valid choice"),
    ],
)
def test_bad_input_gives_field_errors_and_keeps_what_was_typed(
    app, logged_in, library, changes, message
):
    data = exercise_form(summary="Kept summary text", **changes)
    response = logged_in.post("/exercises/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert "Kept summary text" in page
    assert count(app, Exercise, Exercise.owner_id.is_not(None)) == 0


def test_editing_a_stale_version_keeps_the_typed_text(app, logged_in, library):
    exercise_id = int(
        logged_in.post("/exercises/new", data=exercise_form()).headers["Location"].split("/")[2]
    )
    first = logged_in.post(
        f"/exercises/{exercise_id}/edit", data=exercise_form(title="Saved in tab one", version="1")
    )
    assert first.status_code == 302
    second = logged_in.post(
        f"/exercises/{exercise_id}/edit", data=exercise_form(title="Typed in tab two", version="1")
    )
    page = second.get_data(as_text=True)
    assert second.status_code == 200
    assert "changed in another tab" in page and "Typed in tab two" in page
    with app.app_context():
        assert db.session.get(Exercise, exercise_id).title == "Saved in tab one"


def test_markdown_in_steps_and_prompts_comes_out_inert(app, logged_in, library):
    steps = "\n".join([*XSS, "**Bold** step with a [safe link](https://example.org)"])
    response = logged_in.post(
        "/exercises/new",
        data=exercise_form(
            steps=steps, prompts="<img src=x onerror=alert(1)>\n[x](javascript:alert(1))"
        ),
    )
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    body = page.split("<main", 1)[1]
    assert "<script>alert" not in body
    assert "<img src=x" not in body and "onerror=alert(1)>" not in body.replace("&gt;", "")
    assert 'href="javascript' not in body.lower()
    assert "<strong>Bold</strong>" in body
    assert 'href="https://example.org" rel="noopener noreferrer nofollow"' in body


# --- privacy -------------------------------------------------------------------------------


def test_another_therapist_never_sees_or_edits_my_exercises(app, client, auth, library, make_user):
    owner, other = make_user("owner@example.com"), make_user("other@example.com")
    auth.login(owner)
    mine = int(
        client.post("/exercises/new", data=exercise_form(title="Private zebra"))
        .headers["Location"]
        .split("/")[2]
    )
    auth.logout()
    auth.login(other)
    assert client.get(f"/exercises/{mine}").status_code == 404
    assert client.get(f"/exercises/{mine}/edit").status_code == 404
    for action in ("edit", "copy", "star", "archive", "restore"):
        assert client.post(f"/exercises/{mine}/{action}", data=exercise_form()).status_code == 404
    assert "Private zebra" not in client.get("/exercises/?q=zebra").get_data(as_text=True)
    assert "Private zebra" not in client.get("/exercises/?archived=y").get_data(as_text=True)
    with app.app_context():
        exercise = db.session.get(Exercise, mine)
        assert exercise.title == "Private zebra" and exercise.archived_at is None
    assert count(app, Exercise, Exercise.owner_id == other.id) == 0
    assert count(app, ExerciseStar) == 0
