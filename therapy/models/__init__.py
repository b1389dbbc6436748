"""Every model, importable from one place."""

from therapy.models.audit import AuditEvent
from therapy.models.base import Base, utcnow
from therapy.models.checkin import (
    CheckIn,
    CheckInHomework,
    CheckInLink,
    CheckInRating,
    CheckInRevision,
    EnteredBy,
    HomeworkDone,
    LinkPurpose,
    MeasureDefinition,
    MeasureScore,
)
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
from therapy.models.reassignment import CoupleReassignment
from therapy.models.safety import PracticeSettings, SafetyScreen
from therapy.models.session import (
    PlanItem,
    PlanTemplate,
    SessionStatus,
    TherapySession,
    session_practices,
)
from therapy.models.user import Role, SiteSetup, User

__all__ = [
    "AuditEvent",
    "Base",
    "CheckIn",
    "CheckInHomework",
    "CheckInLink",
    "CheckInRating",
    "CheckInRevision",
    "Couple",
    "CoupleGoal",
    "CoupleReassignment",
    "CoupleStatus",
    "EnteredBy",
    "Exercise",
    "ExerciseStar",
    "Format",
    "HomeworkDone",
    "LinkPurpose",
    "LivingSituation",
    "MeasureDefinition",
    "MeasureScore",
    "Partner",
    "PartnerRole",
    "PlanItem",
    "PlanTemplate",
    "Practice",
    "PracticeKind",
    "PracticeSettings",
    "Role",
    "SafetyScreen",
    "SessionStatus",
    "Setting",
    "SiteSetup",
    "Tag",
    "TherapySession",
    "Tracking",
    "User",
    "Who",
    "couple_tags",
    "session_practices",
    "utcnow",
]
