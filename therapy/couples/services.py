"""Couples: the one scoped loader, saving and archiving, the caseload, the timeline."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask import url_for
from sqlalchemy import ColumnElement, Row, and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from therapy import audit, timeutil
from therapy.couples.access import Need, couple_access, works_with
from therapy.extensions import db
from therapy.models import (
    AuditEvent,
    Couple,
    CoupleGoal,
    CoupleStatus,
    LivingSituation,
    Partner,
    PartnerRole,
    SessionStatus,
    Tag,
    TherapySession,
    User,
    utcnow,
)
from therapy.models.couple import DEFAULT_SESSION_MINUTES
from therapy.pagination import Page, paginate
from therapy.parsing import MAX_ID as MAX_ID  # checkins/services.py imports it from here

CASELOAD_PAGE_SIZE = 25
SEARCH_MAX_WORDS = 8
RECENTLY_VIEWED = 5
FLAGGED_SHOWN = 20

STATUS_LABELS = {
    CoupleStatus.ACTIVE.value: "Active",
    CoupleStatus.PAUSED.value: "Paused",
    CoupleStatus.ENDED.value: "Ended",
}
LIVING_LABELS = {
    LivingSituation.TOGETHER.value: "Living together",
    LivingSituation.APART.value: "Living apart",
    LivingSituation.OTHER.value: "Other arrangement",
}


# --- what a couple's form carries, as plain values -------------------------------------


@dataclass(frozen=True)
class PartnerData:
    first_name: str
    last_name: str = ""
    pronouns: str = ""
    email: str = ""


@dataclass(frozen=True)
class GoalData:
    text: str
    target_date: date | None = None


@dataclass(frozen=True)
class CoupleData:
    """Everything a therapist can set on a couple; never owner, version or archive state."""

    partner_a: PartnerData
    partner_b: PartnerData
    label: str = ""  # blank: both first names
    status: str = CoupleStatus.ACTIVE.value
    started_on: date | None = None
    relationship_length: str = ""
    living_situation: str = ""
    long_distance: bool = False
    presenting_concerns: str = ""
    goals: tuple[GoalData, ...] = ()
    tags: tuple[str, ...] = ()
    default_session_minutes: int = DEFAULT_SESSION_MINUTES
    safety_flag: bool = False
    safety_reason: str = ""


def default_label(first_a: str, first_b: str) -> str:
    """The label a couple gets unless the therapist writes another: "Alex & Sam"."""
    return f"{first_a} & {first_b}"


def data_from_couple(couple: Couple) -> CoupleData:
    """A couple as it is saved, in the shape the form edits."""

    def partner(p: Partner | None) -> PartnerData:
        if p is None:
            return PartnerData(first_name="")
        return PartnerData(p.first_name, p.last_name or "", p.pronouns or "", p.email or "")

    a, b = partner(couple.partner_a), partner(couple.partner_b)
    label = "" if couple.label == default_label(a.first_name, b.first_name) else couple.label
    return CoupleData(
        partner_a=a,
        partner_b=b,
        label=label,
        status=couple.status,
        started_on=couple.started_on,
        relationship_length=couple.relationship_length or "",
        living_situation=couple.living_situation or "",
        long_distance=couple.long_distance,
        presenting_concerns=couple.presenting_concerns or "",
        goals=tuple(GoalData(g.text, g.target_date) for g in couple.goals),
        tags=tuple(t.name for t in couple.tags),
        default_session_minutes=couple.default_session_minutes,
        safety_flag=couple.safety_flag,
        safety_reason=couple.safety_reason or "",
    )


def describe(data: CoupleData) -> list[tuple[str, str]]:
    """Each field as a label and readable text, for showing two versions side by side."""

    def partner(p: PartnerData) -> str:
        name = f"{p.first_name} {p.last_name}".strip()
        extras = ", ".join(x for x in (p.pronouns, p.email) if x)
        return f"{name} ({extras})" if extras else name

    def goal(g: GoalData) -> str:
        return f"{g.text} (by {timeutil.format_date(g.target_date)})" if g.target_date else g.text

    label = data.label or default_label(data.partner_a.first_name, data.partner_b.first_name)
    return [
        ("Label", label),
        ("Partner A", partner(data.partner_a)),
        ("Partner B", partner(data.partner_b)),
        ("Status", STATUS_LABELS.get(data.status, data.status)),
        ("Started on", timeutil.format_date(data.started_on)),
        ("Relationship length", data.relationship_length),
        ("Living situation", LIVING_LABELS.get(data.living_situation, "")),
        ("Long-distance", "Yes" if data.long_distance else "No"),
        ("Presenting concerns", data.presenting_concerns),
        ("Goals", "\n".join(goal(g) for g in data.goals)),
        ("Tags", ", ".join(data.tags)),
        ("Default session length", f"{data.default_session_minutes} minutes"),
        ("Safety flag", "Yes" if data.safety_flag else "No"),
        ("Safety concern", data.safety_reason),
    ]


@dataclass(frozen=True)
class VersionRow:
    label: str
    saved: str
    typed: str

    @property
    def differs(self) -> bool:
        return self.saved != self.typed


def compare(saved: CoupleData, typed: CoupleData) -> list[VersionRow]:
    """The saved and the typed version, field by field."""
    return [
        VersionRow(label, saved_text, typed_text)
        for (label, saved_text), (_, typed_text) in zip(
            describe(saved), describe(typed), strict=True
        )
    ]


# --- loading: the only way to reach a couple -------------------------------------------


def get_couple_or_404(couple_id: int, need: Need | None = None) -> Couple:
    """A couple the signed-in therapist owns or has been given a share of, for `need`.

    Every view that touches a couple or anything belonging to one (sessions, check-ins,
    handouts) starts here, so access is decided in exactly one place: `access.couple_access`
    (404 for a couple that is neither theirs nor shared with them, 403 for a share that
    does not allow this; `need` defaults to reading for GET and editing for POST).
    """
    return couple_access(couple_id, need).couple


# --- saving ----------------------------------------------------------------------------


class EditConflict(Exception):
    """Someone saved this couple after the form being saved was opened."""

    def __init__(self, couple: Couple) -> None:
        super().__init__(couple.id)
        self.couple = couple


def fold(text: str) -> str:
    """Text for case-insensitive matching in any script: "ZOË" and "zoë" fold alike."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def tag_key(name: str) -> str:
    return fold(name)


