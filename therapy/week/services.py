"""The couple's week between sessions.

A partner's week page shows the homework of the couple's latest held session (the same
text as the handout), a tick box for each day, the exercise's prompts, and the check-in.
What they send is kept as `HomeworkReply` rows, each with an id their browser made, so a
send repeated after a lost connection is saved once. Nothing sent is ever shown on a
partner's page again (whoever holds a link may be the other partner), and nothing of the
other partner is on it.

The therapist sees, per exercise, per partner and per day, what was done (progress page
and the next session's agenda), and the notes, private ones marked private; unread
check-ins and notes are counted on the dashboard until marked read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from therapy import audit, timeutil
from therapy.extensions import db
from therapy.handouts.data import HandoutItem
from therapy.handouts.services import item_from_snapshot
from therapy.models import (
    CheckIn,
    CheckInLink,
    Couple,
    EnteredBy,
    HomeworkReply,
    PlanItem,
    ReadMark,
    SessionStatus,
    TherapySession,
    User,
    utcnow,
)
from therapy.models.week import CLIENT_ID_MAX, NOTE_MAX

CLIENT_ID = re.compile(rf"^[A-Za-z0-9_-]{{8,{CLIENT_ID_MAX}}}$")
MAX_DAYS = 7
MAX_SUBMISSIONS = 100


# --- which days an exercise is ticked on ----------------------------------------------------


@dataclass(frozen=True)
class Day:
    number: int  # 1 = the day after the session
    label: str  # "Wed 3", or "Day 3" when the session has no date; "Done" for a one-off


def planned_days(item: PlanItem, session_day: date | None) -> list[Day]:
    """The tick boxes of a homework item.

    The days the therapist set on the item, when plan items have such a setting
    (`days`: day numbers 1-7 after the session; or `days_per_week`: a box for each of
    the seven days); until then the exercise's tracking: daily gives the seven days after
    the session, once gives one box, none gives none.
    """
    chosen = getattr(item, "days", None)
    per_week = getattr(item, "days_per_week", None)
    tracking = str(item.snapshot.get("tracking", "none"))
    if isinstance(chosen, list | tuple) and chosen:
        numbers = sorted({n for n in chosen if isinstance(n, int) and 1 <= n <= MAX_DAYS})
    elif tracking == "daily" or (isinstance(per_week, int) and per_week > 0):
        # A number of days a week: any of the seven days may be one of them.
        numbers = list(range(1, MAX_DAYS + 1))
    elif tracking == "once":
        return [Day(1, "Done")]
    else:
        return []
    if session_day is None:
        return [Day(n, f"Day {n}") for n in numbers]
    return [Day(n, f"{(d := session_day + timedelta(days=n)):%a} {d.day}") for n in numbers]


def latest_held(couple_id: int) -> TherapySession | None:
    found: TherapySession | None = db.session.scalar(
        select(TherapySession)
        .where(
            TherapySession.couple_id == couple_id,
            TherapySession.status == SessionStatus.HELD.value,
        )
        .order_by(TherapySession.starts_at.desc().nulls_last(), TherapySession.number.desc())
        .limit(1)
    )
    return found


def next_session(couple_id: int, after: datetime | None = None) -> TherapySession | None:
    """The couple's next scheduled, not cancelled, not held session after `after` (now)."""
    found: TherapySession | None = db.session.scalar(
        select(TherapySession)
        .where(
            TherapySession.couple_id == couple_id,
            TherapySession.status.in_((SessionStatus.DRAFT.value, SessionStatus.PLANNED.value)),
            TherapySession.starts_at > (after or utcnow()),
        )
        .order_by(TherapySession.starts_at)
        .limit(1)
    )
    return found


def session_day(session: TherapySession | None, zone: str | None) -> date | None:
    if session is None or session.starts_at is None:
        return None
    return timeutil.to_local(session.starts_at, zone).date()


# --- the partner's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class WeekItem:
    plan_item_id: int
    content: HandoutItem
    days: list[Day]


