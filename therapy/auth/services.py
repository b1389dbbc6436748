"""Accounts: creating them, checking passwords, changing them."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from therapy import audit
from therapy.auth.passwords import hash_password, needs_rehash, verify_password
from therapy.extensions import db
from therapy.models import Role, SiteSetup, User, utcnow


class AccountExists(ValueError):
    """An account with that email already exists."""


class SetupClosed(RuntimeError):
    """The first account exists; first-run setup is over."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def has_accounts() -> bool:
    return db.session.scalar(select(func.count()).select_from(User)) != 0


def create_user(
    email: str, display_name: str, password: str, *, admin: bool = False, timezone: str = ""
) -> User:
    """Add an account; the caller has checked the password policy (and the zone's name)."""
    if find_user(email) is not None:
        raise AccountExists(email)
    user = User(
        email=normalize_email(email),
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=Role.ADMIN.value if admin else Role.THERAPIST.value,
        timezone=timezone or current_app.config["DEFAULT_TIMEZONE"],
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise AccountExists(email) from exc
    audit.record("user.create", record_type="user", record_id=user.id)
    db.session.commit()
    return user


def create_first_admin(email: str, display_name: str, password: str, timezone: str = "") -> User:
    """First-run setup; of two simultaneous attempts exactly one wins."""
    if has_accounts():
        raise SetupClosed
    password_hash = hash_password(password)
    user = User(
        email=normalize_email(email),
        display_name=display_name.strip(),
        password_hash=password_hash,
        role=Role.ADMIN.value,
        timezone=timezone or current_app.config["DEFAULT_TIMEZONE"],
    )
    # The single-row table's primary key lets only one transaction through.
    db.session.add(SiteSetup(id=1))
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise SetupClosed from exc
    audit.record("user.create", record_type="user", record_id=user.id, actor=user)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise SetupClosed from exc
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password; equal work when either is wrong."""
    user = find_user(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        audit.record(
            "login.failed",
            record_type="user" if user else None,
            record_id=user.id if user else None,
            actor=user,
        )
        db.session.commit()
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record("login", record_type="user", record_id=user.id, actor=user)
    db.session.commit()
    return user


def update_settings(user: User, *, display_name: str, timezone: str, paper_size: str) -> None:
    """Save the therapist's name, time zone and handout paper size."""
    user.display_name = display_name.strip()
    user.timezone = timezone
    user.paper_size = paper_size
    db.session.commit()


def change_password(user: User, new_password: str) -> None:
    """Set a new password and end every other session of the user."""
    user.password_hash = hash_password(new_password)
    user.end_all_sessions()
    audit.record("user.password", record_type="user", record_id=user.id, actor=user)
    db.session.commit()


def set_active(user: User, active: bool) -> None:
    """Activate or deactivate an account; deactivating ends its sessions at once."""
    user.active = active
    if not active:
        user.end_all_sessions()
    audit.record(
        "user.activate" if active else "user.deactivate", record_type="user", record_id=user.id
    )
    db.session.commit()


def safe_next(target: str | None) -> str | None:
    """A path on this site to go to after sign-in, or None for anything else."""
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
