"""Between-session check-ins, the partner links that collect them, and measure scores."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from therapy.models.base import Base, UTCDateTime, utcnow
from therapy.models.library import Practice

TEXT_MAX = 2000
HOMEWORK_TITLE_MAX = 120
RATING_MIN = 0
RATING_MAX = 10


class EnteredBy(StrEnum):
    THERAPIST = "therapist"
    PARTNER = "partner"


class HomeworkDone(StrEnum):
    NOT = "not"
    PARTLY = "partly"
    FULLY = "fully"


class LinkPurpose(StrEnum):
    CHECKIN = "checkin"


class CheckIn(Base):
    """One partner's answers about one week: ratings, homework, two texts, private flags.

    A check-in sent through a link names that link, and a link fills in at most one
    check-in: the unique `link_id` makes the database refuse a second one, so two sends
    at the same moment (a double click) cannot make two rows.
    """

    __tablename__ = "checkins"
    __table_args__ = (
        CheckConstraint("partner_role IN ('a', 'b')", name="partner_role_known"),
        CheckConstraint("entered_by IN ('therapist', 'partner')", name="entered_by_known"),
        # A unique index rather than a constraint: SQLite adds one without a table rebuild.
        Index("uq_checkins_link_id", "link_id", unique=True),
        CheckConstraint(
            "safety_answer IS NULL OR safety_answer IN ('yes', 'unsure', 'no')",
            name="safety_answer_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    partner_role: Mapped[str] = mapped_column(String(1))
    on_date: Mapped[date] = mapped_column(Date)
    entered_by: Mapped[str] = mapped_column(String(16))
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The session whose homework this check-in answers (the last held one at the time).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    # The partner link it was sent through; empty when the therapist entered it.
    link_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_links.id"))
    went_well: Mapped[str] = mapped_column(Text, default="")
    went_well_private: Mapped[bool] = mapped_column(Boolean, default=False)
    was_hard: Mapped[str] = mapped_column(Text, default="")
    was_hard_private: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The partner's private answer to "Do you feel safe at home right now?" ('yes',
    # 'unsure', 'no'; empty when not asked or not answered) and an optional note. Always
    # private: never shown to the other partner, in the couple view or a couple report.
    # Anything but 'yes' flags the couple until the therapist marks it seen.
    safety_answer: Mapped[str | None] = mapped_column(String(8))
    safety_note: Mapped[str] = mapped_column(Text, default="")
    safety_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    safety_seen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    ratings: Mapped[list[CheckInRating]] = relationship(
        back_populates="checkin", cascade="all, delete-orphan", lazy="selectin"
    )
    homework: Mapped[list[CheckInHomework]] = relationship(
        back_populates="checkin",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CheckInHomework.position",
    )
    scores: Mapped[list[MeasureScore]] = relationship(back_populates="checkin", lazy="selectin")
    revisions: Mapped[list[CheckInRevision]] = relationship(
        back_populates="checkin",
        cascade="all, delete-orphan",
        order_by="CheckInRevision.number",
    )

    __mapper_args__: dict[str, Any] = {"version_id_col": version}

    @property
    def is_reviewed(self) -> bool:
        return self.reviewed_at is not None

    def __repr__(self) -> str:
        return f"<CheckIn {self.id} {self.partner_role}>"


class CheckInRating(Base):
    """One answer to a practice's 0-10 question in one check-in.

    `question` is the key of the question as it was asked (library data: a practice's
    `questions` and `earlier_questions`), so answers to a question that was later split
    stay under it. `not_applicable` is an answer of its own ("We didn't disagree this
    week"): the value is then empty, never 0.
    """

    __tablename__ = "checkin_ratings"
    __table_args__ = (
        UniqueConstraint("checkin_id", "question", name="uq_checkin_ratings_checkin_question"),
        CheckConstraint(
            "(not_applicable = false AND value IS NOT NULL AND value >= 0 AND value <= 10)"
            " OR (not_applicable = true AND value IS NULL)",
            name="value_or_not_applicable",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"), index=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    question: Mapped[str] = mapped_column(String(60))
    value: Mapped[int | None] = mapped_column(Integer)
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    private: Mapped[bool] = mapped_column(Boolean, default=False)

    checkin: Mapped[CheckIn] = relationship(back_populates="ratings")
    practice: Mapped[Practice] = relationship(lazy="joined", innerjoin=True)

    @property
    def title(self) -> str:
        """The question as a page names it ("Appreciation and affection: Thanks")."""
        from therapy.checkins import questions

        question = questions.by_key(self.question)
        return question.title if question is not None else self.practice.name

    @property
    def answer_text(self) -> str:
        """The number, or the question's other answer in its own words."""
        if not self.not_applicable:
            return str(self.value)
        from therapy.checkins import questions

        question = questions.by_key(self.question)
        return question.none_answer if question and question.none_answer else "Not applicable"


class CheckInHomework(Base):
    """How one homework exercise went: done not/partly/fully, and how helpful it felt."""

    __tablename__ = "checkin_homework"
    __table_args__ = (
        CheckConstraint("done IN ('not', 'partly', 'fully')", name="done_known"),
        CheckConstraint("helpful IS NULL OR (helpful >= 0 AND helpful <= 2)", name="helpful_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"), index=True)
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_items.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The exercise's title as assigned, so the answer reads the same after plans change.
    title: Mapped[str] = mapped_column(String(HOMEWORK_TITLE_MAX))
    done: Mapped[str] = mapped_column(String(8))
    # 0 not helpful, 1 a little, 2 very; empty when it was not done at all.
    helpful: Mapped[int | None] = mapped_column(Integer)
    private: Mapped[bool] = mapped_column(Boolean, default=False)

    checkin: Mapped[CheckIn] = relationship(back_populates="homework")


class CheckInLink(Base):
    """A partner's private link to the check-in form. Only the token's SHA-256 is kept."""

    __tablename__ = "checkin_links"
    __table_args__ = (
        CheckConstraint("partner_role IN ('a', 'b')", name="partner_role_known"),
        CheckConstraint("purpose IN ('checkin')", name="purpose_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    partner_role: Mapped[str] = mapped_column(String(1))
    purpose: Mapped[str] = mapped_column(String(16), default=LinkPurpose.CHECKIN.value)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the partner first sent the form.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The check-in the link fills in (CheckIn.link_id points here: at most one).
    checkin: Mapped[CheckIn | None] = relationship(viewonly=True)

    def __repr__(self) -> str:
        return f"<CheckInLink {self.id} {self.partner_role}>"


class CheckInRevision(Base):
    """An earlier version of a check-in's answers, kept when a later send replaced it.

    Nothing a partner sends is overwritten: the therapist sees every version. `answers`
    holds the replaced version as plain JSON (see checkins.services.answers_of).
    """

    __tablename__ = "checkin_revisions"
    __table_args__ = (
        UniqueConstraint("checkin_id", "number", name="uq_checkin_revisions_checkin_number"),
        CheckConstraint("replaced_by IN ('therapist', 'partner')", name="replaced_by_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1 is the first version
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # When this version came, and when (and by whom, through which link) it was replaced.
    came_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_by: Mapped[str] = mapped_column(String(16))
    replaced_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replaced_by_link_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_links.id"))

    checkin: Mapped[CheckIn] = relationship(back_populates="revisions")

    def __repr__(self) -> str:
        return f"<CheckInRevision {self.checkin_id}#{self.number}>"


class MeasureDefinition(Base):
    """A scored questionnaire's definition file, as shipped (built-in) or imported."""

    __tablename__ = "measures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(20))
    definition: Mapped[str] = mapped_column(Text)  # the TOML file, parsed on use
    digest: Mapped[str] = mapped_column(String(64))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<MeasureDefinition {self.slug}>"


class MeasureScore(Base):
    """One completed questionnaire: the item scores typed in and the total they give."""

    __tablename__ = "measure_scores"
    __table_args__ = (CheckConstraint("partner_role IN ('a', 'b')", name="partner_role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), index=True)
    partner_role: Mapped[str] = mapped_column(String(1))
    measure_id: Mapped[int] = mapped_column(ForeignKey("measures.id"), index=True)
    on_date: Mapped[date] = mapped_column(Date)
    item_scores: Mapped[dict[str, int]] = mapped_column(JSON)
    total: Mapped[float] = mapped_column(Float)
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id"), index=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    measure: Mapped[MeasureDefinition] = relationship(lazy="joined", innerjoin=True)
    checkin: Mapped[CheckIn | None] = relationship(back_populates="scores")