def search_text(label: str, partners: Iterable[PartnerData], tags: Iterable[str]) -> str:
    """What the caseload search looks in, one field per line so words never run together."""
    names = [f"{p.first_name} {p.last_name}".strip() for p in partners]
    return "\n".join(fold(part) for part in (label, *names, *tags) if part)


def _none_if_blank(text: str) -> str | None:
    return text or None


def find_or_create_tags(owner_id: int, names: Iterable[str]) -> list[Tag]:
    """The owner's tags with these names (matched ignoring case), created where missing."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(tag_key(name), name)
    if not wanted:
        return []
    found = {
        tag.key: tag
        for tag in db.session.scalars(
            select(Tag).where(Tag.owner_id == owner_id, Tag.key.in_(wanted))
        )
    }
    for key, name in wanted.items():
        if key in found:
            continue
        tag = Tag(owner_id=owner_id, name=name, key=key)
        try:
            # A savepoint: if another request created the same tag a moment ago, use theirs.
            with db.session.begin_nested():
                db.session.add(tag)
        except IntegrityError:
            tag = db.session.scalars(
                select(Tag).where(Tag.owner_id == owner_id, Tag.key == key)
            ).one()
        found[key] = tag
    return [found[key] for key in wanted]


def _apply(couple: Couple, data: CoupleData, owner_id: int) -> None:
    """Copy the form's values onto the couple, field by field; nothing else is touched."""
    tags = find_or_create_tags(owner_id, data.tags)
    # No flush until every field is set: one UPDATE, so the version goes up by exactly one.
    with db.session.no_autoflush:
        _copy_fields(couple, data, tags)


