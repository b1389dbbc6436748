"""Sharing a couple with a co-therapist or a supervisor, and taking the share back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from therapy import audit
from therapy.couples.services import CaseloadQuery, caseload_filters
from therapy.extensions import db
from therapy.models import Couple, CoupleShare, ShareRole, User
from therapy.parsing import valid_id


class ShareRefused(Exception):
    """The share cannot be made; the message says why, in words for the owner."""


@dataclass(frozen=True)
class ShareRow:
    share: CoupleShare
    name: str
    email: str


def shares_of(couple: Couple) -> list[ShareRow]:
    """Who else can open this couple, and how."""
    rows = db.session.execute(
        select(CoupleShare, User.display_name, User.email)
        .join(User, User.id == CoupleShare.user_id)
        .where(CoupleShare.couple_id == couple.id)
        .order_by(func.lower(User.display_name), CoupleShare.id)
    )
    return [ShareRow(share, name, email) for share, name, email in rows]


def share_choices(couple: Couple) -> list[User]:
    """Active accounts the owner may share with: not the owner, not already shared."""
    taken = select(CoupleShare.user_id).where(CoupleShare.couple_id == couple.id)
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.id != couple.owner_id, User.id.not_in(taken))
            .order_by(func.lower(User.display_name), User.id)
        )
    )


def share_couple(
    couple: Couple, user_id: int, role: str, *, private_answers: bool, by: User
) -> tuple[CoupleShare, User]:
    """Give another therapist access to this couple. Audited (ids only)."""
    if role not in {r.value for r in ShareRole}:
        raise ShareRefused("Choose co-therapist or supervisor.")
    user = db.session.get(User, user_id) if valid_id(user_id) else None
    if user is None or not user.active:
        raise ShareRefused("Choose an active therapist.")
    if user.id == couple.owner_id:
        raise ShareRefused("This couple is already in their caseload.")
    share = CoupleShare(
        couple_id=couple.id,
        user_id=user.id,
        role=role,
        # A co-therapist works as the owner does; the choice is a supervisor's only.
        private_answers=private_answers or role == ShareRole.COTHERAPIST.value,
        created_by_id=by.id,
    )
    db.session.add(share)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ShareRefused("This couple is already shared with them.") from None
    audit.record(f"share.{role}.grant", record_type="couple", record_id=couple.id, actor=by)
    db.session.commit()
    return share, user


def revoke_share(couple: Couple, share_id: int, *, by: User) -> User | None:
    """End a share at once: their next request, from any open page, is refused."""
    share = (
        db.session.scalar(
            select(CoupleShare).where(
                CoupleShare.id == share_id, CoupleShare.couple_id == couple.id
            )
        )
        if valid_id(share_id)
        else None
    )
    if share is None:
        return None
    user = db.session.get(User, share.user_id)
    audit.record(f"share.{share.role}.revoke", record_type="couple", record_id=couple.id, actor=by)
    db.session.delete(share)
    db.session.commit()
    return user


def end_share_of(couple: Couple, user_id: int) -> None:
    """Drop a share of someone who becomes the owner (an administrator's reassignment)."""
    share = db.session.scalar(
        select(CoupleShare).where(
            CoupleShare.couple_id == couple.id, CoupleShare.user_id == user_id
        )
    )
    if share is not None:
        db.session.delete(share)


@dataclass(frozen=True)
class SharedRow:
    couple: Couple
    role: str
    owner_name: str
    since: datetime


def shared_with(user: User, query: CaseloadQuery | None = None) -> list[SharedRow]:
    """Couples other therapists shared with this one, for the caseload's own section,
    with the caseload's search and status filter (tags are each therapist's own words:
    a tag filter shows no shared couples)."""
    query = query or CaseloadQuery()
    if query.tag_id is not None:
        return []
    conditions = caseload_filters(None, query)
    rows = db.session.execute(
        select(Couple, CoupleShare.role, User.display_name, CoupleShare.created_at)
        .join(CoupleShare, CoupleShare.couple_id == Couple.id)
        .join(User, User.id == Couple.owner_id)
        .where(CoupleShare.user_id == user.id, *conditions)
        .order_by(func.lower(Couple.label), Couple.id)
    )
    return [SharedRow(couple, role, owner, since) for couple, role, owner, since in rows]
