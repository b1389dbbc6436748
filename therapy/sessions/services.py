"""Sessions and their plans: loading (scoped), creating, changing, snapshots, homework."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from therapy import audit
from therapy.couples.access import session_access, works_with
from therapy.couples.services import get_couple_or_404
from therapy.extensions import db
from therapy.models import (
    CheckIn,
    Couple,
    Exercise,
    LivingSituation,
    PlanItem,
    Practice,
    SafetyScreen,
    SessionStatus,
    TherapySession,
    Variant,
    utcnow,
)
from therapy.models.library import VARIANT_LABELS
from therapy.parsing import parse_id, parse_int, parse_signed_int, valid_id
from therapy.sessions import merge

MAX_ITEMS = 40


def get_session_or_404(
    session_id: int, *, for_update: bool = False, lazy: bool = False
) -> TherapySession:
    """A session of one of the signed-in therapist's couples; 404 for anything else.

    Ownership is checked by the couples' scoped loader, the one place that decides it.
    `for_update` is for a request that will change the session or its plan: on PostgreSQL
    it locks the row until commit, so two saves at the same moment take turns and the
    second works on what the first saved (SQLite's BEGIN IMMEDIATE already makes writers
    take turns). `lazy`: its plan items and focus practices are read only if used (the
    plan builder's page, when its content was kept, uses neither).
    """
    if not valid_id(session_id):
        abort(404)
    options = [lazyload(TherapySession.items), lazyload(TherapySession.focus)] if lazy else []
    if not for_update:
        # The session and the access to its couple, decided as for the couple, in one query.
        found, access = session_access(session_id, options=options)
        set_committed_value(found, "couple", access.couple)
        return found
    session = db.session.get(
        TherapySession,
        session_id,
        with_for_update=for_update,
        populate_existing=for_update,
        options=options,
    )
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
        # Strings for the couple, {"therapist": ...} for the therapist (library.steps).
        "sensitive": list(exercise.sensitive or []),
        "requires": list(exercise.requires or []),
        "steps": list(exercise.steps),
        # Other versions of the steps; the plan item's `variant` says which one prints.
        "variants": exercise.variant_steps(),
        "roles": [dict(role) for role in exercise.roles],
        "stop_safely": exercise.stop_safely,
        "prompts": list(exercise.prompts),
        "cautions": list(exercise.cautions),
        "practice_slug": practice.slug,
        "practice_kind": practice.kind,
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
    # Two "New session" saves at once would both read the same highest number; locking
    # the couple's row (PostgreSQL; SQLite writers take turns anyway) makes the second
    # wait and number after the first. NO KEY UPDATE: rows referring to the couple
    # (check-ins, sessions) can still be inserted meanwhile.
    db.session.execute(
        select(Couple.id).where(Couple.id == couple.id).with_for_update(key_share=True)
    )
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
    variant: str | None = None,
    days: int | None = None,
) -> PlanItem:
    """Append an exercise to the plan, snapshotting its text now.

    With no variant given, a couple recorded as living apart gets the living-apart
    steps where the exercise has them.
    """
    if len(session.items) >= MAX_ITEMS:
        raise ValueError(f"A plan holds at most {MAX_ITEMS} exercises.")
    variants = exercise.variant_steps()
    if variant is None:
        apart = session.couple.living_situation == LivingSituation.APART.value
        variant = Variant.APART.value if apart and Variant.APART.value in variants else ""
    if variant and variant not in variants:
        variant = ""
    item = PlanItem(
        variant=variant,
        position=len(session.items),
        exercise_id=exercise.id,
        minutes=minutes or exercise.minutes,
        homework=exercise.setting == "homework" if homework is None else homework,
        note=note,
        days_per_week=days if days in range(1, 8) else None,
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


# --- session details (date, length, status, focus) ---------------------------------------

DETAIL_FIELDS = {
    "when": "Date and time",
    "minutes": "Length in minutes",
    "status": "Status",
    "focus": "Focus practices",
}


@dataclass(frozen=True)
class Details:
    """A session's details as a form gives them or the session holds them."""

    starts_at: datetime | None
    minutes: int
    status: str
    focus: tuple[Practice, ...]

    def values(self) -> dict[str, str]:
        """As compared between tabs."""
        return {
            "when": self.starts_at.isoformat() if self.starts_at else "",
            "minutes": str(self.minutes),
            "status": self.status,
            "focus": ",".join(sorted(str(practice.id) for practice in self.focus)),
        }

    def texts(self) -> dict[str, str]:
        """As a person reads them on a conflict page."""
        from therapy import timeutil

        return {
            "when": timeutil.format_datetime(self.starts_at) or "Not scheduled",
            "minutes": f"{self.minutes} minutes",
            "status": self.status.capitalize(),
            "focus": ", ".join(practice.name for practice in self.focus) or "None",
        }


def details_of(session: TherapySession) -> Details:
    return Details(session.starts_at, session.minutes, session.status, tuple(session.focus))


@dataclass
class DetailsResult:
    conflicts: list[merge.Conflict] = field(default_factory=list)
    unchanged: set[str] = field(default_factory=set)  # fields this page did not change


def save_details(
    session: TherapySession, typed: Details, shown: dict[str, str] | None
) -> DetailsResult:
    """Save the details this page changed; both tabs changing one differently is a
    conflict and saves nothing. The caller holds the session's row lock (`for_update`)."""
    result = DetailsResult()
    saved = details_of(session)
    mine, now = typed.values(), saved.values()
    writes = []
    for name, label in DETAIL_FIELDS.items():
        before = None if shown is None else shown.get(name)
        outcome = merge.merge_value(before, mine[name], now[name])
        if outcome is merge.Outcome.WRITE:
            writes.append(name)
        elif outcome is merge.Outcome.CONFLICT:
            result.conflicts.append(
                merge.Conflict("Session details", label, saved.texts()[name], typed.texts()[name])
            )
        else:
            result.unchanged.add(name)
    if result.conflicts:
        return result
    for name in writes:
        if name == "when":
            session.starts_at = typed.starts_at
        elif name == "focus":
            session.focus = list(typed.focus)
        else:
            setattr(session, name, getattr(typed, name))
    touch(session)
    db.session.commit()
    return result


# --- notes after the session -------------------------------------------------------------

NOTE_FIELDS = {"notes_happened": "What happened", "notes_follow_up": "What to follow up next time"}


def notes_shown(session: TherapySession) -> dict[str, str]:
    """Fingerprints of the notes as a page shows them, to tell later what it changed."""
    return {name: merge.fingerprint(getattr(session, name)) for name in NOTE_FIELDS}


@dataclass
class NotesResult:
    conflicts: list[merge.Conflict] = field(default_factory=list)
    others_kept: list[str] = field(default_factory=list)  # labels another tab changed
    # What the page should show after a conflict: this page's text where it changed
    # something, the saved text elsewhere (so saving again writes only this page's work).
    show: dict[str, str] = field(default_factory=dict)


def save_notes(
    session: TherapySession,
    typed: dict[str, str],
    shown: dict[str, str] | None,
    *,
    version: str,
    held: bool,
) -> NotesResult:
    """Save the notes this page changed (and mark the session held if asked).

    A note both this page and another tab changed, differently, is a conflict: nothing
    is saved. The caller holds the session's row lock (`for_update`).
    """
    result = NotesResult()
    saved = notes_shown(session)
    if shown is None and version == str(session.version):
        shown = saved
    writes = []
    for name, label in NOTE_FIELDS.items():
        text = typed[name].strip()
        before = shown.get(name) if shown is not None else None
        outcome = merge.merge_value(before, merge.fingerprint(text), saved[name])
        result.show[name] = text if outcome is not merge.Outcome.KEEP else getattr(session, name)
        if before is not None and before != saved[name]:
            result.others_kept.append(label)
        if outcome is merge.Outcome.WRITE:
            writes.append((name, text))
        elif outcome is merge.Outcome.CONFLICT:
            result.conflicts.append(
                merge.Conflict("Session notes", label, getattr(session, name), text)
            )
    if result.conflicts:
        return result
    for name, text in writes:
        setattr(session, name, text)
    if held:
        mark_held(session, happened=session.notes_happened, follow_up=session.notes_follow_up)
    else:
        touch(session)
        db.session.commit()
    return result


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


ITEM_FIELDS = {
    "minutes": "Minutes",
    "homework": "Homework",
    "note": "Note for the couple",
    "days": "Days per week",
    "variant": "Version of the steps",
}
# Fields a plan page may lack (a page from before they existed): then it changed nothing.
OPTIONAL_ITEM_FIELDS = ("days", "variant")
VARIANTS = tuple(member.value for member in Variant)


def item_values(
    minutes: str | int,
    homework: bool,
    note: str,
    days: str | int | None = None,
    variant: str | None = None,
) -> dict[str, str]:
    """An item's fields as compared between tabs (the note as a fingerprint; days empty
    when the exercise's own tracking decides; variant empty for the usual steps)."""
    return {
        "minutes": str(minutes).strip(),
        "homework": "y" if homework else "",
        "note": merge.fingerprint(note),
        "days": "" if days is None else str(days).strip(),
        "variant": variant or "",
    }


def shown_values(item: PlanItem) -> dict[str, str]:
    """What the plan form carries about an item as loaded, to tell later what changed."""
    return item_values(item.minutes, item.homework, item.note, item.days_per_week, item.variant)


@dataclass
class ItemEdit:
    """What the plan form says about one item, and what it showed when it was loaded."""

    minutes: str
    homework: bool
    note: str
    shown: dict[str, str] | None = None  # None from a page that did not send them
    # "" for the exercise's own tracking, "1" to "7"; None from a page without the field
    # (the saved value then stays as it is).
    days: str | None = None
    variant: str | None = None  # None from a page without the control: left as saved

    def values(self) -> dict[str, str]:
        return item_values(self.minutes, self.homework, self.note, self.days, self.variant)


@dataclass
class PlanChange:
    """A whole plan form: the order of item ids, each item's fields, and the action."""

    version: str
    order: list[int]
    edits: dict[int, ItemEdit]
    shown_order: list[int] | None = None  # the order the page was loaded with
    move: tuple[int, int] | None = None  # (item id, new 0-based position)
    remove: int | None = None


@dataclass
class PlanResult:
    others_kept: bool = False  # another tab had changed the plan; its changes stay
    saved_mine: bool = False  # this page changed something, and it is saved
    removed_elsewhere: int = 0  # items another tab removed (this page had not changed them)
    errors: dict[int, str] | None = None
    conflicts: list[merge.Conflict] = field(default_factory=list)
    order: list[int] | None = None  # the order to show again after a conflict


NOTE_MAX = 2000


def _parse_ids(raw: list[str]) -> list[int]:
    """Item ids in the order given, each once; anything that is not an id is dropped."""
    ids: list[int] = []
    for item_id in (parse_id(part) for part in raw):
        if item_id is not None and item_id not in ids:
            ids.append(item_id)
    return ids


def _shown_of(form: Any, item_id: int) -> dict[str, str] | None:
    names = {name: f"item-{item_id}-{name}-was" for name in ITEM_FIELDS}
    for name in OPTIONAL_ITEM_FIELDS:
        # A page from before this field sends no record of it: the rest still counts.
        if f"item-{item_id}-{name}" not in form:
            del names[name]
    required = [key for name, key in names.items() if name not in OPTIONAL_ITEM_FIELDS]
    if not all(key in form for key in required):
        return None
    shown = {name: form.get(key, "") for name, key in names.items() if key in form}
    for name in OPTIONAL_ITEM_FIELDS:
        if name in names:
            # Sent with no record of what it showed: what it sends is what it showed.
            shown.setdefault(name, form.get(f"item-{item_id}-{name}", ""))
    return shown


def parse_plan_form(form: Any) -> PlanChange:
    """Read the plan form; ids that are not numbers are dropped, not trusted."""
    order = _parse_ids(form.getlist("order"))
    edits = {
        item_id: ItemEdit(
            minutes=form.get(f"item-{item_id}-minutes", ""),
            homework=form.get(f"item-{item_id}-homework") == "y",
            note=form.get(f"item-{item_id}-note", ""),
            shown=_shown_of(form, item_id),
            days=form.get(f"item-{item_id}-days") if f"item-{item_id}-days" in form else None,
            variant=form.get(f"item-{item_id}-variant"),
        )
        for item_id in order
    }
    shown_order = _parse_ids(form.get("order-was", "").split(",")) if "order-was" in form else None
    change = PlanChange(
        version=form.get("version", ""), order=order, edits=edits, shown_order=shown_order
    )
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
        elif edit.days not in (None, "") and parse_int(edit.days) not in range(1, 8):
            errors[item_id] = "Choose 1 to 7 days a week, or as the exercise says."
        elif edit.variant is not None and edit.variant not in VARIANTS:
            errors[item_id] = "Choose one of the versions of the steps offered."
    return errors


def _order_asked(session: TherapySession, change: PlanChange) -> list[int]:
    """The order this page sent, with its move (if any) made; PlanError if it can't be."""
    order = list(change.order)
    if change.move is None:
        return order
    item_id, position = change.move
    if item_id not in {item.id for item in session.items} or item_id not in order:
        raise PlanError("That exercise is no longer in this plan; nothing was changed.")
    if not 0 <= position < len(order):
        raise PlanError(
            f"Position {position + 1} is outside this plan (1 to {len(order)}); "
            "nothing was changed."
        )
    order.remove(item_id)
    order.insert(position, item_id)
    return order


def _shown(edit: ItemEdit, saved: dict[str, str] | None, fresh: bool) -> dict[str, str] | None:
    """What the page showed for an item. A page without that record (None) is trusted
    only when nothing was saved since it was loaded."""
    if edit.shown is not None:
        return edit.shown
    return saved if fresh else None


def days_text(days: str | int | None) -> str:
    """Days per week as a person reads them."""
    days = str(days or "").strip()
    if not days:
        return "As the exercise says"
    return "Every day" if days == "7" else f"{days} {'day' if days == '1' else 'days'} a week"


def _item_text(
    name: str,
    minutes: str,
    homework: bool,
    note: str,
    days: str | None = None,
    variant: str | None = None,
) -> str:
    if name == "minutes":
        return minutes.strip()
    if name == "homework":
        return "Yes" if homework else "No"
    if name == "days":
        return days_text(days)
    if name == "variant":
        return VARIANT_LABELS.get(variant or "", variant or "")
    return note.strip()


def _order_text(ids: list[int], titles: dict[int, str]) -> str:
    return "\n".join(f"{place}. {titles[i]}" for place, i in enumerate(ids, 1) if i in titles)


def apply_plan_change(session: TherapySession, change: PlanChange) -> PlanResult:
    """Save what this page changed in the plan, keeping what other tabs saved meanwhile.

    Values both changed, each differently, are conflicts: then nothing is saved and the
    result lists them. The caller holds the session's row lock (`for_update`).
    """
    result = PlanResult()
    result.errors = _validate_edits(change) or None
    if result.errors:
        return result
    items = {item.id: item for item in session.items}
    missing = {
        item_id: "This exercise has no such version of its steps."
        for item_id, edit in change.edits.items()
        if edit.variant and item_id in items and edit.variant not in items[item_id].variants
    }
    if missing:
        result.errors = missing
        return result
    if change.remove is not None and change.remove not in items:
        change.remove = None  # already removed in another tab: what this page asked for
        result.removed_elsewhere += 1
    asked = _order_asked(session, change)
    saved_order = [item.id for item in session.items]
    fresh = change.version == str(session.version)
    shown_order = change.shown_order
    if shown_order is None and fresh:
        shown_order = saved_order
    order = merge.merge_order(shown_order, asked, saved_order, change.move and change.move[0])
    if order is None:
        titles = {item.id: item.title for item in session.items}
        result.conflicts.append(
            merge.Conflict(
                "The plan", "Order", _order_text(saved_order, titles), _order_text(asked, titles)
            )
        )
    result.others_kept = shown_order is not None and shown_order != saved_order
    writes = _merge_items(change, items, fresh, result)
    if result.conflicts:
        result.order = asked + [i for i in saved_order if i not in asked]
        return result
    for item, name, edit in writes:
        if name == "minutes":
            item.minutes = int(edit.minutes.strip())
        elif name == "homework":
            item.homework = edit.homework
        elif name == "days":
            item.days_per_week = parse_int(edit.days or "") if edit.days else None
        elif name == "variant":
            item.variant = edit.variant or ""
        else:
            item.note = edit.note.strip()
    order = order or saved_order
    result.saved_mine = bool(writes) or order != saved_order or change.remove is not None
    ordered = [items[i] for i in order]
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


def _fields_sent(edit: ItemEdit) -> list[str]:
    """The item fields this page sent (days and variant only from a page that has the
    control)."""
    return [
        name
        for name in ITEM_FIELDS
        if name not in OPTIONAL_ITEM_FIELDS or getattr(edit, name) is not None
    ]


def _merge_items(
    change: PlanChange, items: dict[int, PlanItem], fresh: bool, result: PlanResult
) -> list[tuple[PlanItem, str, ItemEdit]]:
    """Which item fields to write; conflicts and other tabs' changes go into `result`."""
    writes: list[tuple[PlanItem, str, ItemEdit]] = []
    for item_id, edit in change.edits.items():
        mine = edit.values()
        item = items.get(item_id)
        if item is None and fresh:
            continue  # never on this page: nothing was removed since it was loaded
        if item is None:
            # Removed in another tab: it stays removed, but what was typed here is shown.
            shown = edit.shown
            changed = [
                n
                for n in _fields_sent(edit)
                if shown is None or n not in shown or mine[n] != shown[n]
            ]
            result.removed_elsewhere += not changed
            result.conflicts += [
                merge.Conflict(
                    "An exercise removed in another tab",
                    ITEM_FIELDS[name],
                    "(removed)",
                    _item_text(
                        name, edit.minutes, edit.homework, edit.note, edit.days, edit.variant
                    ),
                )
                for name in changed
            ]
            continue
        saved = shown_values(item)
        shown = _shown(edit, saved, fresh)
        sent = _fields_sent(edit)
        result.others_kept = result.others_kept or (
            shown is not None and any(shown.get(n) != saved[n] for n in sent)
        )
        for name in _fields_sent(edit):
            label = ITEM_FIELDS[name]
            outcome = merge.merge_value(
                None if shown is None else shown.get(name), mine[name], saved[name]
            )
            if outcome is merge.Outcome.WRITE:
                writes.append((item, name, edit))
            elif outcome is merge.Outcome.CONFLICT:
                result.conflicts.append(
                    merge.Conflict(
                        item.title,
                        label,
                        _item_text(
                            name,
                            str(item.minutes),
                            item.homework,
                            item.note,
                            saved["days"],
                            item.variant,
                        ),
                        _item_text(
                            name, edit.minutes, edit.homework, edit.note, edit.days, edit.variant
                        ),
                    )
                )
    return writes


def typed_view(session: TherapySession, change: PlanChange) -> dict[int, ItemEdit]:
    """What to show in each item's fields after a refused save: what this page changed,
    and the saved value wherever it changed nothing (so saving again writes only that)."""
    fresh = change.version == str(session.version)
    typed: dict[int, ItemEdit] = {}
    for item in session.items:
        edit = change.edits.get(item.id)
        if edit is None:
            continue
        shown, mine = _shown(edit, shown_values(item), fresh), edit.values()
        changed = {
            n for n in _fields_sent(edit) if shown is None or n not in shown or mine[n] != shown[n]
        }
        saved_days = "" if item.days_per_week is None else str(item.days_per_week)
        typed[item.id] = ItemEdit(
            minutes=edit.minutes if "minutes" in changed else str(item.minutes),
            homework=edit.homework if "homework" in changed else item.homework,
            note=edit.note if "note" in changed else item.note,
            days=edit.days if "days" in changed else saved_days,
            variant=edit.variant if "variant" in changed else item.variant,
        )
    return typed


# --- adding exercises, and what to warn about ------------------------------------------


@dataclass(frozen=True)
class SafetyWarning:
    """Why the therapist should pause before adding this exercise."""

    reasons: list[str]
    cautions: list[str]


def safety_warning(couple: Couple, exercise: Exercise) -> SafetyWarning | None:
    """A warning when the couple's safety screen meets one of the exercise's risk tags.

    Reads the structured screen and tags only (therapy/safety/rules.py); no free text.
    """
    from therapy.safety import rules
    from therapy.safety.services import latest_screen, partner_unsafe

    reasons = rules.warnings_for(
        latest_screen(couple.id),
        list(exercise.sensitive or []),
        partner_unsafe=partner_unsafe(couple.id),
    )
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
            variant=str(spec["variant"]) if "variant" in spec else None,
            days=spec.get("days") if isinstance(spec.get("days"), int) else None,
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
            "variant": item.variant,
            "days": item.days_per_week,
        }
        for item in session.items
        if item.exercise_id is not None
    ]