@dataclass(frozen=True)
class PartnerWeek:
    """Everything a partner's week page shows: only theirs, and nothing already sent."""

    first_name: str
    therapist_name: str
    session_day: date | None
    next_session_day: date | None
    items: list[WeekItem]
    # The browser keeps unsent answers under this key (never the token): one per partner.
    storage_key: str


def storage_key(couple_id: int, role: str, secret: str) -> str:
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), f"week:{couple_id}:{role}".encode(), hashlib.sha256)
    return "tandem-week-" + digest.hexdigest()[:20]


def partner_week(link: CheckInLink, secret: str) -> PartnerWeek:
    couple = db.session.get(Couple, link.couple_id)
    if couple is None:
        raise LookupError("the link's couple is gone")
    owner = db.session.get(User, couple.owner_id)
    zone = owner.timezone if owner else None
    session = latest_held(couple.id)
    day = session_day(session, zone)
    items = []
    if session is not None:
        for item in session.homework:
            items.append(
                WeekItem(
                    item.id,
                    item_from_snapshot(item.snapshot, note=item.note or "", minutes=item.minutes),
                    planned_days(item, day),
                )
            )
    upcoming = next_session(couple.id)
    partner = next((p for p in couple.partners if p.role == link.partner_role), None)
    return PartnerWeek(
        first_name=partner.first_name if partner else "",
        therapist_name=owner.display_name if owner else "your therapist",
        session_day=day,
        next_session_day=session_day(upcoming, zone),
        items=items,
        storage_key=storage_key(couple.id, link.partner_role, secret),
    )


# --- what a partner sends ----------------------------------------------------------------------


class ReplyRefused(ValueError):
    """A submission that cannot be saved (shape, item or prompt unknown)."""


def _homework_items(couple_id: int) -> dict[int, PlanItem]:
    """Every homework item of the couple's held sessions: a send queued offline before
    the next session was held still lands on the exercise it was about."""
    rows = db.session.scalars(
        select(PlanItem)
        .join(TherapySession, TherapySession.id == PlanItem.session_id)
        .where(
            TherapySession.couple_id == couple_id,
            TherapySession.status == SessionStatus.HELD.value,
            PlanItem.homework.is_(True),
        )
    )
    return {item.id: item for item in rows}


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise ReplyRefused("text expected")
    value = value.replace("\x00", "").replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise ReplyRefused(f"longer than {limit} characters")
    return value


