"""Administration: accounts, reassigning couples between therapists, reading the audit log.

An administrator manages the practice, not its clinical records: nothing here loads a
couple's clinical details, only its label, status and owner. Nor can an administrator
give a couple to themselves (the schema refuses it too): that would be a way to read any
record in the practice. Every reassignment carries a short reason, kept with who moved
the couple and when, and shown to the new therapist on the couple's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from therapy import audit, timeutil
from therapy.couples import services as couples
from therapy.couples import sharing
from therapy.extensions import db
from therapy.models import AuditEvent, Couple, CoupleReassignment, User, utcnow
from therapy.models.reassignment import REASON_MAX
from therapy.pagination import Page, paginate
from therapy.parsing import valid_id

COUPLES_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50


class ReassignRefused(ValueError):
    """The couple cannot go to that therapist; the message says why."""


@dataclass(frozen=True)
class TherapistRow:
    user: User
    couples: int
    archived: int


def therapists() -> list[TherapistRow]:
    """Every account, with how many couples each holds (archived ones counted apart)."""
    rows = db.session.execute(
        select(User, func.count(Couple.id), func.count(Couple.archived_at))
        .outerjoin(Couple, Couple.owner_id == User.id)
        .group_by(User.id)
        .order_by(func.lower(User.display_name), User.id)
    )
    return [TherapistRow(user, total - archived, archived) for user, total, archived in rows]


def active_therapists() -> list[User]:
    """Accounts that can hold couples: every active one (administrators see clients too)."""
    return list(
        db.session.scalars(
            select(User).where(User.active.is_(True)).order_by(func.lower(User.display_name))
        )
    )


def get_user(user_id: int) -> User | None:
    if not valid_id(user_id):
        return None
    return db.session.get(User, user_id)


@dataclass(frozen=True)
class CoupleListing:
    """What an administrator sees of a couple: no clinical details."""

    id: int
    label: str
    status: str
    archived: bool
    owner_id: int
    owner_name: str


def practice_couples(*, owner_id: int | None, page: int) -> Page[CoupleListing]:
    """Every couple in the practice, by owner, as label, status and owner only."""
    owner = aliased(User)
    stmt = (
        select(
            Couple.id,
            Couple.label,
            Couple.status,
            Couple.archived_at.is_not(None),
            Couple.owner_id,
            owner.display_name,
        )
        .join(owner, owner.id == Couple.owner_id)
        .order_by(func.lower(owner.display_name), func.lower(Couple.label), Couple.id)
    )
    count = select(func.count()).select_from(Couple)
    if owner_id is not None:
        stmt = stmt.where(Couple.owner_id == owner_id)
        count = count.where(Couple.owner_id == owner_id)
    return paginate(
        stmt,
        page=page,
        per_page=COUPLES_PAGE_SIZE,
        count=count,
        row=lambda r: CoupleListing(*r),
    )


def couple_listing(couple_id: int) -> CoupleListing | None:
    """One couple as an administrator sees it (label, status, owner), or None."""
    if not valid_id(couple_id):
        return None
    owner = aliased(User)
    row = db.session.execute(
        select(
            Couple.id,
            Couple.label,
            Couple.status,
            Couple.archived_at.is_not(None),
            Couple.owner_id,
            owner.display_name,
        )
        .join(owner, owner.id == Couple.owner_id)
        .where(Couple.id == couple_id)
    ).one_or_none()
    return CoupleListing(*row) if row else None


def reassignment_choices(couple: CoupleListing, admin: User) -> list[User]:
    """The therapists a couple can go to: active, not its owner, not the administrator."""
    return [user for user in active_therapists() if user.id not in (couple.owner_id, admin.id)]


def reassign_couple(
    couple_id: int, new_owner_id: int, *, reason: str, admin: User
) -> tuple[Couple, User]:
    """Give a couple (with its sessions and tags) to another active therapist, with a
    reason the new therapist is shown; never to the administrator doing it."""
    couple = db.session.get(Couple, couple_id) if valid_id(couple_id) else None
    if couple is None:
        raise ReassignRefused("That couple no longer exists.")
    new_owner = get_user(new_owner_id)
    if new_owner is None or not new_owner.active:
        raise ReassignRefused("Choose an active therapist.")
    if new_owner.id == admin.id:
        raise ReassignRefused(
            "You cannot reassign a couple to yourself. Administrators manage the practice, "
            "not its records; another administrator can reassign it to you."
        )
    if new_owner.id == couple.owner_id:
        raise ReassignRefused(f"{couple.label} is already with {new_owner.display_name}.")
    reason = " ".join(reason.split())
    if not reason:
        raise ReassignRefused("Give a short reason; the new therapist sees it.")
    if len(reason) > REASON_MAX:
        raise ReassignRefused(f"Keep the reason under {REASON_MAX} characters.")
    previous_owner_id = couple.owner_id
    # Tags belong to a therapist: the couple takes the same words into the new caseload.
    tags = couples.find_or_create_tags(new_owner.id, [tag.name for tag in couple.tags])
    with db.session.no_autoflush:  # one UPDATE: the version goes up by one
        couple.tags = tags
        couple.owner_id = new_owner.id
        couples.refresh_search_text(couple)
        couple.updated_at = utcnow()
    # Someone the couple was shared with who now owns it needs no share any more.
    sharing.end_share_of(couple, new_owner.id)
    db.session.add(
        CoupleReassignment(
            couple_id=couple.id,
            from_owner_id=previous_owner_id,
            to_owner_id=new_owner.id,
            by_id=admin.id,
            reason=reason,
        )
    )
    audit.record("couple.reassign", record_type="couple", record_id=couple.id, actor=admin)
    db.session.commit()
    return couple, new_owner


@dataclass(frozen=True)
class ReassignmentNotice:
    """What the new therapist reads on the couple's page."""

    from_name: str
    by_name: str
    at: datetime
    reason: str


