"""Sessions, their plans (plan items with snapshots) and saved plan templates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from therapy.models.base import Base, UTCDateTime, utcnow
from therapy.models.library import Practice

if TYPE_CHECKING:
    from therapy.models.couple import Couple


class SessionStatus(StrEnum):
    DRAFT = "draft"
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


# The practices a session concentrates on (the plan builder suggests from them).
session_practices = Table(
    "session_practices",
    Base.metadata,
    Column("session_id", ForeignKey("sessions.id"), primary_key=True),
    Column("practice_id", ForeignKey("practices.id"), primary_key=True),
)


class TherapySession(Base):
    """One planned or held session of a couple, with its plan and notes afterwards."""

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
    # Written after the session: what happened, and what to follow up next time.
    notes_happened: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes_follow_up: Mapped[str] = mapped_column(Text, default="", server_default="")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every change to the session or its plan; two tabs cannot overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set on every change, to the plan too, so each change is an UPDATE that bumps version.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    couple: Mapped[Couple] = relationship()
    focus: Mapped[list[Practice]] = relationship(
        secondary=session_practices, order_by=Practice.position, lazy="selectin"
    )
    items: Mapped[list[PlanItem]] = relationship(
        back_populates="session",
        order_by="PlanItem.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    __mapper_args__: dict[str, Any] = {"version_id_col": version}

    @property
    def planned_minutes(self) -> int:
        return sum(item.minutes for item in self.items if not item.homework)

    @property
    def homework(self) -> list[PlanItem]:
        return [item for item in self.items if item.homework]

    def __repr__(self) -> str:
        return f"<TherapySession {self.id} #{self.number}>"


class PlanItem(Base):
    """An exercise in a session's plan, with the exercise's text as it was when planned."""

    __tablename__ = "plan_items"
    __table_args__ = (
        CheckConstraint("minutes > 0 AND minutes <= 240", name="minutes_range"),
        CheckConstraint(
            "days_per_week IS NULL OR (days_per_week >= 1 AND days_per_week <= 7)",
            name="days_per_week_range",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    exercise_id: Mapped[int | None] = mapped_column(ForeignKey("exercises.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    homework: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many days a week the couple does it (1-7); empty: as the exercise's tracking says
    # (every day for a daily exercise). The handout's tracking grid and wording follow it.
    days_per_week: Mapped[int | None] = mapped_column(Integer)
    # A note for the couple, printed on the handout next to this exercise.
    note: Mapped[str] = mapped_column(Text, default="")
    # Which version of the steps prints ("" the usual; "apart", "aloud", "video").
    variant: Mapped[str] = mapped_column(String(8), default="", server_default="")
    # The exercise's text when it was planned; a handout printed later says the same.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[TherapySession] = relationship(back_populates="items")

    @property
    def title(self) -> str:
        return str(self.snapshot.get("title", ""))

    @property
    def variants(self) -> dict[str, list[Any]]:
        """The step versions the exercise had when planned (besides the usual)."""
        found = self.snapshot.get("variants")
        return dict(found) if isinstance(found, dict) else {}

    def __repr__(self) -> str:
        return f"<PlanItem {self.id} at {self.position}>"


class PlanTemplate(Base):
    """A plan a therapist saved to start other sessions from."""

    __tablename__ = "plan_templates"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # [{"exercise_id": 3, "minutes": 10, "homework": false, "note": "", "days": 4}, ...]
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
