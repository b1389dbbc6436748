"""Writing the audit trail."""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_login import current_user

from therapy.extensions import client_address, db
from therapy.models import AuditEvent, User


def record(
    action: str,
    *,
    record_type: str | None = None,
    record_id: int | None = None,
    actor: User | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction; the caller commits."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    event = AuditEvent(
        action=action,
        record_type=record_type,
        record_id=record_id,
        actor_id=actor.id if actor is not None else None,
        address=client_address() if has_request_context() else "cli",
        detail=detail,
    )
    db.session.add(event)
    return event