def reassignment_notice(couple: Couple, viewer: User) -> ReassignmentNotice | None:
    """How the couple came to the viewer, when an administrator gave it to them."""
    if couple.owner_id != viewer.id:
        return None
    previous, admin = aliased(User), aliased(User)
    row = db.session.execute(
        select(CoupleReassignment, previous.display_name, admin.display_name)
        .join(previous, previous.id == CoupleReassignment.from_owner_id)
        .join(admin, admin.id == CoupleReassignment.by_id)
        .where(CoupleReassignment.couple_id == couple.id)
        .order_by(CoupleReassignment.at.desc(), CoupleReassignment.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None or row[0].to_owner_id != viewer.id:
        return None
    moved, from_name, by_name = row
    return ReassignmentNotice(from_name, by_name, moved.at, moved.reason)


@dataclass(frozen=True)
class AuditQuery:
    actor_id: int | None = None
    action: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_name: str | None
    actor_email: str | None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timeutil.zone()).astimezone(UTC)


def audit_log(query: AuditQuery) -> Page[AuditRow]:
    """The audit trail, newest first; dates are whole days in the reader's time zone."""
    conditions = []
    if query.actor_id is not None:
        conditions.append(AuditEvent.actor_id == query.actor_id)
    if query.action:
        conditions.append(AuditEvent.action == query.action)
    if query.since is not None:
        conditions.append(AuditEvent.at >= _local_midnight(query.since))
    if query.until is not None:
        conditions.append(AuditEvent.at < _local_midnight(query.until + timedelta(days=1)))
    stmt = (
        select(AuditEvent, User.display_name, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    count = select(func.count()).select_from(AuditEvent).where(*conditions)
    return paginate(
        stmt,
        page=query.page,
        per_page=AUDIT_PAGE_SIZE,
        count=count,
        row=lambda r: AuditRow(r[0], r[1], r[2]),
    )


def audit_actions() -> list[str]:
    """The actions that occur in the log, for its filter."""
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def everyone() -> list[User]:
    return list(db.session.scalars(select(User).order_by(func.lower(User.display_name), User.id)))
