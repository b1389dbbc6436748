"""One-time password reset links: issued by an administrator, or asked for by email.

A link carries 32 random bytes; only their SHA-256 is stored. It lasts an hour, works
once (one conditional UPDATE decides, so two tabs cannot both use it), and using it ends
every session of the account. A newer link replaces older unused ones. Opening the link
(a GET, which mail scanners and previews also do) uses nothing up: it swaps the token for
a note in the session and redirects to an address without it; only the form post that
sets the new password spends it. The second factor still applies at the next sign-in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from sqlalchemy import select, update

from therapy import audit
from therapy.auth.passwords import hash_password
from therapy.auth.services import find_user
from therapy.extensions import db
from therapy.models import PasswordReset, User, utcnow

log = logging.getLogger(__name__)

LIFETIME = timedelta(hours=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(user: User, admin: User | None) -> str:
    """A new link's token; older unused links of the account stop working. Caller commits."""
    _retire(user)
    token = secrets.token_urlsafe(32)
    stamp = utcnow()
    db.session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=token_hash(token),
            created_by_id=admin.id if admin else None,
            created_at=stamp,
            expires_at=stamp + LIFETIME,
        )
    )
    return token


def _retire(user: User) -> None:
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(expires_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def link_for(token: str) -> str:
    return url_for("reset.open_link", token=token, _external=True)


def issue_by_admin(user: User, admin: User) -> str:
    """An administrator's reset link for the account (shown to them once)."""
    token = _issue(user, admin)
    audit.record("password.reset_link", record_type="user", record_id=user.id, actor=admin)
    db.session.commit()
    return link_for(token)


def find_live(token_or_hash: str, *, hashed: bool = False) -> PasswordReset | None:
    """The unused, unexpired reset for this token (or its hash), if any."""
    digest = token_or_hash if hashed else token_hash(token_or_hash)
    if len(digest) != 64:
        return None
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == digest))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset


def account_of(reset: PasswordReset) -> User | None:
    user = db.session.get(User, reset.user_id)
    return user if user is not None and user.active else None


def use(reset: PasswordReset, new_password: str) -> User | None:
    """Spend the link on a new password and end every session of the account; None when
    it was used or expired meanwhile."""
    user = account_of(reset)
    if user is None:
        return None
    spent = db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        db.session.rollback()
        return None
    user.password_hash = hash_password(new_password)
    user.end_all_sessions()
    audit.record("password.reset", record_type="user", record_id=user.id, actor=user)
    db.session.commit()
    return user


# --- By email ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResetEmail:
    to: str
    subject: str
    body: str


Sender = Callable[[ResetEmail], None]


def _sender() -> Sender | None:
    sender: Sender | None = current_app.config.get("PASSWORD_RESET_SENDER")
    return sender


def mail_configured() -> bool:
    """Whether therapists can ask for a reset link by email on this server: a real SMTP
    server is set (the laptop outbox would only keep the link on the server's disk)."""
    from therapy import mail

    return _sender() is not None or not mail.uses_outbox()


def send_reset_email(user: User, link: str) -> None:
    """Queue the email carrying a reset link on the outgoing mail queue (`flask send-due`
    sends it within a minute; the link is cut out of the stored text once sent). A
    callable in config PASSWORD_RESET_SENDER takes it instead when set (tests). With no
    SMTP server the sign-in page offers no email reset at all (mail_configured() is
    False): administrators issue links instead.
    """
    minutes = int(LIFETIME.total_seconds() // 60)
    message = ResetEmail(
        to=user.email,
        subject="Reset your Tandem password",
        body=(
            f"Hello {user.display_name},\n\n"
            "Someone asked to reset the password of your Tandem account. If it was you, "
            f"open this link within {minutes} minutes and choose a new password:\n\n"
            f"{link}\n\n"
            "The link works once. If you did not ask, you can ignore this email; your "
            "password stays as it is.\n"
        ),
    )
    sender = _sender()
    if sender is not None:
        sender(message)
        return
    if not mail_configured():
        log.warning("password reset email for user %s not sent: no mail configured", user.id)
        return
    from therapy import mail

    mail.queue_message(
        message.to,
        message.subject,
        message.body,
        key=f"password-reset-{secrets.token_hex(12)}",
        kind="reset",
        commit=True,
    )


def request_by_email(email: str) -> None:
    """Send a link if the address has an active account; the caller says the same either
    way, and the work done is alike (a token is made and hashed for unknown addresses too)."""
    user = find_user(email)
    if user is None or not user.active:
        token_hash(secrets.token_urlsafe(32))
        audit.record("password.reset_request")
        db.session.commit()
        return
    token = _issue(user, None)
    audit.record("password.reset_request", record_type="user", record_id=user.id, actor=user)
    db.session.commit()
    send_reset_email(user, link_for(token))