def _copy_fields(couple: Couple, data: CoupleData, tags: list[Tag]) -> None:
    label = data.label or default_label(data.partner_a.first_name, data.partner_b.first_name)
    couple.label = label
    couple.status = data.status
    couple.started_on = data.started_on
    couple.relationship_length = _none_if_blank(data.relationship_length)
    couple.living_situation = _none_if_blank(data.living_situation)
    couple.long_distance = data.long_distance
    couple.presenting_concerns = _none_if_blank(data.presenting_concerns)
    couple.default_session_minutes = data.default_session_minutes
    couple.safety_flag = data.safety_flag
    couple.safety_reason = _none_if_blank(data.safety_reason)
    for role, values in ((PartnerRole.A, data.partner_a), (PartnerRole.B, data.partner_b)):
        partner = couple._partner(role)
        if partner is None:
            partner = Partner(role=role.value)
            couple.partners.append(partner)
        partner.first_name = values.first_name
        partner.last_name = _none_if_blank(values.last_name)
        partner.pronouns = _none_if_blank(values.pronouns)
        partner.email = _none_if_blank(values.email)
    _apply_goals(couple, data.goals)
    couple.tags = tags
    couple.search_text = search_text(label, (data.partner_a, data.partner_b), data.tags)
    # Always touch the row itself, so the version bumps even when only goals, partners or
    # tags changed: the version guards the whole record, not just the couples table.
    couple.updated_at = utcnow()


def refresh_search_text(couple: Couple) -> None:
    """Recompute what the caseload search looks in, after names or tags changed."""
    partners = [PartnerData(p.first_name, p.last_name or "") for p in couple.partners]
    couple.search_text = search_text(couple.label, partners, [t.name for t in couple.tags])


def _apply_goals(couple: Couple, goals: tuple[GoalData, ...]) -> None:
    # Rows are updated in place by position, so positions never collide mid-flush: the
    # list only ever grows at the end (inserts) or shrinks at the end (deletes).
    existing = list(couple.goals)
    for position, goal in enumerate(goals):
        if position < len(existing):
            row = existing[position]
            row.text, row.target_date = goal.text, goal.target_date
        else:
            couple.goals.append(
                CoupleGoal(position=position, text=goal.text, target_date=goal.target_date)
            )
    for row in existing[len(goals) :]:
        couple.goals.remove(row)


def create_couple(owner: User, data: CoupleData) -> Couple:
    """Add a couple to the therapist's caseload."""
    couple = Couple(owner_id=owner.id)
    # Filled in before it joins the session, so no autoflush sees it half-built.
    _apply(couple, data, owner.id)
    db.session.add(couple)
    db.session.flush()
    audit.record("couple.create", record_type="couple", record_id=couple.id)
    db.session.commit()
    return couple


def update_couple(couple: Couple, data: CoupleData, *, expected_version: str) -> None:
    """Save an edit made on the version the form was opened at, or raise EditConflict."""
    if expected_version != str(couple.version):
        raise EditConflict(couple)
    _apply(couple, data, couple.owner_id)
    audit.record("couple.edit", record_type="couple", record_id=couple.id)
    try:
        db.session.commit()
    except StaleDataError:
        # Another save committed between our read and our write: nothing of ours is
        # saved, and the couple reloads as it is now.
        db.session.rollback()
        raise EditConflict(couple) from None


ArchiveStep = Callable[[Couple], None]
_archive_steps: list[ArchiveStep] = []


def on_archive(step: ArchiveStep) -> ArchiveStep:
    """Register a function run when a couple is archived, in the same transaction.

    Later features register theirs next to their own services (check-ins close the
    couple's partner links), as with `timeline_source`.
    """
    if step not in _archive_steps:
        _archive_steps.append(step)
    return step


def _set_archived(couple: Couple, archived: bool, action: str) -> bool:
    if couple.is_archived == archived:
        return False
    couple.archived_at = utcnow() if archived else None
    audit.record(action, record_type="couple", record_id=couple.id)
    if archived:
        for step in _archive_steps:
            step(couple)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise EditConflict(couple) from None
    return True


def archive_couple(couple: Couple) -> bool:
    """Move a couple out of the caseload; nothing is deleted. False if already archived."""
    return _set_archived(couple, True, "couple.archive")


def restore_couple(couple: Couple) -> bool:
    """Bring an archived couple back into the caseload. False if it was not archived."""
    return _set_archived(couple, False, "couple.restore")


def record_view(couple: Couple) -> None:
    """Note in the audit trail that the therapist opened this couple's record."""
    audit.record("couple.view", record_type="couple", record_id=couple.id)
    db.session.commit()


# --- the caseload ----------------------------------------------------------------------


SORTS = {
    "label": "Name (A to Z)",
    "last": "Last session (most recent first)",
    "next": "Next session (soonest first)",
}


