"""Sessions and their plans: loading (scoped), creating, changing, snapshots, homework."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

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
from therapy.parsing import parse_id, parse_int, parse_signed_int, valid_id

MAX_ITEMS = 40


def get_session_or_404(session_id: int) -> TherapySession:
    """A session of one of the signed-in therapist's couples; 404 for anything else.

    Ownership is checked by the couples' scoped loader, the one place that decides it.
    """
    if not valid_id(session_id):
        abort(404)
    session = db.session.get(TherapySession, session_id)
    if session is None:
        abort(404)
    # The couple the scoped loader found becomes `session.couple`, with no second query.
    set_committed_value(session, "couple", get_couple_or_404(session.couple_id))
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


# --- the plan builder --------------------------------------------------------------------


class PlanError(ValueError):
    """A plan change that cannot be made; nothing was changed."""


@dataclass
class ItemEdit:
    """What the plan form says about one item."""

    minutes: str
    homework: bool
    note: str


@dataclass
class PlanChange:
    """A whole plan form: the order of item ids, each item's fields, and the action."""

    version: str
    order: list[int]
    edits: dict[int, ItemEdit]
    move: tuple[int, int] | None = None  # (item id, new 0-based position)
    remove: int | None = None


@dataclass
class PlanResult:
    merged: bool = False  # another tab had changed the plan; both changes were kept
    dropped: int = 0  # edits to items another tab had removed
    errors: dict[int, str] | None = None


NOTE_MAX = 2000


def parse_plan_form(form: Any) -> PlanChange:
    """Read the plan form; ids that are not numbers are dropped, not trusted."""
    order = [i for i in (parse_id(raw) for raw in form.getlist("order")) if i is not None]
    edits = {
        item_id: ItemEdit(
            minutes=form.get(f"item-{item_id}-minutes", ""),
            homework=form.get(f"item-{item_id}-homework") == "y",
            note=form.get(f"item-{item_id}-note", ""),
        )
        for item_id in order
    }
    change = PlanChange(version=form.get("version", ""), order=order, edits=edits)
    move = form.get("move", "")
    if move:
        item_raw, _, position_raw = move.partition(":")
        item_id = parse_id(item_raw)
        position = parse_signed_int(position_raw, bound=10_000)
        if item_id is None or position is None:
            raise PlanError("That move was not understood; nothing was changed.")
        change.move = (item_id, position)
    remove = form.get("remove", "")
    if remove:
        change.remove = parse_id(remove)
        if change.remove is None:
            raise PlanError("That exercise was not understood; nothing was changed.")
    return change


def _validate_edits(change: PlanChange) -> dict[int, str]:
    errors: dict[int, str] = {}
    from therapy.forms import CONTROL_CHARACTERS

    for item_id, edit in change.edits.items():
        minutes = parse_int(edit.minutes)
        if minutes is None or not 1 <= minutes <= 240:
            errors[item_id] = "Give the minutes as a whole number from 1 to 240."
        elif len(edit.note) > NOTE_MAX:
            errors[item_id] = f"Keep the note under {NOTE_MAX} characters."
        elif CONTROL_CHARACTERS.search(edit.note):
            errors[item_id] = "Remove the invisible control characters from the note."
    return errors


def apply_plan_change(session: TherapySession, change: PlanChange) -> PlanResult:
    """Save the plan form. A stale version merges instead of overwriting: no item is lost."""
    result = PlanResult()
    errors = _validate_edits(change)
    if errors:
        result.errors = errors
        return result
    items = {item.id: item for item in session.items}
    if change.remove is not None and change.remove not in items:
        raise PlanError("That exercise is no longer in this plan.")
    result.merged = change.version != str(session.version)
    # The order as posted, for items that still exist; items another tab added keep
    # their place at the end rather than disappearing.
    seen: list[int] = []
    for item_id in change.order:
        if item_id in items and item_id not in seen:
            seen.append(item_id)
        elif item_id not in items:
            result.dropped += 1
    ordered = [items[i] for i in seen] + [item for item in session.items if item.id not in seen]
    if change.move is not None:
        item_id, position = change.move
        if item_id not in items:
            raise PlanError("That exercise is no longer in this plan.")
        if not 0 <= position < len(ordered):
            raise PlanError(
                f"Position {position + 1} is outside this plan (1 to {len(ordered)}); "
                "nothing was changed."
            )
        moving = items[item_id]
        ordered.remove(moving)
        ordered.insert(position, moving)
    for item_id, edit in change.edits.items():
        item = items.get(item_id)
        if item is not None:
            item.minutes = int(edit.minutes.strip())
            item.homework = edit.homework
            item.note = edit.note.strip()
    if change.remove is not None:
        gone = items[change.remove]
        ordered.remove(gone)
        session.items.remove(gone)
    session.items[:] = ordered
    renumber(session)
    touch(session)
    audit.record("session.plan", record_type="session", record_id=session.id)
    db.session.commit()
    return result


