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
from therapy.models.library import (
    Exercise,
    ExerciseStar,
    Format,
    Practice,
    PracticeKind,
    Setting,
    Tracking,
    Who,
)
from therapy.models.session import SessionStatus, TherapySession
from therapy.models.user import Role, SiteSetup, User

__all__ = [
    "AuditEvent",
    "Base",
    "Couple",
    "CoupleGoal",
    "CoupleStatus",
    "Exercise",
    "ExerciseStar",
    "Format",
    "LivingSituation",
    "Partner",
    "PartnerRole",
    "Practice",
    "PracticeKind",
    "Role",
    "SessionStatus",
    "Setting",
    "SiteSetup",
    "Tag",
    "TherapySession",
    "Tracking",
    "User",
    "Who",
    "couple_tags",
    "utcnow",
]
