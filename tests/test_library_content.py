"""The built-in library: complete, readable, and careful where exercises could hurt."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
import textstat

from therapy.library import catalog
from therapy.library.catalog import ExerciseData

PRACTICES = {
    "communication",
    "empathy",
    "quality-time",
    "vulnerability",
    "appreciation",
    "growth",
    "conflict",
    "humor",
    "patience",
}
SITUATIONS = {
    "partner-not-open",
    "rebuilding",
    "long-distance",
    "disconnected",
    "emotional-support",
    "leaning-out",
    "betrayal",
}
ALL = [exercise for practice in catalog.load() for exercise in practice.exercises]
STOP_WORDS = ("pause", "break", "stop", "apart", "later", "come back")


def as_sentence(piece: str) -> str:
    piece = piece.strip()
    return piece if piece.endswith((".", "!", "?")) else piece + "."


def couple_text(exercise: ExerciseData) -> str:
    return " ".join(as_sentence(piece) for piece in exercise.couple_text() if piece.strip())


def test_nine_practices_and_six_situations_with_enough_exercises():
    loaded = catalog.load()
    kinds = {p.slug: p.kind for p in loaded}
    assert {s for s, k in kinds.items() if k == "practice"} == PRACTICES
    assert {s for s, k in kinds.items() if k == "situation"} == SITUATIONS
    for practice in loaded:
        minimum = 5 if practice.kind == "practice" else 3
        assert len(practice.exercises) >= minimum, practice.slug
        assert practice.idea and len(practice.idea) <= 120
    assert len(ALL) >= 60
    assert [p.order for p in loaded if p.kind == "practice"] == list(range(1, 10))


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.key)
def test_every_builtin_has_the_required_parts(exercise):
    assert exercise.title and exercise.summary and exercise.why and exercise.when
    assert exercise.minutes > 0
    assert len(exercise.steps) >= 3
    assert 2 <= len(exercise.prompts) <= 4
    assert exercise.setting in {"in-session", "homework", "either"}
    assert exercise.tracking in {"none", "daily", "once"}
    for text in exercise.couple_text():
        assert "<" not in text and "](" not in text, "plain text only"


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.key)
def test_what_the_couple_reads_is_grade_eight_or_lower(exercise):
    grade = textstat.flesch_kincaid_grade(couple_text(exercise))
    assert grade <= 8.0, f"{exercise.key} reads at grade {grade}"


@pytest.mark.parametrize(
    "exercise",
    [e for e in ALL if e.sensitive or e.practice in ("conflict", "vulnerability")],
    ids=lambda e: e.key,
)
def test_conflict_and_vulnerability_work_has_cautions_and_a_safe_stop(exercise):
    assert exercise.cautions, "cautions for the therapist"
    assert any(word in exercise.stop_safely.lower() for word in STOP_WORDS), exercise.stop_safely
    if exercise.practice in ("conflict", "vulnerability"):
        assert exercise.practice in exercise.sensitive


def test_the_library_is_varied():
    formats = Counter(e.format for e in ALL)
    assert set(formats) == {
        "conversation",
        "ritual",
        "written",
        "game",
        "planning",
        "dialogue",
        "psychoeducation",
    }
    assert sum(e.tracking == "daily" for e in ALL) >= 8
    for practice in catalog.load():
        if practice.kind == "practice":
            minutes = [e.minutes for e in practice.exercises]
            assert min(minutes) <= 10 and max(minutes) >= 20, practice.slug


def test_gender_neutral_wording():
    gendered = (" husband", " wife", " boyfriend", " girlfriend", " his ", " her ")
    for exercise in ALL:
        text = " " + couple_text(exercise).lower() + " "
        assert not [w for w in gendered if w in text], exercise.key


def test_a_broken_data_file_is_refused_with_the_reason(tmp_path):
    (tmp_path / "communication.toml").write_text(
        'kind = "practice"\nslug = "communication"\nname = "X"\nidea = "Y"\norder = 1\n'
        '[[exercises]]\nkey = "communication-x"\ntitle = "T"\nsummary = "S"\nwhy = "W"\n'
        'when = "N"\nminutes = 0\nsetting = "homework"\nwho = "together"\n'
        'format = "game"\ntracking = "none"\nsensitive = []\nsteps = ["a", "b", "c"]\n'
        'prompts = ["p", "q"]\ncautions = []\n'
    )
    with pytest.raises(catalog.LibraryDataError, match="minutes"):
        catalog.load.__wrapped__(tmp_path)


def test_every_practice_has_a_check_in_question_at_grade_eight_or_lower():
    for practice in catalog.load():
        if practice.kind == "situation":
            assert practice.question == "", practice.slug
            continue
        question = practice.question
        assert question.endswith("?") and len(question) <= 200, practice.slug
        grade = textstat.flesch_kincaid_grade(question)
        assert grade <= 8.0, f"{practice.slug} question reads at grade {grade}"
        assert not [w for w in (" husband", " wife", " his ", " her ") if w in f" {question} "]


def test_a_practice_without_a_question_is_refused(tmp_path):
    source = (catalog.DATA_DIR / "humor.toml").read_text(encoding="utf-8")
    lines = [line for line in source.splitlines() if not line.startswith("question = ")]
    (tmp_path / "humor.toml").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(catalog.LibraryDataError, match="question"):
        catalog.load.__wrapped__(tmp_path)


def _one_more_exercise(key: str, extra: str = "") -> str:
    return (
        f'[[exercises]]\nkey = "{key}"\ntitle = "T"\nsummary = "S"\nwhy = "W"\n'
        'when = "N"\nminutes = 10\nsetting = "homework"\nwho = "together"\n'
        'format = "game"\ntracking = "none"\nsensitive = []\nsteps = ["a", "b", "c"]\n'
        f'prompts = ["p", "q"]\ncautions = []\n{extra}'
    )


def test_a_file_of_more_exercises_joins_its_practice(tmp_path):
    source = catalog.DATA_DIR / "humor.toml"
    (tmp_path / "humor.toml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "humor.more.toml").write_text(
        'extends = "humor"\n'
        + _one_more_exercise("humor-extra", 'requires = ["humor-extra-first"]\n')
        + _one_more_exercise("humor-extra-first", 'lineage = "Our own."\n'),
        encoding="utf-8",
    )
    (humor,) = catalog.load.__wrapped__(tmp_path)
    keys = [e.key for e in humor.exercises]
    assert keys[-2:] == ["humor-extra", "humor-extra-first"]
    assert humor.exercises[-2].requires == ("humor-extra-first",)
    assert humor.exercises[-1].lineage == "Our own."


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        (
            "humor.more.toml",
            'extends = "humor"\n' + _one_more_exercise("humor-x", 'requires = ["nope"]\n'),
            "nope",
        ),
        ("humor.more.toml", 'extends = "conflict"\n' + _one_more_exercise("conflict-x"), "named"),
        (
            "growth.more.toml",
            'extends = "growth"\n' + _one_more_exercise("growth-x"),
            "no practice",
        ),
        (
            "humor.more.toml",
            'extends = "humor"\nname = "X"\n' + _one_more_exercise("humor-x"),
            "only",
        ),
    ],
)
def test_more_exercises_that_do_not_fit_are_refused(tmp_path, name, body, reason):
    source = catalog.DATA_DIR / "humor.toml"
    (tmp_path / "humor.toml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(catalog.LibraryDataError, match=reason):
        catalog.load.__wrapped__(tmp_path)


def test_a_new_lineage_or_prerequisite_changes_the_digest():
    conflict = next(p for p in catalog.load() if p.slug == "conflict")
    pause = next(e for e in conflict.exercises if e.key == "conflict-pause-plan")
    assert pause.digest() != replace(pause, lineage="Somewhere").digest()
    assert pause.digest() != replace(pause, requires=("conflict-gentle-start",)).digest()


# --- the second edition ------------------------------------------------------------------

BY_KEY = {exercise.key: exercise for exercise in ALL}
UNEQUAL_ROLES = {"Hurt partner", "Partner who broke trust"}


def test_the_second_edition_adds_what_was_missing():
    situations = {p.slug: p for p in catalog.load()}
    betrayal = situations["betrayal"]
    assert betrayal.kind == "situation" and len(betrayal.exercises) >= 7
    explainers = [e for e in ALL if e.format == "psychoeducation"]
    assert len(explainers) >= 7
    assert len({e.practice for e in explainers}) >= 6  # spread over the fitting practices
    alone = [e for e in ALL if e.who == "one partner"]
    assert len(alone) >= 4 and {e.practice for e in alone} == {"partner-not-open"}
    assert sum("apart" in e.variants() for e in ALL) >= 7
    assert sum("aloud" in e.variants() for e in ALL) >= 8
    assert sum("video" in e.variants() for e in ALL) >= 6
    # Explainer topics, by key: flooding, the four patterns, bids, repair and apology,
    # solvable versus lasting problems, the negative cycle.
    for key in (
        "patience-learn-flooding",
        "conflict-learn-four-patterns",
        "quality-time-learn-bids",
        "conflict-learn-repair-and-apology",
        "patience-learn-perpetual-problems",
        "empathy-learn-negative-cycle",
    ):
        assert BY_KEY[key].format == "psychoeducation", key


def test_new_and_merged_exercises_name_their_lineage_for_the_therapist_only():
    new = [
        e for e in ALL if e.practice == "betrayal" or "-learn-" in e.key or e.who == "one partner"
    ]
    assert len(new) >= 18
    for exercise in new:
        assert exercise.lineage, exercise.key
        assert exercise.lineage not in " ".join(exercise.couple_text()), exercise.key
    # Lineage is never part of what the couple reads, even when it is the only change.
    sample = BY_KEY["communication-daily-download"]
    assert replace(sample, lineage="Somewhere else").couple_text() == sample.couple_text()


@pytest.mark.parametrize(
    "exercise", [e for e in ALL if e.practice == "betrayal"], ids=lambda e: e.key
)
def test_betrayal_work_is_unequal_tagged_and_cautious(exercise):
    assert "betrayal" in exercise.sensitive
    cautions = " ".join(exercise.cautions).lower()
    assert "coercive control" in cautions
    assert "ongoing" in cautions or "still going on" in cautions
    if exercise.format != "psychoeducation":
        # The partner who broke trust and the hurt partner each have their own steps.
        assert {role.name for role in exercise.roles} >= UNEQUAL_ROLES
        steps = " ".join(s if isinstance(s, str) else s["therapist"] for s in exercise.steps)
        assert "Hurt partner:" in steps and "Partner who broke trust:" in steps
        # Disclosure happens in session first; everything else builds on it.
        if exercise.key != "betrayal-disclosure-in-session":
            assert exercise.requires, exercise.key


def test_betrayal_steps_order_disclosure_apology_then_forgiveness():
    requires = {e.key: e.requires for e in ALL}
    assert "betrayal-disclosure-in-session" in requires["betrayal-impact-letter"]
    assert "betrayal-impact-letter" in requires["betrayal-full-apology"]
    assert "betrayal-full-apology" in requires["betrayal-forgiveness-later"]
    disclosure = BY_KEY["betrayal-disclosure-in-session"]
    assert disclosure.setting == "in-session" and disclosure.who == "therapist-led"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ('apart_steps = ["only one"]\n', "apart_steps"),
        ('video_steps = ["a", ""]\n', "video_steps"),
    ],
)
def test_a_variant_that_does_not_fit_is_refused(tmp_path, extra, reason):
    source = catalog.DATA_DIR / "humor.toml"
    (tmp_path / "humor.toml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "humor.more.toml").write_text(
        'extends = "humor"\n' + _one_more_exercise("humor-x", extra), encoding="utf-8"
    )
    with pytest.raises(catalog.LibraryDataError, match=reason):
        catalog.load.__wrapped__(tmp_path)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"tracking": "daily"}, "daily grid"),
        ({"why": "Words and more words. " * 90}, "one page"),
    ],
)
def test_an_explainer_that_would_not_fit_one_page_is_refused(tmp_path, change, reason):
    import tomllib

    source = (catalog.DATA_DIR / "humor.learn.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(source)
    assert raw["exercises"][0]["format"] == "psychoeducation"
    key, value = next(iter(change.items()))
    old = raw["exercises"][0][key]
    body = source.replace(f'{key} = "{old}"', f'{key} = "{value}"', 1)
    assert body != source
    (tmp_path / "humor.toml").write_text(
        (catalog.DATA_DIR / "humor.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "humor.learn.toml").write_text(body, encoding="utf-8")
    with pytest.raises(catalog.LibraryDataError, match=reason):
        catalog.load.__wrapped__(tmp_path)


def test_variants_change_the_digest_only_when_set():
    pause = BY_KEY["conflict-pause-plan"]
    assert "apart_steps" not in pause.digest()  # a hash, not the fields
    with_variant = replace(pause, apart_steps=("a", "b", "c"))
    assert pause.digest() != with_variant.digest()
    assert with_variant.variants() == {"apart": ("a", "b", "c")}
    assert pause.variants() == {}


def test_no_couple_facing_text_starts_with_therapist():
    """A step for the therapist is a `{ therapist = "..." }` entry, never couple text."""
    for practice in catalog.load():
        for exercise in practice.exercises:
            for text in exercise.couple_text():
                assert not text.strip().casefold().startswith("therapist"), (exercise.key, text)
                assert "{m:" not in text, (exercise.key, text)  # timings print as minutes
    therapist = [text for e in ALL for text in e.therapist_text()]
    assert len(therapist) >= 21
    assert all(text[0].isupper() and not text.startswith("Therapist") for text in therapist)


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ('["a", "b", "Therapist: ask them"]', "therapist step"),
        ('["a", "b", { therapist = "" }]', "each step"),
        ('["a", "b", { therapist = "x", extra = "y" }]', "each step"),
        ('["a", "b", { therapist = "x" }]', "at least 3 steps"),  # therapist steps don't count
        ('["a", "b", "Talk for {m:0} minutes"]', "timing"),
    ],
)
def test_steps_that_would_mislead_a_couple_are_refused(tmp_path, steps, reason):
    body = _one_more_exercise("humor-x").replace('steps = ["a", "b", "c"]', f"steps = {steps}")
    source = catalog.DATA_DIR / "humor.toml"
    (tmp_path / "humor.toml").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "humor.more.toml").write_text('extends = "humor"\n' + body, encoding="utf-8")
    with pytest.raises(catalog.LibraryDataError, match=reason):
        catalog.load.__wrapped__(tmp_path)


def test_talk_lengths_follow_the_plan_and_safety_timings_do_not():
    from therapy.library.steps import scaled

    download = next(e for e in ALL if e.key == "communication-daily-download")
    assert download.steps[0].endswith("Set a timer for {m:10} minutes.")
    assert scaled(download.steps[0], 15, 10).endswith("Set a timer for 15 minutes.")
    assert scaled("about {m:4} minutes", 15, 10) == "about 6 minutes"
    assert scaled("about {m:4} minutes", 1, 10) == "about 1 minute"  # never 0
    pause = next(e for e in ALL if e.key == "conflict-pause-plan")
    assert not any("{m:" in str(step) for step in pause.steps)  # "at least 20 minutes" stays
