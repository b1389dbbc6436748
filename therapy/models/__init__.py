"""Every model, importable from one place."""

from therapy.models.audit import AuditEvent
from therapy.models.base import Base, utcnow
from therapy.models.couple import (
    Couple,
    CoupleGoal,
    CoupleStatus,
    LivingSituation,
    Partner,
    PartnerRole,
    Tag,
    couple_tags,
)
from therapy.models.session import SessionStatus, TherapySession
from therapy.models.user import Role, SiteSetup, User

__all__ = [
    "AuditEvent",
    "Base",
    "Couple",
    "CoupleGoal",
    "CoupleStatus",
    "LivingSituation",
    "Partner",
    "PartnerRole",
    "Role",
    "SessionStatus",
    "SiteSetup",
    "Tag",
    "TherapySession",
    "User",
    "couple_tags",
    "utcnow",
]
