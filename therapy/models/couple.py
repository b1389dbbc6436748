"""Client couples: the two partners, their goals and tags, and the therapist who owns them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from therapy.models.base import Base, UTCDateTime, utcnow

# Length limits, shared by the schema and the forms so the form always speaks first.
LABEL_MAX = 120
FIRST_NAME_MAX = 50  # two of them and " & " still fit in a label
LAST_NAME_MAX = 80
PRONOUNS_MAX = 40
EMAIL_MAX = 254
RELATIONSHIP_LENGTH_MAX = 60
CONCERNS_MAX = 5000
GOAL_MAX = 300
GOALS_MAX = 20
TAG_MAX = 40
TAGS_MAX = 20
SAFETY_REASON_MAX = 200
SESSION_MINUTES_MIN = 10
SESSION_MINUTES_MAX = 240
DEFAULT_SESSION_MINUTES = 50


class CoupleStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class LivingSituation(StrEnum):
    TOGETHER = "together"
    APART = "apart"
    OTHER = "other"


class PartnerRole(StrEnum):
    A = "a"
    B = "b"


couple_tags = Table(
    "couple_tags",
    Base.metadata,
    Column("couple_id", ForeignKey("couples.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Tag(Base):
    """A therapist's own word for grouping couples ("long-distance", "pre-marital")."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("owner_id", "key", name="uq_tags_owner_id_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(TAG_MAX))
    # The name case-folded: "Grief" and "grief" are one tag.
    key: Mapped[str] = mapped_column(String(TAG_MAX * 3))

    def __repr__(self) -> str:
        return f"<Tag {self.id}>"


class Couple(Base):
    __tablename__ = "couples"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'ended')", name="status_known"),
        CheckConstraint(
            "living_situation IS NULL OR living_situation IN ('together', 'apart', 'other')",
            name="living_situation_known",
        ),
        CheckConstraint("default_session_minutes > 0", name="session_minutes_positive"),
        CheckConstraint(
            "couple_view_measures IN ('none', 'a', 'b', 'both')", name="couple_view_measures_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(LABEL_MAX))
    status: Mapped[str] = mapped_column(String(16), default=CoupleStatus.ACTIVE.value)
    started_on: Mapped[date | None] = mapped_column(Date)
    relationship_length: Mapped[str | None] = mapped_column(String(RELATIONSHIP_LENGTH_MAX))
    living_situation: Mapped[str | None] = mapped_column(String(16))
    long_distance: Mapped[bool] = mapped_column(Boolean, default=False)
    presenting_concerns: Mapped[str | None] = mapped_column(Text)
    default_session_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_SESSION_MINUTES)
    safety_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_reason: Mapped[str | None] = mapped_column(String(SAFETY_REASON_MAX))
    # Whose measure scores (CSI-4 and the like) the couple view and the couple's report
    # show: none by default; a partner's only once that partner agreed to it.
    couple_view_measures: Mapped[str] = mapped_column(
        String(8), default="none", server_default="none"
    )
    # Label, partners' names and tags, case-folded in Python: SQLite's lower() and LIKE
    # only fold ASCII, so "zoë" would not find "ZOË" there. Kept current by the services.
    search_text: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    partners: Mapped[list[Partner]] = relationship(
        back_populates="couple", order_by="Partner.role", cascade="all, delete-orphan"
    )
    goals: Mapped[list[CoupleGoal]] = relationship(
        back_populates="couple", order_by="CoupleGoal.position", cascade="all, delete-orphan"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=couple_tags, order_by=Tag.key)

    # Every UPDATE checks and bumps the version: a save based on an older read fails
    # with StaleDataError instead of overwriting what someone else saved meanwhile.
    __mapper_args__ = {"version_id_col": version}

    @property
    def partner_a(self) -> Partner | None:
        return self._partner(PartnerRole.A)

    @property
    def partner_b(self) -> Partner | None:
        return self._partner(PartnerRole.B)

    def _partner(self, role: PartnerRole) -> Partner | None:
        return next((p for p in self.partners if p.role == role.value), None)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def __repr__(self) -> str:
        return f"<Couple {self.id}>"


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        UniqueConstraint("couple_id", "role", name="uq_partners_couple_id_role"),
        CheckConstraint("role IN ('a', 'b')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    role: Mapped[str] = mapped_column(String(1))
    first_name: Mapped[str] = mapped_column(String(FIRST_NAME_MAX))
    last_name: Mapped[str | None] = mapped_column(String(LAST_NAME_MAX))
    pronouns: Mapped[str | None] = mapped_column(String(PRONOUNS_MAX))
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))

    couple: Mapped[Couple] = relationship(back_populates="partners")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def __repr__(self) -> str:
        return f"<Partner {self.id} {self.role}>"


class CoupleGoal(Base):
    __tablename__ = "couple_goals"
    __table_args__ = (
        UniqueConstraint("couple_id", "position", name="uq_couple_goals_couple_id_position"),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(GOAL_MAX))
    target_date: Mapped[date | None] = mapped_column(Date)

    couple: Mapped[Couple] = relationship(back_populates="goals")

    def __repr__(self) -> str:
        return f"<CoupleGoal {self.id}>"
