"""The built-in library as data: one TOML file per practice or situation, validated."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from therapy.library.steps import (
    THERAPIST,
    THERAPIST_PREFIX,
    TIMING,
    couple_steps,
    scaled,
    therapist_steps,
)
from therapy.models.library import Format, PracticeKind, Setting, Tracking, Who

DATA_DIR = Path(__file__).parent / "data"
# What can make an exercise unsafe for some couples (structured risk tags, never free text):
# conflict work, vulnerable sharing, something that could be turned into a control tactic
# (schedules, whereabouts, lists of demands, time-outs), physical closeness or sex, and
# affairs or broken trust.
SENSITIVE_KINDS = ("conflict", "vulnerability", "control", "touch", "betrayal")
# Exercises in these practices always involve that kind of work.
SENSITIVE_PRACTICES = {"conflict": "conflict", "vulnerability": "vulnerability"}
MIN_STEPS = 3
MIN_PROMPTS = 2
MAX_PROMPTS = 4
# The variant step lists a data file may give, by the plan item's variant name.
VARIANT_FIELDS = {"apart": "apart_steps", "aloud": "aloud_steps", "video": "video_steps"}
# A psychoeducation page prints on one page: its couple text stays under this many
# characters (tests/test_handouts.py renders the longest one to check it fits).
PSYCHOEDUCATION_MAX_CHARS = 2600


class LibraryDataError(ValueError):
    """A data file breaks the library's schema; the message names the file and field."""


@dataclass(frozen=True)
class Role:
    name: str
    does: str


@dataclass(frozen=True)
class ExerciseData:
    key: str
    practice: str
    title: str
    summary: str
    why: str
    when: str
    minutes: int
    setting: str
    who: str
    format: str
    tracking: str
    sensitive: tuple[str, ...]
    # A string is a step the couple reads; {"therapist": "..."} a step for the therapist only.
    steps: tuple[str | dict[str, str], ...]
    roles: tuple[Role, ...]
    stop_safely: str
    prompts: tuple[str, ...]
    cautions: tuple[str, ...]
    # Keys of exercises a couple should have done first (a pause plan, say).
    requires: tuple[str, ...] = ()
    # Where the idea comes from, for the therapist; never printed for couples.
    lineage: str = ""
    # Whole replacement step lists: living apart, said aloud, in a session over video.
    apart_steps: tuple[str | dict[str, str], ...] = ()
    aloud_steps: tuple[str | dict[str, str], ...] = ()
    video_steps: tuple[str | dict[str, str], ...] = ()

    def variants(self) -> dict[str, tuple[str | dict[str, str], ...]]:
        """The step versions this exercise has besides the usual, by variant name."""
        found = {name: getattr(self, attr) for name, attr in VARIANT_FIELDS.items()}
        return {name: steps for name, steps in found.items() if steps}

    def couple_text(self) -> list[str]:
        """Everything the couple reads (cautions and lineage are for the therapist only)."""
        return [
            self.title,
            self.summary,
            self.why,
            self.when,
            *(scaled(step) for step in couple_steps(list(self.steps))),
            *(scaled(role.does) for role in self.roles),
            self.stop_safely,
            *self.prompts,
            *(scaled(s) for steps in self.variants().values() for s in couple_steps(list(steps))),
        ]

    def therapist_text(self) -> list[str]:
        """The steps only the therapist sees."""
        return [
            *therapist_steps(list(self.steps)),
            *(s for steps in self.variants().values() for s in therapist_steps(list(steps))),
        ]

    def digest(self) -> str:
        """A stable hash of the source data, to notice when a built-in changed."""
        fields = asdict(self)
        # Fields added later count only when set, so adding one changes no existing digest.
        for name in ("requires", "lineage", *VARIANT_FIELDS.values()):
            if not fields[name]:
                del fields[name]
        encoded = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class QuestionData:
    """A 0-10 check-in question about a practice, with a stable key kept with each answer.

    A question whose wording changes gets a new key; the old one moves to
    `earlier_questions` with the day it was last asked (`until`), so old answers stay
    under the question they answered and are never joined to the new ones unannounced.
    """

    key: str
    text: str
    label: str = ""  # "Thanks": names it beside the practice when a practice asks two
    # An answer other than a number ("We didn't disagree this week"), and since when.
    none_answer: str = ""
    none_answer_since: date | None = None
    until: date | None = None  # earlier questions: the last day it was asked
    split_into: tuple[str, ...] = ()  # earlier questions: the keys that replaced it