# --- adding exercises, and what to warn about ------------------------------------------

# Risk topics named in exercise cautions and in a couple's record; a match earns a warning.
RISK_TOPICS: dict[str, tuple[str, ...]] = {
    "violence or coercion": (
        "violence",
        "violent",
        "abuse",
        "coerc",
        "threat",
        "afraid",
        "fear of",
        "control",
    ),
    "an affair": ("affair", "infidel", "cheat", "unfaithful"),
    "substance use": ("substance", "alcohol", "drinking", "drug", "addiction"),
    "a partner planning to leave": (
        "leave the relationship",
        "planning to leave",
        "separat",
        "divorc",
        "ending the relationship",
    ),
    "trauma": ("trauma",),
}


@dataclass(frozen=True)
class SafetyWarning:
    """Why the therapist should pause before adding this exercise."""

    reasons: list[str]
    cautions: list[str]


def _topics(text: str) -> set[str]:
    folded = text.casefold()
    return {topic for topic, words in RISK_TOPICS.items() if any(w in folded for w in words)}


def safety_warning(couple: Couple, exercise: Exercise) -> SafetyWarning | None:
    """A warning when the couple's safety flag or record meets what the exercise cautions."""
    reasons = []
    kinds = [
        k
        for k, on in (
            ("conflict work", exercise.involves_conflict),
            ("sharing vulnerabilities", exercise.involves_vulnerability),
        )
        if on
    ]
    if couple.safety_flag and kinds:
        reasons.append(
            f"This couple has a safety flag ({couple.safety_reason or 'no reason recorded'}), "
            f"and this exercise involves {' and '.join(kinds)}."
        )
    record = " ".join(
        [
            couple.presenting_concerns or "",
            couple.safety_reason or "",
            *(tag.name for tag in couple.tags),
        ]
    )
    shared = _topics(" ".join(exercise.cautions)) & _topics(record)
    for topic in sorted(shared):
        reasons.append(f"Its cautions mention {topic}, and so does this couple's record.")
    if not reasons:
        return None
    return SafetyWarning(reasons=reasons, cautions=list(exercise.cautions))


def recently_used_exercise_ids(
    couple: Couple, *, sessions: int = 3, exclude: TherapySession | None = None
) -> set[int]:
    """Exercises planned in the couple's last few sessions (by number)."""
    recent = (
        select(TherapySession.id)
        .where(
            TherapySession.couple_id == couple.id,
            TherapySession.status != SessionStatus.CANCELLED.value,
        )
        .order_by(TherapySession.number.desc())
        .limit(sessions)
    )
    if exclude is not None:
        recent = recent.where(TherapySession.id != exclude.id)
    rows = db.session.scalars(
        select(PlanItem.exercise_id).where(PlanItem.session_id.in_(recent.scalar_subquery()))
    )
    return {exercise_id for exercise_id in rows if exercise_id is not None}


def previous_session(session: TherapySession) -> TherapySession | None:
    """The couple's session numbered just before this one that has a plan, if any."""
    return db.session.scalar(
        select(TherapySession)
        .where(
            TherapySession.couple_id == session.couple_id,
            TherapySession.number < session.number,
            TherapySession.items.any(),
        )
        .order_by(TherapySession.number.desc())
        .limit(1)
    )


def has_previous_plan(session: TherapySession) -> bool:
    """Whether an earlier session of the couple has a plan to start from."""
    earlier = select(TherapySession.id).where(
        TherapySession.couple_id == session.couple_id,
        TherapySession.number < session.number,
        TherapySession.items.any(),
    )
    return bool(db.session.scalar(select(earlier.exists())))


def copy_plan(
    session: TherapySession, source_items: list[dict[str, Any]], exercises: dict[int, Exercise]
) -> int:
    """Append items described as plain dicts (from a template or an earlier plan)."""
    added = 0
    for spec in source_items:
        exercise = exercises.get(int(spec.get("exercise_id") or 0))
        if exercise is None or len(session.items) >= MAX_ITEMS:
            continue
        add_item(
            session,
            exercise,
            minutes=int(spec.get("minutes") or exercise.minutes),
            homework=bool(spec.get("homework")),
            note=str(spec.get("note") or ""),
        )
        added += 1
    touch(session)
    db.session.commit()
    return added


