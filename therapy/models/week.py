"""The couple's week between sessions: what partners send from their phones, what the
therapist has read, and the outgoing mail that brings them their links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.base import Base, UTCDateTime, utcnow

CLIENT_ID_MAX = 64
NOTE_MAX = 2000


class HomeworkReply(Base):
    """One thing a partner sent from their week page: the days ticked for an exercise, or
    a short answer to one of its prompts.

    Every send is kept (nothing is overwritten). `client_id` is made by the partner's
    browser for each send and is unique: a send repeated after a lost connection is
    recognised and saved once.
    """

    __tablename__ = "homework_replies"
    __table_args__ = (
        CheckConstraint("partner_role IN ('a', 'b')", name="partner_role_known"),
        CheckConstraint("kind IN ('ticks', 'note')", name="kind_known"),
        Index("ix_homework_replies_couple_item", "couple_id", "plan_item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(CLIENT_ID_MAX), unique=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"))
    partner_role: Mapped[str] = mapped_column(String(1))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_links.id"))
    plan_item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id"))
    kind: Mapped[str] = mapped_column(String(8))
    # Ticks: the day numbers (1 = the day after the session) done, as far as this send says.
    days: Mapped[list[int]] = mapped_column(JSON, default=list)
    # A note: which prompt (its position in the exercise, and its text as shown).
    prompt_index: Mapped[int | None] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<HomeworkReply {self.id} {self.kind}>"


class ReadMark(Base):
    """The therapist has read a check-in or a homework note sent by a partner."""

    __tablename__ = "read_marks"
    __table_args__ = (
        UniqueConstraint("kind", "record_id", name="uq_read_marks_kind_record"),
        CheckConstraint("kind IN ('checkin', 'note')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    record_id: Mapped[int] = mapped_column(Integer)
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageState:
    QUEUED = "queued"  # waiting to be sent (again, after a failure that sent nothing)
    SENDING = "sending"  # claimed by a `flask send-due` run until lease_until
    SENT = "sent"
    FAILED = "failed"  # given up after the last try; the therapist sees why
    UNCERTAIN = "uncertain"  # a run stopped mid-send: never sent again by itself


class OutgoingMessage(Base):
    """One email waiting to go out, or gone out. `flask send-due` sends the due ones.

    `key` says what the message is for ("week:<session>:<role>", "manual:<uuid>", ...):
    unique, so two runs planning the same reminder queue it once. The body holds the
    partner's link (a live token) only until it is sent; then the link is cut out.
    """

    __tablename__ = "outgoing_messages"
    __table_args__ = (
        CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'failed', 'uncertain')", name="state_known"
        ),
        Index("ix_outgoing_messages_due", "state", "send_after"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="other")
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # The link in the body (cut out of the body once sent), for the outbox page.
    couple_id: Mapped[int | None] = mapped_column(ForeignKey("couples.id"), index=True)
    partner_role: Mapped[str | None] = mapped_column(String(1))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default=MessageState.QUEUED)
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OutgoingMessage {self.id} {self.state}>"


class MessageSchedule(Base):
    """When Tandem emails a couple's partners their links (one row per couple)."""

    __tablename__ = "message_schedules"
    __table_args__ = (
        CheckConstraint(
            "checkin_days_before >= 0 AND checkin_days_before <= 14", name="days_range"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    couple_id: Mapped[int] = mapped_column(ForeignKey("couples.id"), unique=True)
    # The week page the day after each held session.
    week_after_session: Mapped[bool] = mapped_column(Boolean, default=True)
    # A check-in reminder this many days before the next session (0: none).
    checkin_days_before: Mapped[int] = mapped_column(Integer, default=2)
    # One more reminder the day before the next session if no check-in came.
    reminder_if_unanswered: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "week_after_session": self.week_after_session,
            "checkin_days_before": self.checkin_days_before,
            "reminder_if_unanswered": self.reminder_if_unanswered,
        }
