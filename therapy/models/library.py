"""The exercise library: practices, situations, exercises and favourites."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from therapy.models.base import Base, UTCDateTime, utcnow

TITLE_MAX = 120


class PracticeKind(StrEnum):
    PRACTICE = "practice"
    SITUATION = "situation"


class Setting(StrEnum):
    IN_SESSION = "in-session"
    HOMEWORK = "homework"
    EITHER = "either"


class Who(StrEnum):
    TOGETHER = "together"
    EACH_PARTNER = "each partner"
    THERAPIST_LED = "therapist-led"
    # One partner on their own, e.g. when the other will not come to sessions.
    ONE_PARTNER = "one partner"


class Format(StrEnum):
    CONVERSATION = "conversation"
    RITUAL = "ritual"
    WRITTEN = "written"
    GAME = "game"
    PLANNING = "planning"
    DIALOGUE = "dialogue"
    # A one-page explainer for the couple (flooding, repair, ...).
    PSYCHOEDUCATION = "psychoeducation"


class Variant(StrEnum):
    """Another version of an exercise's steps, chosen per plan item ("" is the usual)."""

    USUAL = ""
    APART = "apart"  # partners living apart or long distance
    ALOUD = "aloud"  # said aloud instead of written
    VIDEO = "video"  # run in a session held over video


VARIANT_LABELS = {
    Variant.USUAL.value: "Usual steps",
    Variant.APART.value: "Living apart",
    Variant.ALOUD.value: "Said aloud, not written",
    Variant.VIDEO.value: "Session over video",
}


class Tracking(StrEnum):
    NONE = "none"
    DAILY = "daily"
    ONCE = "once"


def _one_of(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class Practice(Base):
    """A section of the library: one of the nine practices or one of the five situations."""

    __tablename__ = "practices"
    __table_args__ = (CheckConstraint(_one_of("kind", PracticeKind), name="kind_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80))
    idea: Mapped[str] = mapped_column(String(200))
    # The 0-10 check-in question partners answer about this practice (practices only).
    question: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)

    @property
    def is_situation(self) -> bool:
        return self.kind == PracticeKind.SITUATION.value

    def __repr__(self) -> str:
        return f"<Practice {self.slug}>"


class Exercise(Base):
    """A built-in exercise (no owner, read-only) or a therapist's own (private to them)."""

    __tablename__ = "exercises"
    __table_args__ = (
        CheckConstraint("minutes > 0 AND minutes <= 240", name="minutes_range"),
        CheckConstraint(_one_of("setting", Setting), name="setting_known"),
        CheckConstraint(_one_of("who", Who), name="who_known"),
        CheckConstraint(_one_of("format", Format), name="format_known"),
        CheckConstraint(_one_of("tracking", Tracking), name="tracking_known"),
        # Built-ins carry a stable key from the data files; custom exercises an owner.
        CheckConstraint(
            "(owner_id IS NULL AND key IS NOT NULL) OR (owner_id IS NOT NULL AND key IS NULL)",
            name="builtin_or_custom",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("exercises.id"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    summary: Mapped[str] = mapped_column(String(400))
    why: Mapped[str] = mapped_column(Text)
    # When and where to do it: "After dinner, phones in another room."
    timing: Mapped[str] = mapped_column(String(300), default="")
    minutes: Mapped[int] = mapped_column(Integer)
    setting: Mapped[str] = mapped_column(String(16))
    who: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16))
    tracking: Mapped[str] = mapped_column(String(8), default=Tracking.NONE.value)
    involves_conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    involves_vulnerability: Mapped[bool] = mapped_column(Boolean, default=False)
    # Structured risk tags (catalog.SENSITIVE_KINDS): what warnings and suggestions read.
    # involves_conflict and involves_vulnerability stay in step with the first two.
    sensitive: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Keys of built-in exercises a couple should have done first (a pause plan, say).
    requires: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Strings the couple reads, and {"therapist": "..."} steps only the therapist sees.
    steps: Mapped[list[Any]] = mapped_column(JSON)
    roles: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    stop_safely: Mapped[str] = mapped_column(Text, default="")
    prompts: Mapped[list[str]] = mapped_column(JSON, default=list)
    cautions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Where the idea comes from, for the therapist only; never printed for the couple.
    lineage: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Whole replacement step lists, chosen per plan item (empty: no such version).
    apart_steps: Mapped[list[str | dict[str, str]]] = mapped_column(JSON, default=list)
    aloud_steps: Mapped[list[str | dict[str, str]]] = mapped_column(JSON, default=list)
    video_steps: Mapped[list[str | dict[str, str]]] = mapped_column(JSON, default=list)
    # Case-folded title, and title + summary + steps, so search behaves alike on SQLite
    # and PostgreSQL (SQLite's lower() only folds ASCII). Folding can triple a title's
    # length ("ß" is "ss", "ΐ" three characters), so the folded column is three times as wide.
    search_title: Mapped[str] = mapped_column(String(TITLE_MAX * 3), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    # A hash of a built-in's source data, so re-seeding only touches what changed.
    source_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    practice: Mapped[Practice] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}

    @property
    def is_builtin(self) -> bool:
        return self.owner_id is None

    @property
    def is_sensitive(self) -> bool:
        return bool(self.sensitive) or self.involves_conflict or self.involves_vulnerability

    def variant_steps(self) -> dict[str, list[str | dict[str, str]]]:
        """The versions of the steps this exercise has besides the usual, by variant."""
        found = {
            Variant.APART.value: self.apart_steps,
            Variant.ALOUD.value: self.aloud_steps,
            Variant.VIDEO.value: self.video_steps,
        }
        return {name: list(steps) for name, steps in found.items() if steps}

    def __repr__(self) -> str:
        return f"<Exercise {self.id} {self.key or 'custom'}>"


class ExerciseStar(Base):
    """A therapist's favourite: starred exercises list first in the plan builder."""

    __tablename__ = "exercise_stars"
    __table_args__ = (UniqueConstraint("user_id", "exercise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