def plan_as_specs(session: TherapySession) -> list[dict[str, Any]]:
    return [
        {
            "exercise_id": item.exercise_id,
            "minutes": item.minutes,
            "homework": item.homework,
            "note": item.note,
        }
        for item in session.items
        if item.exercise_id is not None
    ]


# --- suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    exercise: Exercise
    reason: str


def practice_priorities(session: TherapySession, couple: Couple) -> list[tuple[Practice, str]]:
    """Practices to suggest from, most needed first, each with the reason shown.

    The couple's latest check-in decides: its lowest-rated practices first. Until the
    couple has checked in, the session's focus practices stand in.
    """
    from therapy.checkins.services import lowest_rated_practices

    rated = lowest_rated_practices(couple)
    if rated:
        return rated
    return [(practice, f"{practice.name}: a focus of this session") for practice in session.focus]


def suggestions(session: TherapySession, couple: Couple, *, limit: int = 6) -> list[Suggestion]:
    """Exercises from the practices that need it most, skipping those used lately."""
    priorities = practice_priorities(session, couple)
    if not priorities:
        return []
    used = recently_used_exercise_ids(couple, exclude=session) | {
        item.exercise_id for item in session.items if item.exercise_id is not None
    }
    rank = {practice.id: index for index, (practice, _) in enumerate(priorities)}
    reasons = {practice.id: reason for practice, reason in priorities}
    from therapy.library.services import list_options, visible_to_me

    # At most `limit` candidates per practice, chosen in the database.
    place = func.row_number().over(partition_by=Exercise.practice_id, order_by=Exercise.title)
    ranked = (
        select(Exercise.id, place.label("place"))
        .where(
            visible_to_me(),
            Exercise.archived_at.is_(None),
            Exercise.practice_id.in_(list(rank)),
            Exercise.id.not_in(used) if used else Exercise.id.is_not(None),
        )
        .subquery()
    )
    candidates = db.session.scalars(
        select(Exercise)
        .where(Exercise.id.in_(select(ranked.c.id).where(ranked.c.place <= limit)))
        .options(*list_options())
        .order_by(Exercise.title)
    ).all()
    # Round-robin over the practices, in priority order, so each gets a turn.
    by_practice: dict[int, list[Exercise]] = {}
    for exercise in candidates:
        by_practice.setdefault(exercise.practice_id, []).append(exercise)
    chosen: list[Suggestion] = []
    while len(chosen) < limit and any(by_practice.values()):
        for practice_id in sorted(by_practice, key=rank.__getitem__):
            if by_practice[practice_id] and len(chosen) < limit:
                chosen.append(Suggestion(by_practice[practice_id].pop(0), reasons[practice_id]))
    return chosen


# --- the dashboard ---------------------------------------------------------------------


@dataclass(frozen=True)
class UpcomingSession:
    session_id: int
    couple_id: int
    couple_label: str
    number: int
    starts_at: datetime
    status: str
    items: int
    today: bool


def upcoming_sessions(owner_id: int, *, days: int = 7) -> list[UpcomingSession]:
    """Today's and this week's sessions of the therapist's couples, in time order."""
    from datetime import timedelta

    from therapy import timeutil

    today = timeutil.local_today()
    start = datetime.combine(today, datetime.min.time(), tzinfo=timeutil.zone())
    end = start + timedelta(days=days)
    tomorrow = start + timedelta(days=1)
    item_count = (
        select(func.count(PlanItem.id))
        .where(PlanItem.session_id == TherapySession.id)
        .correlate(TherapySession)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(TherapySession, Couple.label, item_count)
        .join(Couple, Couple.id == TherapySession.couple_id)
        .where(
            Couple.owner_id == owner_id,
            Couple.archived_at.is_(None),
            TherapySession.status != SessionStatus.CANCELLED.value,
            TherapySession.starts_at >= start,
            TherapySession.starts_at < end,
        )
        .order_by(TherapySession.starts_at)
    ).all()
    return [
        UpcomingSession(
            session_id=session.id,
            couple_id=session.couple_id,
            couple_label=label,
            number=session.number,
            starts_at=session.starts_at,
            status=session.status,
            items=items,
            today=session.starts_at < tomorrow,
        )
        for session, label, items in rows
        if session.starts_at is not None
    ]
