"""Every model, importable from one place."""

from therapy.models.account import (
    Passkey,
    PasswordReset,
    PracticeSettings,
    RecoveryCode,
    TotpFactor,
)
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
    Variant,
    Who,
)
from therapy.models.reassignment import CoupleReassignment
from therapy.models.safety import SafetyScreen
from therapy.models.session import (
    PlanItem,
    PlanTemplate,
    SessionStatus,
    TherapySession,
    session_practices,
)
from therapy.models.share import CoupleShare, ShareRole
from therapy.models.user import Role, SiteSetup, User
from therapy.models.version import DataVersion
from therapy.models.week import (
    HomeworkReply,
    MessageSchedule,
    MessageState,
    OutgoingMessage,
    ReadMark,
)

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
    "CoupleShare",
    "CoupleStatus",
    "DataVersion",
    "EnteredBy",
    "Exercise",
    "ExerciseStar",
    "Format",
    "HomeworkDone",
    "HomeworkReply",
    "LinkPurpose",
    "LivingSituation",
    "MeasureDefinition",
    "MeasureScore",
    "MessageSchedule",
    "MessageState",
    "OutgoingMessage",
    "Partner",
    "PartnerRole",
    "Passkey",
    "PasswordReset",
    "PlanItem",
    "PlanTemplate",
    "Practice",
    "PracticeKind",
    "PracticeSettings",
    "ReadMark",
    "RecoveryCode",
    "Role",
    "SafetyScreen",
    "SessionStatus",
    "Setting",
    "ShareRole",
    "SiteSetup",
    "Tag",
    "TherapySession",
    "TotpFactor",
    "Tracking",
    "User",
    "Variant",
    "Who",
    "couple_tags",
    "session_practices",
    "utcnow",
]