@dataclass(frozen=True)
class CaseloadQuery:
    text: str = ""
    status: str = ""
    tag_id: int | None = None
    archived: bool = False
    sort: str = "label"
    page: int = 1


@dataclass(frozen=True)
class CaseloadRow:
    couple: Couple
    last_session_at: datetime | None
    next_session_at: datetime | None


def session_times(owner_id: int, now: datetime, *, shared: bool = False) -> Any:
    """Per couple of this owner (`shared`: and those they are co-therapist for): the latest
    past and the earliest future session, as a subquery (its columns keep the UTC type).
    Cancelled and undated sessions do not count."""
    starts = TherapySession.starts_at
    # A session marked held is past, whatever its date says (it may have been dated ahead
    # by mistake, or moved): it is the last session, never the next.
    held = TherapySession.status == SessionStatus.HELD.value
    return (
        select(
            TherapySession.couple_id.label("couple_id"),
            func.max(case((or_(starts < now, held), starts))).label("last_at"),
            func.min(case((and_(starts >= now, ~held), starts))).label("next_at"),
        )
        .join(Couple, Couple.id == TherapySession.couple_id)
        .where(
            works_with(owner_id) if shared else Couple.owner_id == owner_id,
            TherapySession.status != SessionStatus.CANCELLED.value,
            starts.is_not(None),
        )
        .group_by(TherapySession.couple_id)
        .subquery("session_times")
    )


def caseload_filters(owner_id: int | None, query: CaseloadQuery) -> list[ColumnElement[bool]]:
    """The caseload's conditions; `owner_id` None leaves ownership to the caller (the
    couples shared with a therapist)."""
    conditions: list[ColumnElement[bool]] = [
        Couple.archived_at.is_not(None) if query.archived else Couple.archived_at.is_(None),
    ]
    if owner_id is not None:
        conditions.append(Couple.owner_id == owner_id)
    if query.status:
        conditions.append(Couple.status == query.status)
    if query.tag_id is not None:
        conditions.append(Couple.tags.any(Tag.id == query.tag_id))
    for word in fold(query.text).split()[:SEARCH_MAX_WORDS]:
        conditions.append(Couple.search_text.contains(word, autoescape=True))
    return conditions


def caseload(owner: User, query: CaseloadQuery) -> Page[CaseloadRow]:
    """One page of the therapist's couples with their last and next session.

    A fixed number of queries whatever the caseload's size: a count, the page (session
    times come from one grouped subquery), and the page's tags.
    """
    times = session_times(owner.id, utcnow())
    conditions = caseload_filters(owner.id, query)
    order: list[Any]
    if query.sort == "last":
        order = [times.c.last_at.desc().nulls_last()]
    elif query.sort == "next":
        order = [times.c.next_at.asc().nulls_last()]
    else:
        order = []
    order += [func.lower(Couple.label), Couple.id]
    stmt = (
        select(Couple, times.c.last_at, times.c.next_at)
        .outerjoin(times, times.c.couple_id == Couple.id)
        .where(*conditions)
        .order_by(*order)
        .options(selectinload(Couple.tags))
    )
    count = select(func.count()).select_from(Couple).where(*conditions)
    return paginate(
        stmt,
        page=query.page,
        per_page=CASELOAD_PAGE_SIZE,
        count=count,
        row=lambda r: CaseloadRow(r[0], r[1], r[2]),
    )


def owner_tags(owner: User) -> list[Tag]:
    """The therapist's tags, for the caseload's tag filter."""
    return list(db.session.scalars(select(Tag).where(Tag.owner_id == owner.id).order_by(Tag.key)))


# --- the timeline ----------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One dated thing in a couple's history, as plain values a template can show."""

    at: datetime  # aware; orders the timeline
    kind: str  # "session", "start", and later "check-in", "homework", ...
    title: str
    url: str | None = None
    detail: str = ""
    date_only: bool = False


TimelineSource = Callable[[Couple], Iterable[TimelineEntry]]
_timeline_sources: list[TimelineSource] = []


def timeline_source(source: TimelineSource) -> TimelineSource:
    """Register a function that adds entries to every couple's timeline (a decorator).

    Later features (check-ins, homework) register theirs next to their own services.
    """
    if source not in _timeline_sources:
        _timeline_sources.append(source)
    return source