# --- suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    exercise: Exercise
    reason: str


@dataclass(frozen=True)
class SafetyCheck:
    """Something to do before any exercise: see each partner alone."""

    title: str
    reason: str


# A rating this low on the vulnerability practice ("How safe did it feel to share ...?")
# calls for a check with each partner, not more sharing.
LOW_SHARING = 3
SHARING_PRACTICE = "vulnerability"


@dataclass(frozen=True)
class SafetyContext:
    """What the suggestions and the builder know about this couple's safety."""

    status: str  # rules.Status
    blocked: frozenset[str]  # risk tags never suggested
    check: SafetyCheck | None
    screen: SafetyScreen | None = None
    partner_unsafe: bool = False
    # Each partner's check-in from the couple's latest week, read here once: the
    # suggestions rank practices by the same check-ins.
    latest_week: tuple[CheckIn, ...] | None = None


def safety_context(couple: Couple) -> SafetyContext:
    """The screen, a partner's unseen safety answer and a low sharing rating, combined."""
    from therapy.checkins.services import latest_week
    from therapy.safety import rules
    from therapy.safety.services import latest_screen, unseen_safety_answers

    screen = latest_screen(couple.id)
    unsafe = unseen_safety_answers([couple.id])
    blocked = set(rules.blocked_tags(screen, partner_unsafe=bool(unsafe)))
    reasons = []
    if unsafe:
        reasons.append("A partner said privately they may not feel safe at home.")
    week = tuple(latest_week(couple))
    low = [
        checkin.partner_role
        for checkin in week
        for rating in checkin.ratings
        if rating.practice.slug == SHARING_PRACTICE
        and rating.value is not None
        and rating.value <= LOW_SHARING
    ]
    if low:
        reasons.append(
            f"A partner rated how safe it felt to share at {LOW_SHARING} or lower this week."
        )
        blocked.add("vulnerability")
    check = None
    if reasons:
        check = SafetyCheck(
            "Meet each partner alone",
            " ".join(reasons) + " Check on safety with each of them, one at a time, "
            "before more sharing or conflict work.",
        )
    return SafetyContext(
        rules.status(screen, partner_unsafe=bool(unsafe)).value,
        frozenset(blocked),
        check,
        screen,
        bool(unsafe),
        week,
    )


