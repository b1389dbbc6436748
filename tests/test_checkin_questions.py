"""Check-in questions: "We didn't disagree" as an answer of its own, the two double-barreled
questions split, and old answers kept under the question they answered."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from tests.progress_helpers import add_checkin, create_link, practice_id, rating_form
from therapy.extensions import db
from therapy.library import catalog
from therapy.models import CheckIn, CheckInRating

TODAY = date.today()
DIDNT = "We didn't disagree this week"
OLD_APPRECIATION = "How much thanks and affection passed between you this week?"
OLD_COMMUNICATION = "How openly and honestly did the two of you talk with each other this week?"


@pytest.fixture
def couple(app, therapist, make_couple, library):
    return make_couple(therapist, "Zoë", "Łukasz")


def ratings_of(app, checkin_id):
    with app.app_context():
        checkin = db.session.get(CheckIn, checkin_id)
        return {r.question: (r.value, r.not_applicable) for r in checkin.ratings}


def test_the_conflict_question_offers_we_didnt_disagree_stored_as_its_own_answer(
    app, logged_in, couple
):
    page = html.unescape(logged_in.get(f"/couples/{couple}/checkins/new").get_data(as_text=True))
    assert DIDNT in page
    assert page.count(DIDNT) == 1  # only the conflict question has it
    conflict = practice_id(app, "conflict")
    form = rating_form(app, 6, partner="a", on_date=TODAY.isoformat())
    form[f"rating_{conflict}"] = "none"
    assert logged_in.post(f"/couples/{couple}/checkins/new", data=form).status_code == 302
    with app.app_context():
        checkin_id = db.session.scalars(select(CheckIn.id)).one()
    saved = ratings_of(app, checkin_id)
    assert saved["conflict"] == (None, True)  # not 0, not missing
    assert saved["humor"] == (6, False)
    shown = html.unescape(logged_in.get(f"/checkins/{checkin_id}").get_data(as_text=True))
    assert f"{DIDNT}</td>" in shown or DIDNT in shown
    # Editing it shows the answer chosen again.
    edit = logged_in.get(f"/checkins/{checkin_id}/edit").get_data(as_text=True)
    assert re.search(rf'<input checked id="rating_{conflict}-11"[^>]*value="none"', edit), edit


def test_a_partner_can_say_we_didnt_disagree_through_their_link(app, couple):
    token = create_link(app, couple, "b")
    partner = app.test_client()
    partner.get(f"/c/{token}")
    page = html.unescape(partner.get("/c/").get_data(as_text=True))
    assert DIDNT in page
    form = rating_form(app, 4)
    form[f"rating_{practice_id(app, 'conflict')}"] = "none"
    assert partner.post("/c/", data=form).status_code == 302
    with app.app_context():
        checkin_id = db.session.scalars(select(CheckIn.id)).one()
    assert ratings_of(app, checkin_id)["conflict"] == (None, True)


def test_the_database_keeps_a_number_and_the_other_answer_apart(app, couple):
    checkin_id = add_checkin(app, couple, "a", TODAY, {"humor": 5})
    with app.app_context():
        humor = practice_id(app, "humor")
    for value, not_applicable in ((0, True), (None, False), (11, False)):
        with app.app_context():
            db.session.add(
                CheckInRating(
                    checkin_id=checkin_id,
                    practice_id=humor,
                    question="conflict",
                    value=value,
                    not_applicable=not_applicable,
                )
            )
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()


def test_the_progress_page_never_draws_we_didnt_disagree_as_a_number(app, logged_in, couple):
    for weeks, value in ((3, 7), (2, None), (1, 6), (0, None)):
        add_checkin(app, couple, "a", TODAY - timedelta(weeks=weeks), {"conflict": value})
    page = html.unescape(logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True))
    chart = page.split('id="chart-conflict"')[1].split("</section>")[0]
    rows = re.findall(r'<tr><th scope="row">.*?</tr>', chart, re.S)
    assert len(rows) == 2  # the two numbers; the other weeks are not drawn as 0
    assert f"“{DIDNT}”: Zoë 2 weeks. These weeks are not drawn as a number." in chart
    assert "Zoë's rating fell" not in chart  # 7 to 6: no change was made up from them


def test_the_two_double_barreled_questions_are_split_and_asked_apart(app, logged_in, couple):
    questions = [q.text for p in catalog.load() if p.kind == "practice" for q in p.questions]
    assert OLD_APPRECIATION not in questions and OLD_COMMUNICATION not in questions
    page = html.unescape(logged_in.get(f"/couples/{couple}/checkins/new").get_data(as_text=True))
    for asked in (
        "How often did you thank each other this week?",
        "How much affection did you show each other this week?",
        "How openly did the two of you talk with each other this week?",
        "How honest were you with each other this week?",
    ):
        assert asked in page
    assert " and affection passed" not in page and "openly and honestly" not in page
    # No question about a practice asks two things joined by "and" any more.
    for question in questions:
        assert not re.search(r"\b(\w+ly) and (\w+ly)\b|thanks and affection", question), question


def test_answers_to_the_old_combined_question_stay_under_it(app, logged_in, couple):
    """An answer given before the split keeps the old question's key: its own chart, with a
    note, never joined to the "thanks" or "affection" answers after it."""
    old = add_checkin(app, couple, "a", TODAY - timedelta(weeks=2), {"appreciation": 2})
    with app.app_context():
        rating = db.session.scalars(
            select(CheckInRating).where(CheckInRating.checkin_id == old)
        ).one()
        rating.question = "appreciation"  # as the migration files an answer from before
        db.session.commit()
    add_checkin(app, couple, "a", TODAY, {"appreciation-thanks": 9, "appreciation-affection": 8})
    page = html.unescape(logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True))
    earlier = page.split('id="chart-appreciation"')[1].split("</section>")[0]
    thanks = page.split('id="chart-appreciation-thanks"')[1].split("</section>")[0]
    assert "Appreciation and affection: the earlier question" in earlier
    assert "split in two" in earlier and "not joined to the new questions" in earlier
    cells = re.findall(r"<td>([^<]*)</td>", earlier)
    assert cells[0] == "2" and not any(cell.startswith(("9", "8")) for cell in cells)
    assert len(re.findall(r'<tr><th scope="row">', thanks)) == 1  # only the new answer
    assert "fell" not in thanks and "rose" not in thanks
    # Editing the old check-in asks the question it answered, and keeps its answer.
    edit = html.unescape(logged_in.get(f"/checkins/{old}/edit").get_data(as_text=True))
    assert OLD_APPRECIATION in edit and "How often did you thank" not in edit
    form = rating_form(app, 5, on_date=(TODAY - timedelta(weeks=2)).isoformat(), version="1")
    assert logged_in.post(f"/checkins/{old}/edit", data=form).status_code == 302
    saved = ratings_of(app, old)
    assert saved["appreciation"] == (5, False)
    assert "appreciation-thanks" not in saved


def test_the_migration_files_old_ratings_under_their_question_and_converts_steps(
    make_app,
):
    """Downgrade to before this change and upgrade again, with data: ratings come back under
    their practice's question key, therapist steps as therapist steps, not as text."""
    from flask_migrate import downgrade, upgrade

    from tests.test_migrations import make_user_in
    from therapy.couples import services as couples
    from therapy.library.seed import seed_library
    from therapy.models import Exercise, User

    app = make_app()  # the test's database: a SQLite copy, or the shared PostgreSQL one
    with app.app_context():
        upgrade()
        seed_library()
        user = db.session.get(User, make_user_in(app).id)
        couple_id = couples.create_couple(
            user,
            couples.CoupleData(
                partner_a=couples.PartnerData("Ada"), partner_b=couples.PartnerData("Bo")
            ),
        ).id
    add_checkin(app, couple_id, "a", TODAY, 6)
    with app.app_context():
        downgrade(revision="fa117c6ba946")
        with db.engine.connect() as connection:
            steps = connection.execute(
                text("SELECT steps FROM exercises WHERE key = 'communication-say-it-back'")
            ).scalar_one()
            steps = steps if isinstance(steps, str) else json.dumps(steps)
            assert '"Therapist: Help the couple choose a light topic' in steps
            count = connection.execute(text("SELECT count(*) FROM checkin_ratings")).scalar()
            assert count == 9  # one per practice, as the old schema holds
        upgrade()
        keys = set(db.session.scalars(select(CheckInRating.question)))
        assert {"humor", "conflict", "appreciation", "communication"} <= keys
        exercise = db.session.scalars(
            select(Exercise).where(Exercise.key == "communication-say-it-back")
        ).one()
        assert {"therapist": "Help the couple choose a light topic, not a sore one."} in (
            exercise.steps
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        from tests.conftest import _empty_postgres

        _empty_postgres(app)  # the shared database: leave it empty, as the app fixture does


def test_suggestions_name_each_partners_mean_of_a_practice_asked_twice(app, couple):
    from therapy.checkins.services import lowest_rated_practices
    from therapy.models import Couple

    steady = dict.fromkeys(("humor", "patience", "growth", "empathy"), 8)
    add_checkin(app, couple, "a", TODAY, {**steady, "appreciation-thanks": 1,
                                          "appreciation-affection": 3})  # fmt: skip
    add_checkin(app, couple, "b", TODAY, {**steady, "appreciation-thanks": 3,
                                          "appreciation-affection": 4})  # fmt: skip
    with app.test_request_context():
        (first, *_) = lowest_rated_practices(db.session.get(Couple, couple))
    assert first[1].startswith("Appreciation and affection: lowest rated")
    assert first[1].endswith("(Zoë 2, Łukasz 3.5)")
