"""Sessions and their plans: loading (scoped), creating, changing, snapshots, homework."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort
from sqlalchemy import func, select

from therapy import audit
from therapy.couples.services import get_couple_or_404
from therapy.extensions import db
from therapy.models import (
    Couple,
    Exercise,
    PlanItem,
    Practice,
    SessionStatus,
    TherapySession,
    utcnow,
)

MAX_ID = 2**31 - 1
MAX_ITEMS = 40


def get_session_or_404(session_id: int) -> TherapySession:
    """A session of one of the signed-in therapist's couples; 404 for anything else.

    Ownership is checked by the couples' scoped loader, the one place that decides it.
    """
    if not 0 < session_id <= MAX_ID:
        abort(404)
    session = db.session.get(TherapySession, session_id)
    if session is None:
        abort(404)
    get_couple_or_404(session.couple_id)
    return session


def snapshot_of(exercise: Exercise) -> dict[str, Any]:
    """The exercise's text as planned: what its handout will say, whatever happens later."""
    practice = exercise.practice
    return {
        "exercise_id": exercise.id,
        "exercise_version": exercise.version,
        "key": exercise.key,
        "title": exercise.title,
        "summary": exercise.summary,
        "why": exercise.why,
        "timing": exercise.timing,
        "minutes": exercise.minutes,
        "setting": exercise.setting,
        "who": exercise.who,
        "format": exercise.format,
        "tracking": exercise.tracking,
        "involves_conflict": exercise.involves_conflict,
        "involves_vulnerability": exercise.involves_vulnerability,
        "steps": list(exercise.steps),
        "roles": [dict(role) for role in exercise.roles],
        "stop_safely": exercise.stop_safely,
        "prompts": list(exercise.prompts),
        "cautions": list(exercise.cautions),
        "practice_slug": practice.slug,
        "practice_name": practice.name,
        "practice_idea": practice.idea,
    }


def next_number(couple: Couple) -> int:
    highest = db.session.scalar(
        select(func.max(TherapySession.number)).where(TherapySession.couple_id == couple.id)
    )
    return (highest or 0) + 1


def create_session(
    couple: Couple,
    *,
    starts_at: datetime | None,
    minutes: int | None = None,
    focus: list[Practice] | None = None,
    status: str = SessionStatus.PLANNED.value,
) -> TherapySession:
    """A new, numbered session for the couple, its length the couple's default."""
    session = TherapySession(
        couple_id=couple.id,
        number=next_number(couple),
        starts_at=starts_at,
        minutes=minutes or couple.default_session_minutes,
        status=status,
    )
    session.focus = list(focus or [])
    db.session.add(session)
    db.session.flush()
    audit.record("session.create", record_type="session", record_id=session.id)
    db.session.commit()
    return session


def add_item(
    session: TherapySession,
    exercise: Exercise,
    *,
    minutes: int | None = None,
    homework: bool | None = None,
    note: str = "",
) -> PlanItem:
    """Append an exercise to the plan, snapshotting its text now."""
    if len(session.items) >= MAX_ITEMS:
        raise ValueError(f"A plan holds at most {MAX_ITEMS} exercises.")
    item = PlanItem(
        position=len(session.items),
        exercise_id=exercise.id,
        minutes=minutes or exercise.minutes,
        homework=exercise.setting == "homework" if homework is None else homework,
        note=note,
        snapshot=snapshot_of(exercise),
    )
    session.items.append(item)
    return item


def renumber(session: TherapySession) -> None:
    """Positions 0..n-1 in the current order of the items list."""
    for position, item in enumerate(session.items):
        item.position = position


def touch(session: TherapySession) -> None:
    """Record a change to the session or its plan; the row's version goes up on flush."""
    session.updated_at = utcnow()


@dataclass(frozen=True)
class Assignment:
    """Homework the couple took home from their last held session."""

    item_id: int
    title: str
    tracking: str
    session_number: int


def current_assignments(couple: Couple) -> list[Assignment]:
    """Homework from the couple's most recent held session: theirs until the next one."""
    last_held = db.session.scalar(
        select(TherapySession)
        .where(
            TherapySession.couple_id == couple.id,
            TherapySession.status == SessionStatus.HELD.value,
        )
        .order_by(TherapySession.starts_at.desc().nulls_last(), TherapySession.number.desc())
        .limit(1)
    )
    if last_held is None:
        return []
    return [
        Assignment(
            item.id, item.title, str(item.snapshot.get("tracking", "none")), last_held.number
        )
        for item in last_held.homework
    ]


def mark_held(session: TherapySession, *, happened: str, follow_up: str) -> None:
    """Record the notes after the session and mark it held."""
    session.notes_happened = happened
    session.notes_follow_up = follow_up
    session.status = SessionStatus.HELD.value
    session.held_at = utcnow()
    audit.record("session.held", record_type="session", record_id=session.id)
    db.session.commit()