def _reply_from(
    link: CheckInLink, raw: Mapping[str, Any], items: dict[int, PlanItem]
) -> HomeworkReply:
    client_id = raw.get("id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise ReplyRefused("a send needs an id of 8-64 letters, digits, - or _")
    item_id = raw.get("item")
    if not isinstance(item_id, int) or isinstance(item_id, bool) or item_id not in items:
        raise ReplyRefused("not one of this couple's homework exercises")
    item = items[item_id]
    reply = HomeworkReply(
        client_id=client_id,
        couple_id=link.couple_id,
        partner_role=link.partner_role,
        link_id=link.id,
        plan_item_id=item_id,
        days=[],
        prompt="",
        text="",
    )
    kind = raw.get("kind")
    if kind == "ticks":
        days = raw.get("days")
        if not isinstance(days, list) or len(days) > MAX_DAYS:
            raise ReplyRefused("days must be a list")
        allowed = {day.number for day in planned_days(item, None)}
        chosen = set()
        for day in days:
            if not isinstance(day, int) or isinstance(day, bool) or day not in allowed:
                raise ReplyRefused("not a day of this exercise")
            chosen.add(day)
        reply.kind, reply.days = "ticks", sorted(chosen)
    elif kind == "note":
        prompts = item.snapshot.get("prompts") or []
        index = raw.get("prompt")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(prompts):
            raise ReplyRefused("not one of this exercise's prompts")
        text = _text(raw.get("text", ""), NOTE_MAX)
        if not text:
            raise ReplyRefused("an empty answer")
        reply.kind, reply.prompt_index, reply.prompt = "note", index, str(prompts[index])[:500]
        reply.text, reply.private = text, raw.get("private") is True
    else:
        raise ReplyRefused("kind must be ticks or note")
    return reply


@dataclass
class SaveResult:
    saved: list[str] = field(default_factory=list)  # ids now saved (new or already)
    refused: dict[str, str] = field(default_factory=dict)  # id -> why


def save_replies(link: CheckInLink, submissions: Sequence[Any]) -> SaveResult:
    """Keep what a partner sent; every id is saved at most once, whatever is resent.

    An id already saved for this partner counts as saved; an id already used by anyone
    else is refused. Each new reply is its own row (a savepoint each), so one bad
    submission never loses the others.
    """
    result = SaveResult()
    if len(submissions) > MAX_SUBMISSIONS:
        raise ReplyRefused(f"at most {MAX_SUBMISSIONS} at once")
    items = _homework_items(link.couple_id)
    for raw in submissions:
        raw_id = raw.get("id") if isinstance(raw, Mapping) else None
        key = raw_id if isinstance(raw_id, str) else ""
        try:
            if not isinstance(raw, Mapping):
                raise ReplyRefused("each send is an object")
            reply = _reply_from(link, raw, items)
        except ReplyRefused as exc:
            if key:
                result.refused[key[:CLIENT_ID_MAX]] = str(exc)
            continue
        if _already_saved(link, reply.client_id, result):
            continue
        try:
            with db.session.begin_nested():
                db.session.add(reply)
                db.session.flush()
        except IntegrityError:
            # The same id saved by a send that raced this one.
            _already_saved(link, reply.client_id, result)
            continue
        result.saved.append(reply.client_id)
    if len(result.saved):
        audit.record("link.homework", record_type="checkin_link", record_id=link.id)
    db.session.commit()
    return result


def _already_saved(link: CheckInLink, client_id: str, result: SaveResult) -> bool:
    existing = db.session.execute(
        select(HomeworkReply.couple_id, HomeworkReply.partner_role).where(
            HomeworkReply.client_id == client_id
        )
    ).first()
    if existing is None:
        return False
    if tuple(existing) == (link.couple_id, link.partner_role):
        result.saved.append(client_id)
    else:
        result.refused[client_id] = "this id is taken"
    return True


# --- what the therapist sees ---------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    id: int
    partner_role: str
    prompt: str
    text: str
    private: bool
    created_at: datetime
    read: bool


@dataclass
class ItemDone:
    """One homework exercise: the days each partner ticked, and their notes."""

    plan_item_id: int
    title: str
    days: list[Day]
    done: dict[str, set[int]] = field(default_factory=dict)  # role -> day numbers
    notes: list[Note] = field(default_factory=list)

    def count(self, role: str) -> int:
        return len(self.done.get(role, set()))


@dataclass
class SessionHomework:
    session_id: int
    session_number: int
    session_day: date | None
    names: dict[str, str]
    items: list[ItemDone]

    @property
    def anything(self) -> bool:
        return any(item.done or item.notes for item in self.items)

    @property
    def hidden_private(self) -> int:
        return 0


def read_ids(kind: str, ids: Iterable[int]) -> set[int]:
    wanted = list(ids)
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            select(ReadMark.record_id).where(ReadMark.kind == kind, ReadMark.record_id.in_(wanted))
        )
    )


def homework_done(
    session: TherapySession, *, couple_view: bool = False, zone: str | None = None
) -> SessionHomework:
    """What the partners sent about a session's homework. The couple view leaves out
    private notes (and says nothing of them); the therapist's view marks them private."""
    return homework_of([session], couple_view=couple_view, zone=zone)[0]


