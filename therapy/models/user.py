"""Therapist accounts."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.base import Base, UTCDateTime, utcnow


class Role(StrEnum):
    THERAPIST = "therapist"
    ADMIN = "admin"


def new_session_token() -> str:
    """A fresh per-user token; rotating it ends every login session of that user."""
    return secrets.token_urlsafe(32)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("role IN ('therapist', 'admin')", name="role_known"),
        CheckConstraint("paper_size IN ('A4', 'Letter')", name="paper_size_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.THERAPIST.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    # Where the therapist works: session times are shown in this IANA zone.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # Handout paper: "A4" or "Letter".
    paper_size: Mapped[str] = mapped_column(String(8), default="A4", server_default="A4")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Flask-Login's interface, written out so mypy sees it.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    def get_id(self) -> str:
        """The login cookie holds the id and the current session token, nothing else."""
        return f"{self.id}.{self.session_token}"

    def holds_token(self, token: str) -> bool:
        return hmac.compare_digest(self.session_token.encode(), token.encode())

    def end_all_sessions(self) -> None:
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.id}>"


class SiteSetup(Base):
    """One row once the first account exists; its primary key settles the setup race."""

    __tablename__ = "site_setup"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
