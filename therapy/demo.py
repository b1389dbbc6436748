"""Demo data for trying Tandem out and for benchmarks."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from flask import current_app

from therapy.auth import services
from therapy.auth.passwords import hash_password
from therapy.extensions import db

DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Dr. Robin Demo"
# Short common words; four of them drawn from a keyed hash make a stable, unguessable password.
WORDS = [
    "amber",
    "anchor",
    "bramble",
    "cedar",
    "cobalt",
    "dune",
    "ember",
    "fern",
    "garnet",
    "harbor",
    "iris",
    "juniper",
    "kestrel",
    "lantern",
    "maple",
    "meadow",
    "nectar",
    "orchid",
    "pebble",
    "quartz",
    "raven",
    "saffron",
    "tidal",
    "umber",
    "velvet",
    "willow",
    "yarrow",
    "zephyr",
    "canyon",
    "delta",
    "falcon",
    "glacier",
]


@dataclass
class DemoResult:
    email: str
    password: str
    summary: list[str] = field(default_factory=list)


def demo_password() -> str:
    """The demo account's password, stable for this instance's secret key."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), b"tandem-demo", hashlib.sha256)
    raw = digest.digest()
    return "-".join(WORDS[b % len(WORDS)] for b in raw[:4]) + f"-{raw[4] % 90 + 10}"


def seed(couples: int, sessions: int) -> DemoResult:
    """Create (or refresh) the demo therapist and their demo caseload."""
    from therapy.library.seed import seed_library

    library = seed_library()
    password = demo_password()
    user = services.find_user(DEMO_EMAIL)
    if user is None:
        user = services.create_user(DEMO_EMAIL, DEMO_NAME, password)
        created = "created"
    else:
        user.password_hash = hash_password(password)
        db.session.commit()
        created = "already there; password reset to the one shown"
    result = DemoResult(
        email=user.email,
        password=password,
        summary=[f"demo therapist: {created}", f"library: {library}"],
    )
    return result
