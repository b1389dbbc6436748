"""Therapy sessions: for now only what the caseload and the timeline need."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.base import Base, UTCDateTime, utcnow


class SessionStatus(StrEnum):
    DRAFT = "draft"
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class TherapySession(Base):
    """One planned or held session of a couple; the plan builder extends it later."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("couple_id", "number", name="uq_sessions_couple_id_number"),
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("status IN ('draft', 'planned', 'held', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<TherapySession {self.id} #{self.number}>"
