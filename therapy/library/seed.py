"""Loading the built-in library into the database, idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from therapy.extensions import db
from therapy.library import catalog
from therapy.library.catalog import ExerciseData
from therapy.library.steps import parse, scaled
from therapy.models import Exercise, Practice, PracticeKind, utcnow


@dataclass
class SeedReport:
    practices: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0

    def __str__(self) -> str:
        return (
            f"{self.practices} practices and situations; exercises: {self.created} created, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.retired} retired"
        )


def search_fields(title: str, summary: str, steps: list[Any]) -> tuple[str, str]:
    """The case-folded text search looks in: the title, and title + summary + steps (the
    therapist's steps too: only therapists search), timings as at the exercise's length."""
    texts = [scaled(step.text) for step in parse(steps)]
    return title.casefold(), "\n".join([title, summary, *texts]).casefold()


def apply_builtin(exercise: Exercise, data: ExerciseData, practice: Practice) -> None:
    """Copy a built-in's data file content onto its row."""
    exercise.practice = practice
    exercise.title = data.title
    exercise.summary = data.summary
    exercise.why = data.why
    exercise.timing = data.when
    exercise.minutes = data.minutes
    exercise.setting = data.setting
    exercise.who = data.who
    exercise.format = data.format
    exercise.tracking = data.tracking
    exercise.involves_conflict = "conflict" in data.sensitive
    exercise.involves_vulnerability = "vulnerability" in data.sensitive
    exercise.sensitive = list(data.sensitive)
    exercise.requires = list(data.requires)
    exercise.steps = list(data.steps)
    exercise.roles = [{"name": r.name, "does": r.does} for r in data.roles]
    exercise.stop_safely = data.stop_safely
    exercise.prompts = list(data.prompts)
    exercise.cautions = list(data.cautions)
    exercise.lineage = data.lineage
    exercise.apart_steps = list(data.apart_steps)
    exercise.aloud_steps = list(data.aloud_steps)
    exercise.video_steps = list(data.video_steps)
    exercise.search_title, exercise.search_text = search_fields(
        data.title, data.summary, list(data.steps)
    )
    exercise.source_hash = data.digest()
    exercise.archived_at = None


def seed_library() -> SeedReport:
    """Create or update practices and built-in exercises; custom exercises are never touched."""
    report = SeedReport()
    practices = {p.slug: p for p in db.session.scalars(select(Practice))}
    builtins = {
        e.key: e for e in db.session.scalars(select(Exercise).where(Exercise.owner_id.is_(None)))
    }
    seen: set[str] = set()
    for data in catalog.load():
        practice = practices.get(data.slug) or Practice(slug=data.slug)
        practice.kind = data.kind
        practice.name = data.name
        practice.idea = data.idea
        practice.question = data.question or None
        offset = 0 if data.kind == PracticeKind.PRACTICE.value else 100
        practice.position = offset + data.order
        db.session.add(practice)
        report.practices += 1
        for item in data.exercises:
            seen.add(item.key)
            exercise = builtins.get(item.key)
            if exercise is None:
                exercise = Exercise(key=item.key)
                apply_builtin(exercise, item, practice)
                db.session.add(exercise)
                report.created += 1
            elif exercise.source_hash != item.digest() or exercise.archived_at is not None:
                # The version column bumps on this update (SQLAlchemy's version counter).
                apply_builtin(exercise, item, practice)
                report.updated += 1
            else:
                report.unchanged += 1
    for key, exercise in builtins.items():
        # A built-in dropped from the data stays for plans that used it, but leaves the library.
        if key not in seen and exercise.archived_at is None:
            exercise.archived_at = utcnow()
            report.retired += 1
    db.session.commit()
    return report
