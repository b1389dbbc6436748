"""Clinical safety: a couple's safety screen (every saved version kept) and the practice's
crisis line and contact details, printed on everything a couple sees."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.account import CONTACT_MAX, CRISIS_LINE_MAX  # noqa: F401 (the forms' limits)
from therapy.models.base import Base, UTCDateTime, utcnow

SCREENED_BY_MAX = 120
SCREEN_NOTE_MAX = 2000

LOGO_MAX_BYTES = 200_000


class Pattern(StrEnum):
    """What the partners, each seen alone, describe about conflict between them."""

    NONE = "none"  # no aggression or fear described
    SITUATIONAL = "situational"  # arguments that escalate, both sides, no fear or control
    COERCIVE = "coercive"  # coercive control, or a partner afraid of the other
    UNCLEAR = "unclear"  # not yet clear: screen again before sensitive work


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


def _one_of(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class SafetyScreen(Base):
    """One saved version of a couple's safety screen, filled in by the therapist.

    Rows are only ever added: the latest is the couple's screen, the earlier ones are its
    history (who changed what, and when). A couple without a row is "not yet screened".
    """

    __tablename__ = "safety_screens"
    __table_args__ = (
        CheckConstraint(_one_of("pattern", Pattern), name="pattern_known"),
        CheckConstraint(_one_of("injuries_or_threats", Answer), name="injuries_known"),
        CheckConstraint(_one_of("substance_use", Answer), name="substance_known"),
        CheckConstraint(_one_of("self_harm", Answer), name="self_harm_known"),
        CheckConstraint(_one_of("children_at_home", Answer), name="children_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    # Each partner seen alone: when, and by whom (a name: the intake may be a colleague's).
    a_screened_on: Mapped[date | None] = mapped_column(Date)
    a_screened_by: Mapped[str] = mapped_column(String(SCREENED_BY_MAX), default="")
    b_screened_on: Mapped[date | None] = mapped_column(Date)
    b_screened_by: Mapped[str] = mapped_column(String(SCREENED_BY_MAX), default="")
    pattern: Mapped[str] = mapped_column(String(16), default=Pattern.UNCLEAR.value)
    injuries_or_threats: Mapped[str] = mapped_column(String(8), default=Answer.UNKNOWN.value)
    substance_use: Mapped[str] = mapped_column(String(8), default=Answer.UNKNOWN.value)
    self_harm: Mapped[str] = mapped_column(String(8), default=Answer.UNKNOWN.value)
    children_at_home: Mapped[str] = mapped_column(String(8), default=Answer.UNKNOWN.value)
    # The therapist's own words; shown, never parsed.
    note: Mapped[str] = mapped_column(Text, default="")
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SafetyScreen {self.id} couple {self.couple_id}>"