def homework_of(
    sessions: Sequence[TherapySession], *, couple_view: bool = False, zone: str | None = None
) -> list[SessionHomework]:
    """homework_done for several sessions, in two queries whatever their number."""
    days = [session_day(session, zone) for session in sessions]
    items = [
        {item.id: ItemDone(item.id, item.title, planned_days(item, day)) for item in s.homework}
        for s, day in zip(sessions, days, strict=True)
    ]
    wanted = [item_id for found in items for item_id in found]
    rows = (
        db.session.scalars(
            select(HomeworkReply)
            .where(HomeworkReply.plan_item_id.in_(wanted))
            .order_by(HomeworkReply.created_at, HomeworkReply.id)
        ).all()
        if wanted
        else []
    )
    read = read_ids("note", (row.id for row in rows if row.kind == "note"))
    entries = {item_id: entry for found in items for item_id, entry in found.items()}
    for row in rows:
        entry = entries[row.plan_item_id]
        if row.kind == "ticks":
            # Ticks add up: a day once sent as done stays done.
            entry.done.setdefault(row.partner_role, set()).update(row.days or [])
        elif not (couple_view and row.private):
            entry.notes.append(
                Note(
                    row.id,
                    row.partner_role,
                    row.prompt,
                    row.text,
                    row.private,
                    row.created_at,
                    row.id in read,
                )
            )
    return [
        SessionHomework(
            session.id,
            session.number,
            day,
            {p.role: p.first_name for p in session.couple.partners},
            list(found.values()),
        )
        for session, day, found in zip(sessions, days, items, strict=True)
    ]


def recent_homework(
    couple: Couple, *, couple_view: bool = False, limit: int = 3
) -> list[SessionHomework]:
    """The homework of the couple's latest held sessions, newest first."""
    sessions = db.session.scalars(
        select(TherapySession)
        .where(
            TherapySession.couple_id == couple.id,
            TherapySession.status == SessionStatus.HELD.value,
        )
        .order_by(TherapySession.starts_at.desc().nulls_last(), TherapySession.number.desc())
        .limit(limit)
    ).all()
    return homework_of([s for s in sessions if s.homework], couple_view=couple_view)


def homework_before(session: TherapySession) -> SessionHomework | None:
    """For a session's agenda: what came back about the previous held session's homework."""
    previous = db.session.scalar(
        select(TherapySession)
        .where(
            TherapySession.couple_id == session.couple_id,
            TherapySession.number < session.number,
            TherapySession.status == SessionStatus.HELD.value,
        )
        .order_by(TherapySession.number.desc())
        .limit(1)
    )
    if previous is None or not previous.homework:
        return None
    return homework_done(previous)


# --- unread and read --------------------------------------------------------------------------


@dataclass
class Unread:
    checkins: int = 0
    notes: int = 0

    @property
    def total(self) -> int:
        return self.checkins + self.notes


def unread_by_couple(couple_ids: Iterable[int]) -> dict[int, Unread]:
    """Check-ins partners sent and homework notes, not yet marked read, per couple."""
    ids = list(couple_ids)
    found: dict[int, Unread] = defaultdict(Unread)
    if not ids:
        return found
    checkin_read = select(ReadMark.record_id).where(ReadMark.kind == "checkin")
    for couple_id, count in db.session.execute(
        select(CheckIn.couple_id, func.count())
        .where(
            CheckIn.couple_id.in_(ids),
            CheckIn.entered_by == EnteredBy.PARTNER.value,
            CheckIn.reviewed_at.is_(None),
            CheckIn.id.not_in(checkin_read),
        )
        .group_by(CheckIn.couple_id)
    ):
        found[couple_id].checkins = count
    note_read = select(ReadMark.record_id).where(ReadMark.kind == "note")
    for couple_id, count in db.session.execute(
        select(HomeworkReply.couple_id, func.count())
        .where(
            HomeworkReply.couple_id.in_(ids),
            HomeworkReply.kind == "note",
            HomeworkReply.id.not_in(note_read),
        )
        .group_by(HomeworkReply.couple_id)
    ):
        found[couple_id].notes = count
    return found


