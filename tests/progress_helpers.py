"""Building check-in histories directly (no requests), for the progress tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from flask import Flask
from sqlalchemy import select

from therapy.checkins import services as checkins
from therapy.extensions import db
from therapy.measures import services as measures
from therapy.models import Couple, Exercise, Practice, User, utcnow
from therapy.sessions import services as sessions

PRACTICE_SLUGS = (
    "communication",
    "empathy",
    "quality-time",
    "vulnerability",
    "appreciation",
    "growth",
    "conflict",
    "humor",
    "patience",
)
HOMEWORK_KEYS = ("communication-daily-download",)


def held_session(
    app: Flask, couple_id: int, keys: Sequence[str] = HOMEWORK_KEYS, days_ago: int = 3
) -> list[int]:
    """A held session with these exercises as homework; returns the plan item ids."""
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        session = sessions.create_session(couple, starts_at=utcnow() - timedelta(days=days_ago))
        for key in keys:
            exercise = db.session.scalars(select(Exercise).where(Exercise.key == key)).one()
            sessions.add_item(session, exercise, homework=True)
        sessions.touch(session)
        db.session.commit()
        sessions.mark_held(session, happened="Talked about chores.", follow_up="Ask about nights.")
        return [item.id for item in session.homework]


def add_checkin(
    app: Flask,
    couple_id: int,
    role: str,
    on_date: date,
    ratings: int | dict[str, int] = 5,
    *,
    private: Sequence[str] = (),
    homework: Sequence[str] = (),
    homework_private: bool = False,
    went_well: str = "",
    was_hard: str = "",
    went_well_private: bool = False,
    was_hard_private: bool = False,
    reviewed: bool = False,
) -> int:
    """A check-in saved through the service; `ratings` is one value for all, or per slug."""
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        from therapy.checkins import questions as asked

        practices = {p.slug: p for p in checkins.practices()}
        # One value for every question asked, or {slug or question key: value}; a slug
        # answers the practice's first question. None: "We didn't disagree".
        keys = {q.key: slug for slug in practices for q in asked.asked(slug)}
        values = ratings if isinstance(ratings, dict) else dict.fromkeys(keys, ratings)
        questions = checkins.homework_questions(couple)
        data = checkins.CheckInData(
            on_date=on_date,
            ratings=tuple(
                checkins.RatingAnswer(
                    practices[keys.get(key, key)].id,
                    value,
                    key in private or keys.get(key) in private,
                    question=key if key in keys else "",
                    not_applicable=value is None,
                )
                for key, value in values.items()
            ),
            homework=tuple(
                checkins.HomeworkAnswer(q.plan_item_id, q.title, done, 2, homework_private)
                for q, done in zip(questions, homework, strict=False)
            ),
            went_well=went_well,
            went_well_private=went_well_private,
            was_hard=was_hard,
            was_hard_private=was_hard_private,
        )
        checkin = checkins.create_checkin(couple, role, data)
        if reviewed:
            checkin.reviewed_at = utcnow()
            db.session.commit()
        return checkin.id


def add_score(
    app: Flask, couple_id: int, role: str, on_date: date, items: Sequence[int], slug: str = "csi-4"
) -> float:
    """A stored measure score from item scores; returns the computed total."""
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        stored = next(m for m in measures.measures() if m.slug == slug)
        scores = {item.key: value for item, value in zip(stored.measure.items, items, strict=True)}
        score = measures.new_score(couple, role, stored, on_date, scores, None)
        db.session.commit()
        return score.total


def create_link(app: Flask, couple_id: int, role: str = "a", days: int = 7) -> str:
    """A new partner link; returns its token."""
    with app.app_context(), app.test_request_context():
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, couple.owner_id)
        _, token = checkins.create_link(couple, role, days=days, user=owner)
        return token


def practice_id(app: Flask, slug: str) -> int:
    with app.app_context():
        return db.session.scalars(select(Practice.id).where(Practice.slug == slug)).one()


def rating_form(app: Flask, value: int | str = 5, **extra: object) -> dict[str, object]:
    """A complete check-in form post: every practice rated `value`."""
    from therapy.checkins import questions

    with app.app_context():
        practices = [(p.id, p.slug) for p in checkins.practices()]
    data: dict[str, object] = {
        questions.field_name(pid, index): str(value)
        for pid, slug in practices
        for index in range(max(1, len(questions.asked(slug))))
    }
    data.update(extra)
    return data
