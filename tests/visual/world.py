"""One practice, the same every run, for the visual checks: fixed names, dates and tokens.

Everything is dated from FROZEN (the tests freeze the server's clock there), so the pages
show the same days whenever the suite runs; check-in link tokens are fixed too, so the
printed QR codes and links are the same in every run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD
from tests.progress_helpers import add_checkin, add_score
from therapy.auth import services as auth
from therapy.checkins import services as checkins
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.library.seed import seed_library
from therapy.models import Couple, Exercise, User
from therapy.sessions import services as sessions

# A Wednesday morning in London (UTC in November).
FROZEN = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
ZONE = "Europe/London"
EMAIL = "ana@example.com"

# (partner a, partner b) ratings for the six weekly check-ins before FROZEN.
RATINGS = ((4, 5), (5, 5), (7, 4), (6, 3), (7, 5), (8, 6))


@dataclass(frozen=True)
class World:
    email: str
    password: str
    couple_id: int
    other_couple_id: int
    held_id: int
    planned_id: int
    exercise_id: int
    token: str


@contextmanager
def frozen_clock(start: datetime = FROZEN) -> Iterator[None]:
    """The server's clock starts at `start` and runs on (for ordering and time-outs)."""
    with time_machine.travel(start, tick=True):
        yield


def fixed_tokens(monkeypatch: Any, start: int = 1) -> None:
    """Check-in link tokens from a fixed sequence, so QR codes print the same every run."""
    counter = itertools.count(start)
    monkeypatch.setattr(
        checkins, "new_token", lambda: f"VisualCheckToken{next(counter):02d}".ljust(43, "x")
    )


def _exercise(key: str) -> Exercise:
    return db.session.scalars(select(Exercise).where(Exercise.key == key)).one()


def build(app: Flask) -> World:
    """The practice; call it with the clock frozen and the tokens fixed."""
    today = FROZEN.date()
    with app.app_context():
        seed_library()
        user = auth.create_user(EMAIL, "Dr. Ana Rivera", TEST_PASSWORD)
        user.timezone = ZONE
        db.session.commit()
        data = couples.CoupleData(
            partner_a=couples.PartnerData("Zoë"),
            partner_b=couples.PartnerData("Łukasz"),
            started_on=today - timedelta(weeks=8),
            relationship_length="12 years",
            living_situation="together",
            presenting_concerns="Arguments about chores and time together.",
            goals=(couples.GoalData("A weekly talk without phones"),),
            tags=("newly married", "long hours"),
        )
        couple = couples.create_couple(user, data)
        other = couples.create_couple(
            user,
            couples.CoupleData(
                partner_a=couples.PartnerData("Maya"),
                partner_b=couples.PartnerData("Sam"),
                started_on=today - timedelta(weeks=2),
                tags=("new",),
            ),
        )
        couple_id, other_id = couple.id, other.id

        held = sessions.create_session(couple, starts_at=FROZEN - timedelta(days=7, hours=-6))
        for key in ("communication-daily-download", "appreciation-thank-you-jar"):
            sessions.add_item(held, _exercise(key), homework=True)
        sessions.touch(held)
        db.session.commit()
        sessions.mark_held(held, happened="Talked about chores.", follow_up="Ask about nights.")

        planned = sessions.create_session(couple, starts_at=FROZEN + timedelta(hours=5, minutes=30))
        for key, homework in (
            ("communication-daily-download", True),
            ("empathy-name-the-feeling", False),
            ("conflict-pause-plan", True),
        ):
            sessions.add_item(planned, _exercise(key), homework=homework)
        sessions.touch(planned)
        db.session.commit()
        sessions.create_session(other, starts_at=FROZEN + timedelta(days=1, hours=1))
        held_id, planned_id = held.id, planned.id
        exercise_id = _exercise("communication-daily-download").id

    for weeks, (a, b) in enumerate(RATINGS):
        day = today - timedelta(weeks=len(RATINGS) - weeks)
        add_checkin(app, couple_id, "a", day, a, homework=["partly"], went_well="A walk")
        add_checkin(
            app, couple_id, "b", day, b, homework=["not"], was_hard="Busy week",
            was_hard_private=True,
        )  # fmt: skip
    add_score(app, couple_id, "a", today - timedelta(weeks=6), (3, 3, 3, 3))
    add_score(app, couple_id, "a", today - timedelta(weeks=1), (5, 4, 4, 4))
    add_score(app, couple_id, "b", today - timedelta(weeks=6), (2, 3, 2, 3))
    add_score(app, couple_id, "b", today - timedelta(weeks=1), (3, 3, 2, 3))

    with app.app_context(), app.test_request_context():
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, couple.owner_id)
        _, token = checkins.create_link(couple, "a", days=7, user=owner)
    return World(EMAIL, TEST_PASSWORD, couple_id, other_id, held_id, planned_id, exercise_id, token)
