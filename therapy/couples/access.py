"""Who may do what with a couple: the one place that decides it, on every request.

A couple has one owner. The owner may share it with another therapist as co-therapist
(plans and edits everything the owner can, except sharing, deleting and reassigning) or
as supervisor (reads everything, changes nothing, and sees the answers partners marked
private only when the owner allowed it when sharing).

Every route that touches a couple or anything of one (sessions, check-ins, links,
handouts, reports) reaches the couple through `couple_access`, with the level it needs.
The answer is read from the database on every request, never kept in the login session:
revoking a share refuses the very next request from any open page. Each request a
non-owner makes to a shared couple writes one audit event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from flask import abort, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.sql.base import ExecutableOption
from werkzeug.wrappers import Response

from therapy import audit
from therapy.extensions import db
from therapy.models import Couple, CoupleShare, ShareRole, TherapySession
from therapy.parsing import valid_id

log = logging.getLogger(__name__)

OWNER = "owner"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Need(IntEnum):
    """What a route does with a couple, from least to most."""

    READ = 1  # look: owner, co-therapist, supervisor
    EDIT = 2  # change anything clinical: owner, co-therapist
    OWN = 3  # share, delete: the owner only


ROLE_CAN = {
    OWNER: Need.OWN,
    ShareRole.COTHERAPIST.value: Need.EDIT,
    ShareRole.SUPERVISOR.value: Need.READ,
}

ROLE_LABELS = {
    OWNER: "Owner",
    ShareRole.COTHERAPIST.value: "Co-therapist",
    ShareRole.SUPERVISOR.value: "Supervisor",
}


@dataclass(frozen=True)
class Access:
    """The signed-in therapist's standing with one couple."""

    couple: Couple
    role: str  # "owner", "cotherapist" or "supervisor"
    private_answers: bool  # may read answers a partner marked private

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def can_edit(self) -> bool:
        return ROLE_CAN[self.role] >= Need.EDIT

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.role]


class Refused(Exception):
    """This therapist may see the couple but not do this (a supervisor's change)."""


def works_with(user_id: int) -> ColumnElement[bool]:
    """The couples a therapist works with, as a condition on Couple: their own, and those
    shared with them as co-therapist. These fill the dashboard (this week's sessions, what
    needs attention, safety flags) and the week's print run. A supervisor reads a shared
    couple when they open it and has none of these on their dashboard."""
    shared = select(CoupleShare.couple_id).where(
        CoupleShare.user_id == user_id, CoupleShare.role == ShareRole.COTHERAPIST.value
    )
    return or_(Couple.owner_id == user_id, Couple.id.in_(shared))


def default_need() -> Need:
    """A request that only reads needs READ; every other method changes something."""
    if has_request_context() and request.method not in READ_METHODS:
        return Need.EDIT
    return Need.READ


def _share_of(user_id: int) -> ColumnElement[bool]:
    """Join condition: the user's share of the couple, if any."""
    return (CoupleShare.couple_id == Couple.id) & (CoupleShare.user_id == user_id)


def _decide(
    couple: Couple, share_role: str | None, private_answers: bool | None, user_id: int
) -> tuple[Couple, str, bool] | None:
    if couple.owner_id == user_id:
        return couple, OWNER, True
    if share_role is None:
        return None
    # A co-therapist works as the owner does, private answers included.
    allowed = bool(private_answers) or share_role == ShareRole.COTHERAPIST.value
    return couple, share_role, allowed


def _lookup(couple_id: int, user_id: int) -> tuple[Couple, str, bool] | None:
    row = db.session.execute(
        select(Couple, CoupleShare.role, CoupleShare.private_answers)
        .outerjoin(CoupleShare, _share_of(user_id))
        .where(Couple.id == couple_id)
    ).one_or_none()
    return None if row is None else _decide(row[0], row[1], row[2], user_id)


def couple_access(couple_id: int, need: Need | None = None, *, page: bool = True) -> Access:
    """The signed-in therapist's access to this couple, checked now against the database.

    404 when the couple does not exist or is neither theirs nor shared with them (as if it
    did not exist); 403 when it is shared with them but not for this (a supervisor's POST,
    a co-therapist's sharing or deleting). `page=False` for a request about many couples
    (the week's print run): checked and audited, but not the page's couple (the page then
    carries no "Shared with you" notice about one of them).
    """
    if not current_user.is_authenticated or not valid_id(couple_id):
        abort(404)
    return _grant(_lookup(couple_id, current_user.id), need, page=page)


def session_access(
    session_id: int, need: Need | None = None, *, options: Sequence[ExecutableOption] = ()
) -> tuple[TherapySession, Access]:
    """A session and the signed-in therapist's access to its couple, read in one query and
    decided as `couple_access` decides (404 for a session of nobody's couple they may see).
    For pages that read a session (the plan builder): one round trip to the database, not
    two. `options`: loader options for the session."""
    if not current_user.is_authenticated or not valid_id(session_id):
        abort(404)
    row = db.session.execute(
        select(TherapySession, Couple, CoupleShare.role, CoupleShare.private_answers)
        .join_from(TherapySession, Couple, TherapySession.couple_id == Couple.id)
        .outerjoin_from(Couple, CoupleShare, _share_of(current_user.id))
        .where(TherapySession.id == session_id)
        .options(*options)
    ).one_or_none()
    if row is None:
        abort(404)
    session, couple, role, private_answers = row
    return session, _grant(_decide(couple, role, private_answers, current_user.id), need, page=True)


def _grant(found: tuple[Couple, str, bool] | None, need: Need | None, *, page: bool) -> Access:
    need = default_need() if need is None else need
    if found is None:
        abort(404)
    couple, role, private_answers = found
    access = Access(couple, role, private_answers)
    if not access.is_owner:
        _audit_shared(access, refused=ROLE_CAN[role] < need)
    if ROLE_CAN[role] < need:
        abort(403)
    if page and has_request_context():
        g.couple_access = access
    return access


def _audit_shared(access: Access, *, refused: bool) -> None:
    """One audit event per request per shared couple: who, which couple, allowed or not.

    Written after the view (see `write_shared_audit`), in its own commit: a read-only
    page commits nothing, and a view that locks a row must not have it released early.
    """
    if not has_request_context():
        return
    pending: dict[int, str] = g.setdefault("shared_access_audit", {})
    action = f"share.{access.role}.{'refused' if refused else 'access'}"
    if refused or access.couple.id not in pending:
        pending[access.couple.id] = action


def write_shared_audit(response: Response) -> Response:
    """After every request: the audit events of shared access it made, committed."""
    pending: dict[int, str] = g.pop("shared_access_audit", {})
    if not pending:
        return response
    try:
        db.session.rollback()  # whatever the view left uncommitted is not ours to save
        for couple_id, action in pending.items():
            audit.record(action, record_type="couple", record_id=couple_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("Could not write the audit of a shared couple's access")
    return response


def current() -> Access | None:
    """The access found for this request's couple, for templates (None off couple pages)."""
    if not has_request_context():
        return None
    found: Access | None = g.get("couple_access")
    return found


def may_see_private(couple: Couple) -> bool:
    """Whether the signed-in therapist may read answers this couple's partners marked
    private: the owner and co-therapists yes, a supervisor only when the owner allowed."""
    access = current()
    if access is not None and access.couple.id == couple.id:
        return access.private_answers
    return couple_access(couple.id, Need.READ).private_answers
