"""A couple shared by its owner with another therapist, as co-therapist or supervisor."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.base import Base, UTCDateTime, utcnow


class ShareRole(StrEnum):
    # Plans and edits everything the owner can, except sharing, deleting and reassigning.
    COTHERAPIST = "cotherapist"
    # Reads everything, changes nothing; partners' private answers only when allowed.
    SUPERVISOR = "supervisor"


class CoupleShare(Base):
    """One therapist's access to another therapist's couple. Revoking deletes the row;
    every request checks this table again, so a revoked share stops at the next click."""

    __tablename__ = "couple_shares"
    __table_args__ = (
        UniqueConstraint("couple_id", "user_id", name="uq_couple_shares_couple_id_user_id"),
        CheckConstraint("role IN ('cotherapist', 'supervisor')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    # Whether a supervisor may read the answers a partner marked private (a co-therapist
    # always does, as the owner does).
    private_answers: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CoupleShare {self.id} couple:{self.couple_id} {self.role}>"