@dataclass(frozen=True)
class PracticeData:
    slug: str
    kind: str
    name: str
    idea: str
    order: int
    exercises: tuple[ExerciseData, ...] = field(default_factory=tuple)
    # The 0-10 check-in question about this practice; situations have none.
    question: str = ""
    # Every question asked now (the first is `question`), and those asked before.
    questions: tuple[QuestionData, ...] = ()
    earlier_questions: tuple[QuestionData, ...] = ()


def _text(raw: dict[str, Any], name: str, where: str, *, limit: int, optional: bool = False) -> str:
    value = raw.get(name, "" if optional else None)
    if not isinstance(value, str) or (not optional and not value.strip()):
        raise LibraryDataError(f"{where}: '{name}' must be non-empty text")
    if len(value) > limit:
        raise LibraryDataError(f"{where}: '{name}' is longer than {limit} characters")
    return value.strip()


def _texts(raw: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = raw.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LibraryDataError(f"{where}: '{name}' must be a list of non-empty texts")
    return tuple(v.strip() for v in value)


def _steps(
    raw: dict[str, Any], where: str, name: str = "steps"
) -> tuple[str | dict[str, str], ...]:
    """Steps (or a variant's): each a non-empty text, or `{ therapist = "..." }`."""
    value = raw.get(name, [])
    if not isinstance(value, list):
        raise LibraryDataError(f"{where}: '{name}' must be a list")
    steps: list[str | dict[str, str]] = []
    for step in value:
        if isinstance(step, str) and step.strip():
            if step.startswith(THERAPIST_PREFIX):
                raise LibraryDataError(
                    f'{where}: write a therapist step as {{ therapist = "..." }}, '
                    "not as text starting 'Therapist:' (that would print for the couple)"
                )
            steps.append(step.strip())
        elif (
            isinstance(step, dict)
            and set(step) == {THERAPIST}
            and isinstance(step[THERAPIST], str)
            and step[THERAPIST].strip()
        ):
            steps.append({THERAPIST: step[THERAPIST].strip()})
        else:
            raise LibraryDataError(
                f"{where}: each step in '{name}' must be non-empty text or "
                '{ therapist = "..." }'
            )
    for text in (s if isinstance(s, str) else s[THERAPIST] for s in steps):
        for match in TIMING.finditer(text):
            if not 0 < int(match.group(1)) <= 240:
                raise LibraryDataError(f"{where}: a timing {{m:N}} needs N from 1 to 240")
    return tuple(steps)


def _choice(raw: dict[str, Any], name: str, where: str, allowed: type[StrEnum]) -> str:
    value = raw.get(name)
    values = [member.value for member in allowed]
    if value not in values:
        raise LibraryDataError(f"{where}: '{name}' must be one of {values}, not {value!r}")
    return str(value)


def parse_exercise(raw: dict[str, Any], practice: str, where: str) -> ExerciseData:
    """Validate one exercise table from a data file."""
    key = _text(raw, "key", where, limit=80)
    where = f"{where} [{key}]"
    if not key.startswith(practice + "-"):
        raise LibraryDataError(f"{where}: key must start with '{practice}-'")
    minutes = raw.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 240:
        raise LibraryDataError(f"{where}: 'minutes' must be a whole number from 1 to 240")
    sensitive = _texts(raw, "sensitive", where)
    if any(kind not in SENSITIVE_KINDS for kind in sensitive):
        raise LibraryDataError(f"{where}: 'sensitive' may only hold {SENSITIVE_KINDS}")
    if practice in SENSITIVE_PRACTICES and SENSITIVE_PRACTICES[practice] not in sensitive:
        raise LibraryDataError(f"{where}: every {practice} exercise is sensitive: {practice}")
    steps = _steps(raw, where)
    if len(couple_steps(list(steps))) < MIN_STEPS:
        raise LibraryDataError(f"{where}: at least {MIN_STEPS} steps are needed")
    prompts = _texts(raw, "prompts", where)
    if not MIN_PROMPTS <= len(prompts) <= MAX_PROMPTS:
        raise LibraryDataError(f"{where}: {MIN_PROMPTS} to {MAX_PROMPTS} prompts are needed")
    roles_raw = raw.get("roles", [])
    if not isinstance(roles_raw, list):
        raise LibraryDataError(f"{where}: 'roles' must be a list")
    roles = tuple(
        Role(_text(r, "name", where, limit=40), _text(r, "does", where, limit=300))
        for r in roles_raw
    )
    stop_safely = _text(raw, "stop_safely", where, limit=600, optional=True)
    cautions = _texts(raw, "cautions", where)
    if sensitive and not (stop_safely and cautions):
        raise LibraryDataError(f"{where}: sensitive exercises need stop_safely and cautions")
    variants = {attr: _steps(raw, where, attr) for attr in VARIANT_FIELDS.values()}
    for attr, variant in variants.items():
        if attr in raw and len(couple_steps(list(variant))) < MIN_STEPS:
            raise LibraryDataError(f"{where}: '{attr}' needs at least {MIN_STEPS} steps")
    exercise = ExerciseData(
        key=key,
        practice=practice,
        title=_text(raw, "title", where, limit=120),
        summary=_text(raw, "summary", where, limit=400),
        why=_text(raw, "why", where, limit=2000),
        when=_text(raw, "when", where, limit=300),
        minutes=minutes,
        setting=_choice(raw, "setting", where, Setting),
        who=_choice(raw, "who", where, Who),
        format=_choice(raw, "format", where, Format),
        tracking=_choice(raw, "tracking", where, Tracking),
        sensitive=sensitive,
        steps=steps,
        roles=roles,
        stop_safely=stop_safely,
        prompts=prompts,
        cautions=cautions,
        requires=_texts(raw, "requires", where),
        lineage=_text(raw, "lineage", where, limit=400, optional=True),
        apart_steps=variants["apart_steps"],
        aloud_steps=variants["aloud_steps"],
        video_steps=variants["video_steps"],
    )
    if exercise.format == Format.PSYCHOEDUCATION.value:
        if exercise.tracking == Tracking.DAILY.value or exercise.variants():
            raise LibraryDataError(f"{where}: a psychoeducation page has no daily grid or variants")
        if sum(len(text) for text in exercise.couple_text()) > PSYCHOEDUCATION_MAX_CHARS:
            raise LibraryDataError(
                f"{where}: a psychoeducation page must fit one page "
                f"(at most {PSYCHOEDUCATION_MAX_CHARS} characters of couple text)"
            )
    return exercise


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LibraryDataError(f"{path.name}: not valid TOML: {exc}") from exc


QUESTION_KEYS = {"key", "text", "label", "until", "split_into"}


def _questions(
    raw: dict[str, Any], slug: str, question: str, where: str
) -> tuple[tuple[QuestionData, ...], tuple[QuestionData, ...]]:
    """The practice's current check-in questions and the earlier ones."""
    if not question:
        return (), ()
    since = raw.get("none_answer_since")
    none_answer = _text(raw, "none_answer", where, limit=80, optional=True)
    if none_answer and not isinstance(since, date):
        raise LibraryDataError(f"{where}: 'none_answer' needs 'none_answer_since' (a date)")
    first = QuestionData(
        key=_text(raw, "question_key", where, limit=60, optional=True) or slug,
        text=question,
        label=_text(raw, "question_label", where, limit=40, optional=True),
        none_answer=none_answer,
        none_answer_since=since if none_answer else None,
    )

    def parse(entries: Any, name: str, earlier: bool) -> list[QuestionData]:
        if not isinstance(entries, list):
            raise LibraryDataError(f"{where}: '{name}' must be a list of tables")
        found = []
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) - QUESTION_KEYS:
                raise LibraryDataError(f"{where}: each of '{name}' takes {sorted(QUESTION_KEYS)}")
            until = entry.get("until")
            if earlier != isinstance(until, date):
                raise LibraryDataError(f"{where}: only earlier questions have 'until' (a date)")
            text = _text(entry, "text", where, limit=200)
            if not text.endswith("?"):
                raise LibraryDataError(f"{where}: a check-in question ends with '?'")
            found.append(
                QuestionData(
                    key=_text(entry, "key", where, limit=60),
                    text=text,
                    label=_text(entry, "label", where, limit=40, optional=True),
                    until=until if earlier else None,
                    split_into=_texts(entry, "split_into", where) if earlier else (),
                )
            )
        return found

    current = (first, *parse(raw.get("more_questions", []), "more_questions", False))
    earlier = tuple(parse(raw.get("earlier_questions", []), "earlier_questions", True))
    keys = [q.key for q in (*current, *earlier)]
    if len(set(keys)) != len(keys) or not all(k == slug or k.startswith(slug + "-") for k in keys):
        raise LibraryDataError(f"{where}: question keys must be unique and start with '{slug}'")
    if len(current) > 1 and not all(q.label for q in current):
        raise LibraryDataError(f"{where}: when a practice asks two questions, label each")
    return current, earlier


