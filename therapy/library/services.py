"""Finding, reading, copying and editing exercises; favourites."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import abort, g
from flask_login import current_user
from sqlalchemy import Select, and_, case, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from therapy import audit
from therapy.extensions import db
from therapy.library.seed import search_fields
from therapy.models import Exercise, ExerciseStar, Practice, Setting, utcnow
from therapy.parsing import valid_id

MAX_TERMS = 8
# Common English endings, trimmed so "listening" finds "listen" and "fights" finds "fight".
SUFFIXES = ("ing", "ies", "es", "ed", "s")
MINUTE_CHOICES = (10, 20, 30, 60)


@dataclass
class LibraryQuery:
    """What the therapist asked the library for."""

    text: str = ""
    practice: str = ""
    max_minutes: int | None = None
    setting: str = ""
    who: str = ""
    starred_only: bool = False
    starred_first: bool = False
    archived: bool = False
    terms: list[str] = field(default_factory=list)


def search_terms(text: str) -> list[str]:
    """Case-folded words of a query, with common endings trimmed."""
    words = re.findall(r"\w+", text.casefold())[:MAX_TERMS]
    terms = []
    for word in words:
        for suffix in SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        terms.append(word)
    return terms


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def visible_to_me() -> Any:
    """Built-ins, and the signed-in therapist's own custom exercises."""
    return or_(Exercise.owner_id.is_(None), Exercise.owner_id == current_user.id)


def list_options() -> list[Any]:
    """Lists show title, summary and facts: leave the long text and JSON columns unloaded."""
    return [
        defer(column)
        for column in (
            Exercise.why,
            Exercise.timing,
            Exercise.steps,
            Exercise.roles,
            Exercise.stop_safely,
            Exercise.prompts,
            Exercise.cautions,
            Exercise.lineage,
            Exercise.apart_steps,
            Exercise.aloud_steps,
            Exercise.video_steps,
            Exercise.search_title,
            Exercise.search_text,
        )
    ]


def library_statement(query: LibraryQuery) -> Select[Any]:
    """Exercises matching the query, best first: title matches, then by practice and title."""
    stmt = select(Exercise).join(Exercise.practice).where(visible_to_me()).options(*list_options())
    if query.archived:
        stmt = stmt.where(Exercise.archived_at.is_not(None), Exercise.owner_id == current_user.id)
    else:
        stmt = stmt.where(Exercise.archived_at.is_(None))
    if query.practice:
        stmt = stmt.where(Practice.slug == query.practice)
    if query.max_minutes:
        stmt = stmt.where(Exercise.minutes <= query.max_minutes)
    if query.setting in (Setting.IN_SESSION.value, Setting.HOMEWORK.value):
        # An exercise for either setting suits both.
        stmt = stmt.where(Exercise.setting.in_([query.setting, Setting.EITHER.value]))
    if query.who:
        stmt = stmt.where(Exercise.who == query.who)
    if query.starred_only:
        stmt = stmt.where(
            Exercise.id.in_(
                select(ExerciseStar.exercise_id).where(ExerciseStar.user_id == current_user.id)
            )
        )
    query.terms = search_terms(query.text)
    order: list[Any] = []
    if query.starred_first:
        starred = select(ExerciseStar.exercise_id).where(ExerciseStar.user_id == current_user.id)
        order.append(case((Exercise.id.in_(starred), 0), else_=1))
    if query.terms:
        patterns = [_like(term) for term in query.terms]
        stmt = stmt.where(*(Exercise.search_text.like(p, escape="\\") for p in patterns))
        in_title = [Exercise.search_title.like(p, escape="\\") for p in patterns]
        order.append(case((and_(*in_title), 0), (or_(*in_title), 1), else_=2))
    order += [Practice.position, Exercise.owner_id.is_not(None), Exercise.title, Exercise.id]
    return stmt.order_by(*order)


def practices() -> list[Practice]:
    """The nine practices and five situations in display order (loaded once a request)."""
    if "practices" not in g:
        g.practices = list(db.session.scalars(select(Practice).order_by(Practice.position)))
    return list(g.practices)


def starred_ids(exercise_ids: list[int]) -> set[int]:
    """Which of these exercises the signed-in therapist has starred (one query)."""
    if not exercise_ids:
        return set()
    return set(
        db.session.scalars(
            select(ExerciseStar.exercise_id).where(
                ExerciseStar.user_id == current_user.id,
                ExerciseStar.exercise_id.in_(exercise_ids),
            )
        )
    )


