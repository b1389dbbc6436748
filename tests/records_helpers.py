"""A couple with a row in every couple table, built through the services (no requests)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.progress_helpers import add_checkin, add_score, create_link, held_session
from therapy.checkins import services as checkins
from therapy.extensions import db
from therapy.models import (
    CheckIn,
    CoupleReassignment,
    CoupleShare,
    HomeworkReply,
    MessageSchedule,
    OutgoingMessage,
    PlanItem,
    Practice,
    SafetyScreen,
    TherapySession,
)


@dataclass
class Filled:
    couple_id: int
    marker: str  # in partner A's private "what was hard", and in an earlier version of it
    public_marker: str  # partner A's "what went well", not private
    b_private_marker: str  # partner B's private text


def fill_couple(app: Flask, couple_id: int, marker: str, owner_id: int, other_id: int) -> Filled:
    """Sessions with plans and focus, check-ins (private answers, an earlier version),
    a score, a link, a share and a reassignment row."""
    held_session(app, couple_id)
    with app.app_context():
        session = db.session.scalars(
            select(TherapySession).where(TherapySession.couple_id == couple_id)
        ).first()
        assert session is not None
        session.focus.append(db.session.scalars(select(Practice)).first())
        db.session.commit()
    today = date.today()
    a_id = add_checkin(
        app,
        couple_id,
        "a",
        today - timedelta(days=2),
        private=("communication",),
        homework=("fully",),
        homework_private=True,
        went_well=f"Walked together {marker}public",
        was_hard=f"Old secret {marker}",
        was_hard_private=True,
    )
    add_checkin(
        app,
        couple_id,
        "b",
        today - timedelta(days=1),
        was_hard=f"Bsecret {marker}b",
        was_hard_private=True,
    )
    with app.app_context():
        checkin = db.session.get(CheckIn, a_id)
        assert checkin is not None
        current = checkins.CheckInData(
            on_date=checkin.on_date,
            ratings=tuple(
                checkins.RatingAnswer(r.practice_id, r.value, r.private) for r in checkin.ratings
            ),
            homework=tuple(
                checkins.HomeworkAnswer(h.plan_item_id, h.title, h.done, h.helpful, h.private)
                for h in checkin.homework
            ),
            went_well=checkin.went_well,
            went_well_private=False,
            was_hard=f"New secret {marker}",
            was_hard_private=True,
        )
        checkins.update_checkin(checkin, current)
        db.session.commit()
    add_score(app, couple_id, "a", today, [3, 3, 3, 3])
    create_link(app, couple_id, "b")
    with app.app_context():
        db.session.add(
            CoupleShare(
                couple_id=couple_id, user_id=other_id, role="supervisor", created_by_id=owner_id
            )
        )
        item = db.session.scalars(
            select(PlanItem)
            .join(TherapySession, TherapySession.id == PlanItem.session_id)
            .where(TherapySession.couple_id == couple_id)
        ).first()
        assert item is not None
        for role, text, private in (("a", f"Week note {marker}", True), ("b", "Fine", False)):
            db.session.add(
                HomeworkReply(
                    client_id=f"reply-{couple_id}-{role}",
                    couple_id=couple_id,
                    partner_role=role,
                    plan_item_id=item.id,
                    kind="note",
                    prompt_index=0,
                    prompt="How did it go?",
                    text=text,
                    private=private,
                )
            )
        db.session.add(MessageSchedule(couple_id=couple_id))
        db.session.add(SafetyScreen(couple_id=couple_id, note="Seen each alone"))
        a_checkin = db.session.get(CheckIn, a_id)
        assert a_checkin is not None
        a_checkin.safety_answer, a_checkin.safety_note = "unsure", f"Safety {marker}"
        db.session.add(
            OutgoingMessage(
                key=f"test-message-{couple_id}",
                to_address="b@example.com",
                subject="Your link",
                body="Hello, here is your link: https://example/c/SECRETTOKEN",
                couple_id=couple_id,
                partner_role="b",
            )
        )
        db.session.add(
            CoupleReassignment(
                couple_id=couple_id,
                from_owner_id=other_id,
                to_owner_id=owner_id,
                by_id=other_id,
                reason="Moved for the test",
            )
        )
        db.session.commit()
    return Filled(couple_id, marker, f"{marker}public", f"{marker}b")


def read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def record_of(files: dict[str, bytes]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files["record.json"])
    return document
