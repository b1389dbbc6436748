"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from zxcvbn import zxcvbn

# zxcvbn's cost grows with length; the policy only needs to look at the start.
STRENGTH_CHECK_LENGTH = 100
MIN_STRENGTH = 3
# Words every account shares: the app's own name is the first thing an attacker tries.
SITE_WORDS = ("tandem",)
# Pieces of an email or name shorter than this ("dr", "a", "t") are too common to count.
MIN_PERSONAL_WORD = 3
# Look-alike characters count as the letter they stand for ("@lexM0ren0" is "alexmoreno");
# i, l and 1 are one letter here, on both sides of the comparison.
LOOKALIKES = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "3": "e",
        "0": "o",
        "1": "l",
        "!": "l",
        "|": "l",
        "i": "l",
        "$": "s",
        "5": "s",
        "+": "t",
        "7": "t",
    }
)
WORD_BREAK = re.compile(r"[\W_\d]+")


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


def personal_words(related: Iterable[str]) -> list[str]:
    """The words a password must not be built from: each email and name given, their
    parts (local part, domain labels, first and last names) and the app's name."""
    words = set(SITE_WORDS)
    for value in related:
        value = value.strip().lower()
        if not value:
            continue
        words.add(value)
        local, _, domain = value.partition("@")
        pieces = [local, domain, *WORD_BREAK.split(value)] if domain else WORD_BREAK.split(value)
        words.update(piece for piece in pieces if len(piece) >= MIN_PERSONAL_WORD)
    return sorted(words)


def _normalized(text: str) -> str:
    # One character in, one out: positions in the result are positions in the password.
    return text.lower().translate(LOOKALIKES)


def personal_share(password: str, words: Iterable[str]) -> float:
    """How much of the password's letters and digits are covered by the given words
    (forwards or backwards, look-alike characters included)."""
    text = _normalized(password)
    covered = [False] * len(text)
    for word in {_normalized(w) for w in words}:
        for variant in {word, word[::-1]}:
            start = text.find(variant)
            while start != -1:
                covered[start : start + len(variant)] = [True] * len(variant)
                start = text.find(variant, start + 1)
    counted = [i for i, ch in enumerate(password) if ch.isalnum()]
    if not counted:
        return 0.0
    return sum(covered[i] for i in counted) / len(counted)


def password_problem(password: str, related: Iterable[str] = ()) -> str | None:
    """Why a new password is refused, in words a therapist can act on; None if it is fine.

    `related` holds the account's email and name; a password built mostly from them (or
    from "Tandem") is refused. zxcvbn gets them as user_inputs too, but by itself it
    still scores "a@t.test a@t.test" or "Dr Alex Moreno alexmoreno" 3 or 4 out of 4:
    the space between the copies costs an attacker more guesses than the copies do.
    """
    cfg = current_app.config
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        return f"Use at least {cfg['PASSWORD_MIN_LENGTH']} characters."
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        return f"Use at most {cfg['PASSWORD_MAX_LENGTH']} characters."
    checked = password[:STRENGTH_CHECK_LENGTH]
    words = personal_words(related)
    if personal_share(checked, words) > 0.5:
        return (
            "This password is mostly the account's email address, name or the word "
            "Tandem. Choose something unrelated, such as four random words."
        )
    result = zxcvbn(checked, user_inputs=words)
    if result["score"] < MIN_STRENGTH:
        warning = result["feedback"].get("warning") or "This password is easy to guess."
        return f"{warning.rstrip('.')}. Choose something less common, such as four unrelated words."
    return None