def parse_more(path: Path) -> tuple[str, tuple[ExerciseData, ...]]:
    """A file of more exercises for a practice defined elsewhere (`extends = "<slug>"`)."""
    where = path.name
    raw = _read(path)
    slug = _text(raw, "extends", where, limit=40)
    if not path.stem.startswith(slug + "."):
        raise LibraryDataError(f"{where}: a file extending '{slug}' must be named '{slug}.*.toml'")
    if set(raw) - {"extends", "exercises"}:
        raise LibraryDataError(f"{where}: only 'extends' and exercises belong in this file")
    exercises = raw.get("exercises", [])
    if not isinstance(exercises, list) or not exercises:
        raise LibraryDataError(f"{where}: no exercises")
    return slug, tuple(parse_exercise(e, slug, where) for e in exercises)


def parse_file(path: Path) -> PracticeData:
    """Validate one practice or situation file and its exercises."""
    where = path.name
    raw = _read(path)
    slug = _text(raw, "slug", where, limit=40)
    if slug != path.stem:
        raise LibraryDataError(f"{where}: slug must match the file name")
    order = raw.get("order")
    if not isinstance(order, int):
        raise LibraryDataError(f"{where}: 'order' must be a whole number")
    exercises = raw.get("exercises", [])
    if not isinstance(exercises, list) or not exercises:
        raise LibraryDataError(f"{where}: no exercises")
    kind = _choice(raw, "kind", where, PracticeKind)
    parsed = tuple(parse_exercise(e, slug, where) for e in exercises)
    is_practice = kind == PracticeKind.PRACTICE.value
    question = _text(raw, "question", where, limit=200, optional=not is_practice)
    if question and not is_practice:
        raise LibraryDataError(f"{where}: only practices have a check-in question")
    questions, earlier = _questions(raw, slug, question, where)
    return PracticeData(
        slug=slug,
        kind=kind,
        question=question,
        name=_text(raw, "name", where, limit=80),
        idea=_text(raw, "idea", where, limit=120),
        order=order,
        exercises=parsed,
        questions=questions,
        earlier_questions=earlier,
    )


@cache
def load(data_dir: Path = DATA_DIR) -> tuple[PracticeData, ...]:
    """Every practice and situation, practices first, each in display order."""
    paths = sorted(data_dir.glob("*.toml"))
    practices = tuple(parse_file(path) for path in paths if "." not in path.stem)
    by_slug = {p.slug: p for p in practices}
    for path in paths:
        if "." in path.stem:
            slug, more = parse_more(path)
            if slug not in by_slug:
                raise LibraryDataError(f"{path.name}: no practice or situation '{slug}'")
            by_slug[slug] = replace(by_slug[slug], exercises=by_slug[slug].exercises + more)
    practices = tuple(by_slug.values())
    keys = [e.key for p in practices for e in p.exercises]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise LibraryDataError(f"exercise keys used twice: {sorted(duplicates)}")
    unknown = {r for p in practices for e in p.exercises for r in e.requires} - set(keys)
    if unknown:
        raise LibraryDataError(f"'requires' names exercises that do not exist: {sorted(unknown)}")
    kind_order = {PracticeKind.PRACTICE.value: 0, PracticeKind.SITUATION.value: 1}
    return tuple(sorted(practices, key=lambda p: (kind_order[p.kind], p.order)))