def practice_priorities(
    session: TherapySession, couple: Couple, week: Sequence[CheckIn] | None = None
) -> list[tuple[Practice, str]]:
    """Practices to suggest from, most needed first, each with the reason shown.

    The couple's latest check-in decides: its lowest-rated practices first. Until the
    couple has checked in, the session's focus practices stand in.
    """
    from therapy.checkins.services import lowest_rated_practices

    rated = lowest_rated_practices(couple, week=week)
    if rated:
        return rated
    return [(practice, f"{practice.name}: a focus of this session") for practice in session.focus]


def done_keys(session: TherapySession) -> set[str]:
    """Keys of exercises in this plan or the plan of any earlier (not cancelled) session."""
    earlier = select(TherapySession.id).where(
        TherapySession.couple_id == session.couple_id,
        TherapySession.status != SessionStatus.CANCELLED.value,
        TherapySession.number < session.number,
    )
    keys = db.session.scalars(
        select(Exercise.key)
        .join(PlanItem, PlanItem.exercise_id == Exercise.id)
        .where(PlanItem.session_id.in_(earlier.scalar_subquery()), Exercise.key.is_not(None))
    )
    here = {str(item.snapshot.get("key")) for item in session.items if item.snapshot.get("key")}
    return {key for key in keys if key} | here


