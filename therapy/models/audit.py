"""The audit trail: who did what to which record, when and from where. Never the text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        # Which couples a therapist opened last (the dashboard's "Recently viewed"): one
        # short backward index scan per couple, however long the trail grows. Without it
        # the dashboard read every view the therapist ever made: 40 ms at 30,000 views.
        Index("ix_audit_events_views", "actor_id", "action", "record_type", "record_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str | None] = mapped_column(String(32))
    record_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))
    # Numbers only (how many rows a deletion removed), never names or clinical text.
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.record_type}:{self.record_id}>"
