"""Couples moved between therapists by an administrator, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.base import Base, UTCDateTime, utcnow

REASON_MAX = 200


class CoupleReassignment(Base):
    """One move of a couple to another therapist: by whom, when and the (non-clinical)
    reason the new therapist is shown. Nobody edits these from the app."""

    __tablename__ = "couple_reassignments"
    __table_args__ = (
        # An administrator manages the practice, not its records: never to themselves.
        CheckConstraint("to_owner_id <> by_id", name="not_to_the_administrator"),
        CheckConstraint("to_owner_id <> from_owner_id", name="to_another_therapist"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    from_owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(REASON_MAX))

    def __repr__(self) -> str:
        return f"<CoupleReassignment {self.id} couple:{self.couple_id}>"
