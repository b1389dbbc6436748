"""Every model, importable from one place."""

from therapy.models.audit import AuditEvent
from therapy.models.base import Base, utcnow
from therapy.models.user import Role, SiteSetup, User

__all__ = ["AuditEvent", "Base", "Role", "SiteSetup", "User", "utcnow"]