def missing_prerequisites(
    session: TherapySession, have: set[str] | None = None
) -> dict[int, list[str]]:
    """Per plan item, the titles of exercises it requires that no plan has yet
    (`have`: done_keys(session), when the caller already has it)."""
    wanted = {
        item.id: [str(key) for key in item.snapshot.get("requires") or []] for item in session.items
    }
    if not any(wanted.values()):
        return {}
    have = done_keys(session) if have is None else have
    keys = {key for keys in wanted.values() for key in keys if key not in have}
    titles: dict[str | None, str] = {
        key: title
        for key, title in db.session.execute(
            select(Exercise.key, Exercise.title).where(Exercise.key.in_(keys))
        )
    }
    return {
        item_id: [titles.get(key, key) for key in keys if key not in have]
        for item_id, keys in wanted.items()
        if any(key not in have for key in keys)
    }


def item_tags(item: PlanItem) -> list[str]:
    """A plan item's risk tags as planned (older snapshots carry only the two flags)."""
    snapshot = item.snapshot
    if "sensitive" in snapshot:
        return [str(tag) for tag in snapshot.get("sensitive") or []]
    return [
        tag
        for tag, flag in (
            ("conflict", "involves_conflict"),
            ("vulnerability", "involves_vulnerability"),
        )
        if snapshot.get(flag)
    ]


