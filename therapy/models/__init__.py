"""Every model, importable from one place."""

from therapy.models.audit import AuditEvent
from therapy.models.base import Base, utcnow
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
from therapy.models.user import Role, SiteSetup, User

__all__ = [
    "AuditEvent",
    "Base",
    "Exercise",
    "ExerciseStar",
    "Format",
    "Practice",
    "PracticeKind",
    "Role",
    "Setting",
    "SiteSetup",
    "Tracking",
    "User",
    "Who",
    "utcnow",
]