def owner_couple_ids(owner: User) -> list[int]:
    return list(
        db.session.scalars(
            select(Couple.id).where(Couple.owner_id == owner.id, Couple.archived_at.is_(None))
        )
    )


def total_of(counts: Iterable[Unread]) -> Unread:
    total = Unread()
    for unread in counts:
        total.checkins += unread.checkins
        total.notes += unread.notes
    return total


@dataclass(frozen=True)
class InboxEntry:
    kind: str  # "checkin" or "note"
    record_id: int
    couple_id: int
    couple_label: str
    partner: str
    at: datetime
    private: bool
    summary: str  # for a note, its prompt; for a check-in, "Check-in"


def inbox(owner: User) -> list[InboxEntry]:
    """Everything unread for the therapist, newest first."""
    couples = {
        c.id: c
        for c in db.session.scalars(
            select(Couple).where(Couple.owner_id == owner.id, Couple.archived_at.is_(None))
        )
    }
    if not couples:
        return []
    names = {(c.id, p.role): p.first_name for c in couples.values() for p in c.partners}
    entries = []
    read_checkins = select(ReadMark.record_id).where(ReadMark.kind == "checkin")
    for checkin in db.session.execute(
        select(CheckIn.id, CheckIn.couple_id, CheckIn.partner_role, CheckIn.created_at).where(
            CheckIn.couple_id.in_(list(couples)),
            CheckIn.entered_by == EnteredBy.PARTNER.value,
            CheckIn.reviewed_at.is_(None),
            CheckIn.id.not_in(read_checkins),
        )
    ):
        entries.append(
            InboxEntry(
                "checkin",
                checkin.id,
                checkin.couple_id,
                couples[checkin.couple_id].label,
                names.get((checkin.couple_id, checkin.partner_role), ""),
                checkin.created_at,
                False,
                "Check-in",
            )
        )
    read_notes = select(ReadMark.record_id).where(ReadMark.kind == "note")
    for note in db.session.scalars(
        select(HomeworkReply).where(
            HomeworkReply.couple_id.in_(list(couples)),
            HomeworkReply.kind == "note",
            HomeworkReply.id.not_in(read_notes),
        )
    ):
        entries.append(
            InboxEntry(
                "note",
                note.id,
                note.couple_id,
                couples[note.couple_id].label,
                names.get((note.couple_id, note.partner_role), ""),
                note.created_at,
                note.private,
                note.prompt,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries


def note_text(owner: User, note_id: int) -> HomeworkReply | None:
    reply = db.session.get(HomeworkReply, note_id)
    if reply is None or reply.kind != "note":
        return None
    couple = db.session.get(Couple, reply.couple_id)
    return reply if couple is not None and couple.owner_id == owner.id else None


def mark_read(owner: User, kind: str, record_ids: Iterable[int]) -> int:
    """Mark the owner's own check-ins or notes read; others' ids are ignored."""
    wanted = {i for i in record_ids if isinstance(i, int) and 0 < i < 2**31}
    if kind not in ("checkin", "note") or not wanted:
        return 0
    model: Any = CheckIn if kind == "checkin" else HomeworkReply
    mine = set(
        db.session.scalars(
            select(model.id)
            .join(Couple, Couple.id == model.couple_id)
            .where(model.id.in_(wanted), Couple.owner_id == owner.id)
        )
    )
    fresh = mine - read_ids(kind, mine)
    for record_id in sorted(fresh):
        try:
            with db.session.begin_nested():
                db.session.add(ReadMark(kind=kind, record_id=record_id, read_by_id=owner.id))
                db.session.flush()
        except IntegrityError:
            pass  # marked read at the same moment elsewhere
    db.session.commit()
    return len(fresh)


def mark_all_read(owner: User, couple_id: int | None = None) -> int:
    entries = [e for e in inbox(owner) if couple_id is None or e.couple_id == couple_id]
    count = mark_read(owner, "checkin", [e.record_id for e in entries if e.kind == "checkin"])
    return count + mark_read(owner, "note", [e.record_id for e in entries if e.kind == "note"])