def plan_warnings(session: TherapySession, safety: SafetyContext) -> dict[int, list[str]]:
    """Per plan item, what the couple's safety screen says against its risk tags."""
    from therapy.safety import rules

    found = {
        item.id: rules.warnings_for(
            safety.screen, item_tags(item), partner_unsafe=safety.partner_unsafe
        )
        for item in session.items
    }
    return {item_id: reasons for item_id, reasons in found.items() if reasons}


def _is_blocked(exercise: Exercise, blocked: frozenset[str]) -> bool:
    return any(tag in blocked for tag in exercise.sensitive or [])


def _with_prerequisites(
    chosen: list[Suggestion], have: set[str], blocked: frozenset[str]
) -> list[Suggestion]:
    """Each suggestion after the exercises it requires (unless done in an earlier plan)."""
    from therapy.library.services import visible_to_me

    needed = {key for s in chosen for key in s.exercise.requires or [] if key not in have}
    found = {
        e.key: e
        for e in db.session.scalars(
            select(Exercise).where(
                Exercise.key.in_(needed), Exercise.archived_at.is_(None), visible_to_me()
            )
        )
    }
    ordered: list[Suggestion] = []
    placed: set[int] = set()
    for suggestion in chosen:
        for key in suggestion.exercise.requires or []:
            first = found.get(key)
            if key in have or first is None or first.id in placed:
                continue
            if _is_blocked(first, blocked):
                break
            reason = f"Do first: needed before “{suggestion.exercise.title}”"
            ordered.append(Suggestion(first, reason))
            placed.add(first.id)
        else:
            if suggestion.exercise.id not in placed:
                ordered.append(suggestion)
                placed.add(suggestion.exercise.id)
    return ordered


