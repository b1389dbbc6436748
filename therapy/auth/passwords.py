"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from zxcvbn import zxcvbn

# zxcvbn's cost grows with length; the policy only needs to look at the start.
STRENGTH_CHECK_LENGTH = 100
MIN_STRENGTH = 3


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    """The argon2id hasher with this app's cost settings."""
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    """An argon2id hash of the whole password (no truncation)."""
    return hasher().hash(password)


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash("not a real password")


def dummy_hash() -> str:
    cfg = current_app.config
    return _dummy_hash(
        cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"]
    )


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; an unknown account is checked against a dummy hash in equal time."""
    try:
        return (
            hasher().verify(password_hash or dummy_hash(), password) and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


def password_problem(password: str, related: list[str] | None = None) -> str | None:
    """Why a new password is refused, in words a therapist can act on; None if it is fine."""
    cfg = current_app.config
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        return f"Use at least {cfg['PASSWORD_MIN_LENGTH']} characters."
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        return f"Use at most {cfg['PASSWORD_MAX_LENGTH']} characters."
    result = zxcvbn(password[:STRENGTH_CHECK_LENGTH], user_inputs=related or [])
    if result["score"] < MIN_STRENGTH:
        warning = result["feedback"].get("warning") or "This password is easy to guess."
        return f"{warning.rstrip('.')}. Choose something less common, such as four unrelated words."
    return None
