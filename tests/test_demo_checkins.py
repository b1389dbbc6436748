"""seed-demo gives the demo couples months of check-ins, once, with or without sessions."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.progress_helpers import held_session
from therapy import demo
from therapy.extensions import db
from therapy.models import CheckIn, CheckInHomework, CheckInRating, Couple, MeasureScore, User


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_checkins_are_added_once_with_trends_private_answers_and_csi4(app, library):
    with app.app_context():
        demo.seed(couples=12, sessions=0)
        first = (count(CheckIn), count(CheckInRating), count(MeasureScore))
        assert first[0] > 100 and first[2] > 10
        assert db.session.scalar(select(func.count()).where(CheckInRating.private.is_(True)))
        assert db.session.scalar(select(func.count()).where(CheckIn.was_hard_private.is_(True)))
        totals = db.session.scalars(select(MeasureScore.total)).all()
        assert min(totals) < 13.5 < max(totals)
        demo.seed(couples=12, sessions=0)
        assert (count(CheckIn), count(CheckInRating), count(MeasureScore)) == first
        assert count(CheckInHomework) == 0  # no demo sessions yet: no homework to answer


def test_demo_checkins_answer_the_homework_of_held_sessions(app, library):
    with app.app_context():
        user = demo.services.create_user(demo.DEMO_EMAIL, demo.DEMO_NAME, demo.demo_password())
        demo.seed_couples(user, 3)
        first = db.session.scalars(select(Couple.id).order_by(Couple.id)).first()
    held_session(app, first, days_ago=40)
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert demo.seed_checkins(user) > 0
        answered = db.session.scalars(select(CheckInHomework.title)).all()
        assert answered and set(answered) == {"The daily download"}
        assert demo.seed_checkins(user) == 0