def suggestions(
    session: TherapySession,
    couple: Couple,
    *,
    limit: int = 6,
    safety: SafetyContext | None = None,
    have: set[str] | None = None,
) -> list[Suggestion]:
    """Exercises from the practices that need it most, safest first.

    Exercises whose risk tags the couple's safety screen rules out are never suggested;
    until the couple is screened, exercises with any risk tag come after the rest; and
    an exercise comes after the ones it requires (unless done in an earlier session).
    """
    from therapy.safety.rules import Status

    safety = safety or safety_context(couple)
    priorities = practice_priorities(session, couple, safety.latest_week)
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
        if not _is_blocked(exercise, safety.blocked):
            by_practice.setdefault(exercise.practice_id, []).append(exercise)
    chosen: list[Suggestion] = []
    while len(chosen) < limit and any(by_practice.values()):
        for practice_id in sorted(by_practice, key=rank.__getitem__):
            if by_practice[practice_id] and len(chosen) < limit:
                chosen.append(Suggestion(by_practice[practice_id].pop(0), reasons[practice_id]))
    have = done_keys(session) if have is None else have
    ordered = _with_prerequisites(chosen, have, safety.blocked)
    if safety.status != Status.SCREENED.value:
        # Not yet screened: nothing with a risk tag before the exercises without one
        # (a stable sort, so prerequisites stay ahead of what needs them).
        ordered.sort(key=lambda s: bool(s.exercise.sensitive))
    return ordered[:limit]


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
    shared: bool = False  # a couple shared with this therapist as co-therapist