def get_exercise_or_404(exercise_id: int) -> Exercise:
    """A built-in, or one of the signed-in therapist's own; anyone else's is a 404."""
    exercise = (
        db.session.scalar(select(Exercise).where(Exercise.id == exercise_id, visible_to_me()))
        if valid_id(exercise_id)
        else None
    )
    if exercise is None:
        abort(404)
    return exercise


def get_custom_exercise_or_404(exercise_id: int) -> Exercise:
    """One of the signed-in therapist's own exercises, for editing."""
    exercise = get_exercise_or_404(exercise_id)
    if exercise.owner_id != current_user.id:
        abort(404)
    return exercise


def prerequisites(exercise: Exercise) -> list[Exercise]:
    """The built-in exercises this one requires first, in the order its data names them."""
    keys = list(exercise.requires or [])
    if not keys:
        return []
    found = {e.key: e for e in db.session.scalars(select(Exercise).where(Exercise.key.in_(keys)))}
    return [found[key] for key in keys if key in found]


def is_starred(exercise: Exercise) -> bool:
    return bool(starred_ids([exercise.id]))


def set_star(exercise: Exercise, starred: bool) -> None:
    if starred:
        db.session.add(ExerciseStar(user_id=current_user.id, exercise_id=exercise.id))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # Already starred, e.g. from another tab.
    else:
        db.session.execute(
            delete(ExerciseStar).where(
                ExerciseStar.user_id == current_user.id, ExerciseStar.exercise_id == exercise.id
            )
        )
        db.session.commit()


@dataclass
class ExerciseContent:
    """The editable parts of a custom exercise, as the form gives them."""

    practice_id: int
    title: str
    summary: str
    why: str
    timing: str
    minutes: int
    setting: str
    who: str
    format: str
    tracking: str
    involves_conflict: bool
    involves_vulnerability: bool
    steps: list[Any]  # strings, and {"therapist": ...} for the therapist's own steps
    roles: list[dict[str, str]]
    stop_safely: str
    prompts: list[str]
    cautions: list[str]
    lineage: str = ""
    apart_steps: list[Any] = field(default_factory=list)
    aloud_steps: list[Any] = field(default_factory=list)
    video_steps: list[Any] = field(default_factory=list)
    # Risk tags (catalog.SENSITIVE_KINDS) and prerequisites, as on built-ins.
    sensitive: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)


def content_of(exercise: Exercise) -> ExerciseContent:
    return ExerciseContent(
        practice_id=exercise.practice_id,
        title=exercise.title,
        summary=exercise.summary,
        why=exercise.why,
        timing=exercise.timing,
        minutes=exercise.minutes,
        setting=exercise.setting,
        who=exercise.who,
        format=exercise.format,
        tracking=exercise.tracking,
        involves_conflict=exercise.involves_conflict,
        involves_vulnerability=exercise.involves_vulnerability,
        steps=list(exercise.steps),
        roles=[dict(role) for role in exercise.roles],
        stop_safely=exercise.stop_safely,
        prompts=list(exercise.prompts),
        cautions=list(exercise.cautions),
        lineage=exercise.lineage,
        apart_steps=list(exercise.apart_steps),
        aloud_steps=list(exercise.aloud_steps),
        video_steps=list(exercise.video_steps),
        sensitive=list(exercise.sensitive or []),
        requires=list(exercise.requires or []),
    )


def _apply(exercise: Exercise, content: ExerciseContent) -> None:
    for name, value in vars(content).items():
        setattr(exercise, name, value)
    exercise.search_title, exercise.search_text = search_fields(
        content.title, content.summary, content.steps
    )


def create_custom(content: ExerciseContent, copied_from: Exercise | None = None) -> Exercise:
    """A new exercise owned by, and private to, the signed-in therapist."""
    exercise = Exercise(owner_id=current_user.id, copied_from_id=copied_from and copied_from.id)
    _apply(exercise, content)
    db.session.add(exercise)
    db.session.flush()
    audit.record("exercise.create", record_type="exercise", record_id=exercise.id)
    db.session.commit()
    return exercise


def copy_exercise(source: Exercise) -> Exercise:
    """The therapist's own editable copy of any exercise they can see."""
    content = content_of(source)
    content.title = f"{source.title} (my version)"[:120]
    return create_custom(content, copied_from=source)


def update_custom(exercise: Exercise, content: ExerciseContent) -> None:
    _apply(exercise, content)
    audit.record("exercise.edit", record_type="exercise", record_id=exercise.id)
    db.session.commit()


def set_archived(exercise: Exercise, archived: bool) -> None:
    exercise.archived_at = utcnow() if archived else None
    action = "exercise.archive" if archived else "exercise.restore"
    audit.record(action, record_type="exercise", record_id=exercise.id)
    db.session.commit()