def timeline(couple: Couple) -> list[TimelineEntry]:
    """The couple's history, newest first."""
    entries = [entry for source in _timeline_sources for entry in source(couple)]
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def start_of_day(day: date) -> datetime:
    """Midnight of a calendar day in the therapist's zone, for ordering date-only entries."""
    return datetime.combine(day, time.min, tzinfo=timeutil.zone())


SESSION_STATUS_LABELS = {
    SessionStatus.DRAFT.value: "draft",
    SessionStatus.PLANNED.value: "planned",
    SessionStatus.HELD.value: "held",
    SessionStatus.CANCELLED.value: "cancelled",
}


@timeline_source
def _session_entries(couple: Couple) -> Iterable[TimelineEntry]:
    # Only the columns shown: whole sessions would also load their plans and focus.
    sessions = db.session.execute(
        select(
            TherapySession.id,
            TherapySession.number,
            TherapySession.status,
            TherapySession.minutes,
            TherapySession.starts_at,
            TherapySession.created_at,
        ).where(TherapySession.couple_id == couple.id)
    )
    for session in sessions:
        status = SESSION_STATUS_LABELS.get(session.status, session.status)
        when = "" if session.starts_at else ", not scheduled yet"
        yield TimelineEntry(
            at=session.starts_at or session.created_at,
            kind="session",
            title=f"Session {session.number}",
            url=url_for("sessions.builder", session_id=session.id),
            detail=f"{status.capitalize()} · {session.minutes} minutes{when}",
            date_only=session.starts_at is None,
        )


@timeline_source
def _start_entry(couple: Couple) -> Iterable[TimelineEntry]:
    if couple.started_on is not None:
        yield TimelineEntry(
            at=start_of_day(couple.started_on),
            kind="start",
            title="Started therapy",
            date_only=True,
        )


# --- the dashboard ---------------------------------------------------------------------


@dataclass
class CaseloadSummary:
    counts: dict[str, int] = field(default_factory=dict)
    archived: int = 0
    flagged: list[Couple] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def summary(owner: User) -> CaseloadSummary:
    """Counts by status and couples with a safety flag. (Recently viewed couples are a
    part of the dashboard of their own: `recently_viewed`.)"""
    result = CaseloadSummary(counts={status: 0 for status in STATUS_LABELS})
    rows = db.session.execute(
        select(Couple.status, Couple.archived_at.is_not(None), func.count())
        .where(Couple.owner_id == owner.id)
        .group_by(Couple.status, Couple.archived_at.is_not(None))
    )
    for status, archived, number in rows:
        if archived:
            result.archived += number
        else:
            result.counts[status] = result.counts.get(status, 0) + number
    # Safety flags of couples they are co-therapist for too: they may see them first.
    result.flagged = list(
        db.session.scalars(
            select(Couple)
            .where(
                works_with(owner.id),
                Couple.archived_at.is_(None),
                Couple.safety_flag.is_(True),
            )
            .order_by(func.lower(Couple.label), Couple.id)
            .limit(FLAGGED_SHOWN)
        )
    )
    return result


def recently_viewed(owner: User, limit: int = RECENTLY_VIEWED) -> list[Row[tuple[int, str, str]]]:
    """The couples the therapist works with (see access.works_with) they opened most
    recently, from their own audit trail: each one's id, label and status. (Rows, not
    Couples: the dashboard keeps them as a part its worker's threads share; see
    pagecache.py.)

    Each couple's last view is looked up on its own (ix_audit_events_views answers it from
    the end of the index), so the cost grows with the caseload, not with the trail."""
    last_view = (
        select(func.max(AuditEvent.at))
        .where(
            AuditEvent.actor_id == owner.id,
            AuditEvent.action == "couple.view",
            AuditEvent.record_type == "couple",
            AuditEvent.record_id == Couple.id,
        )
        .correlate(Couple)
        .scalar_subquery()
    )
    caseload = (
        select(Couple.id, Couple.label, Couple.status, last_view.label("seen_at"))
        .where(works_with(owner.id), Couple.archived_at.is_(None))
        .subquery()
    )
    return list(
        db.session.execute(
            select(caseload.c.id, caseload.c.label, caseload.c.status)
            .where(caseload.c.seen_at.is_not(None))
            .order_by(caseload.c.seen_at.desc(), caseload.c.id.desc())
            .limit(limit)
        )
    )