def upcoming_sessions(owner_id: int, *, days: int = 7) -> list[UpcomingSession]:
    """Today's and this week's sessions of the therapist's couples, in time order: their
    own and those they are co-therapist for (`shared` marks these)."""
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
    # Columns, not TherapySession objects: loading those loads each session's plan and
    # focus practices too (selectin relationships), two queries the dashboard never uses.
    rows = db.session.execute(
        select(
            TherapySession.id,
            TherapySession.couple_id,
            TherapySession.number,
            TherapySession.starts_at,
            TherapySession.status,
            Couple.label,
            item_count,
            Couple.owner_id != owner_id,
        )
        .join(Couple, Couple.id == TherapySession.couple_id)
        .where(
            works_with(owner_id),
            Couple.archived_at.is_(None),
            TherapySession.status != SessionStatus.CANCELLED.value,
            TherapySession.starts_at >= start,
            TherapySession.starts_at < end,
        )
        .order_by(TherapySession.starts_at)
    ).all()
    return [
        UpcomingSession(
            session_id=session_id,
            couple_id=couple_id,
            couple_label=label,
            number=number,
            starts_at=starts_at,
            status=status,
            items=items,
            today=starts_at < tomorrow,
            shared=bool(shared),
        )
        for session_id, couple_id, number, starts_at, status, label, items, shared in rows
        if starts_at is not None
    ]
