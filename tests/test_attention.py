"""The dashboard's "needs attention": one crafted history per rule, a calm one, and a
fixed number of queries whatever the caseload's size."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.progress_helpers import add_checkin, add_score, create_link, held_session
from therapy.extensions import db
from therapy.models import CheckInLink, Couple, User, utcnow
from therapy.timeutil import format_date

TODAY = date.today()
STEADY = {"humor": 6, "patience": 6, "growth": 6}


@pytest.fixture
def couple(app, therapist, make_couple, library):
    couple_id = make_couple(therapist, "Zoë", "Łukasz")
    held_session(app, couple_id, days_ago=3)
    return couple_id


def reasons(app, therapist) -> dict[str, list[str]]:
    from therapy.progress.attention import needing_attention

    with app.app_context():
        user = db.session.get(User, therapist.id)
        return {item.label: item.reasons for item in needing_attention(user)}


def only_reason(app, therapist) -> str:
    found = reasons(app, therapist)
    assert list(found) == ["Zoë & Łukasz"], found
    (reason,) = found["Zoë & Łukasz"]
    return reason


def steady_week(app, couple, days_ago, **ratings):
    add_checkin(app, couple, "a", TODAY - timedelta(days=days_ago), {**STEADY, **ratings},
                homework=["fully"])  # fmt: skip
    add_checkin(app, couple, "b", TODAY - timedelta(days=days_ago), STEADY, homework=["partly"])


def test_a_calm_history_needs_no_attention(app, therapist, couple, logged_in):
    for days_ago in (14, 7, 0):
        steady_week(app, couple, days_ago)
    add_score(app, couple, "a", TODAY - timedelta(days=30), (4, 4, 4, 4))
    add_score(app, couple, "a", TODAY, (5, 4, 4, 4))
    add_score(app, couple, "b", TODAY, (4, 4, 4, 5))
    create_link(app, couple, "a")
    assert reasons(app, therapist) == {}
    page = logged_in.get("/").get_data(as_text=True)
    assert "Good to see you, Dr. First" in page and "Nothing needs attention" in page


def test_a_falling_practice_rating(app, therapist, couple):
    steady_week(app, couple, 7, humor=8)
    steady_week(app, couple, 0, humor=5)
    assert (
        only_reason(app, therapist) == "Zoë's rating of A shared sense of humor fell from 8 to 5."
    )


def test_a_fall_smaller_than_the_threshold_is_calm(app, therapist, couple):
    steady_week(app, couple, 7, humor=8)
    steady_week(app, couple, 0, humor=6)
    assert reasons(app, therapist) == {}


def test_a_reliably_falling_measure(app, therapist, couple):
    add_score(app, couple, "b", TODAY - timedelta(days=28), (6, 5, 5, 5))  # 21
    add_score(app, couple, "b", TODAY, (4, 4, 4, 4))  # 16: fell by 5, still above 13.5
    first = format_date(TODAY - timedelta(days=28))
    assert only_reason(app, therapist) == (
        f"Łukasz's CSI-4 fell from 21 at intake ({first}) to 16 (a reliable change is 4)."
    )


def test_a_slow_csi4_decline_is_flagged_against_intake_not_month_to_month(app, therapist, couple):
    """2 points a month: never 4 between two scores, but 4 below intake after two months,
    and 6 (across the 13.5 cut-off) after three: a clinically significant deterioration."""
    for months_ago, items in ((3, (5, 4, 5, 4)), (2, (4, 4, 4, 4)), (1, (4, 3, 4, 3))):
        add_score(app, couple, "a", TODAY - timedelta(days=30 * months_ago), items)  # 18 16 14
    first = format_date(TODAY - timedelta(days=90))
    assert only_reason(app, therapist) == (
        f"Zoë's CSI-4 fell from 18 at intake ({first}) to 14 (a reliable change is 4)."
    )
    add_score(app, couple, "a", TODAY, (3, 3, 3, 3))  # 12: 2 below the previous 14
    assert reasons(app, therapist)["Zoë & Łukasz"] == [
        f"Zoë's CSI-4 fell from 18 at intake ({first}) to 12 (a reliable change is 4); "
        "a clinically significant deterioration, across the cut-off.",
        "Zoë's latest CSI-4 (12) is below the cut-off of 13.5.",
    ]


def test_a_fall_since_the_previous_score_is_named_apart_from_intake(app, therapist, couple):
    add_score(app, couple, "b", TODAY - timedelta(days=60), (4, 4, 4, 4))  # 16
    add_score(app, couple, "b", TODAY - timedelta(days=30), (6, 5, 5, 5))  # 21
    add_score(app, couple, "b", TODAY, (4, 4, 4, 4))  # 16: 5 below the previous, intake again
    assert only_reason(app, therapist) == (
        "Łukasz's CSI-4 fell from 21 to 16 since the previous score (a reliable change is 4)."
    )


def test_a_partner_below_the_cutoff(app, therapist, couple):
    add_score(app, couple, "a", TODAY, (3, 3, 4, 3))  # 13
    assert only_reason(app, therapist) == "Zoë's latest CSI-4 (13) is below the cut-off of 13.5."


def test_a_large_gap_on_a_practice(app, therapist, couple):
    add_checkin(app, couple, "a", TODAY, {**STEADY, "patience": 9})
    add_checkin(app, couple, "b", TODAY - timedelta(days=2), {**STEADY, "patience": 5})
    assert only_reason(app, therapist) == (
        "Zoë and Łukasz are 4 points apart on Patience and understanding (9 and 5)."
    )


def test_gaps_on_many_practices_are_summed_up_in_one_line(app, therapist, couple):
    add_checkin(app, couple, "a", TODAY, dict.fromkeys(STEADY, 9) | {"humor": 10})
    add_checkin(app, couple, "b", TODAY, dict.fromkeys(STEADY, 4) | {"humor": 2})
    assert only_reason(app, therapist) == (
        f"Zoë and Łukasz are 4 or more points apart on {len(STEADY)} practices, most on "
        "A shared sense of humor (10 and 2)."
    )


def test_a_large_gap_on_a_measure(app, therapist, couple):
    add_score(app, couple, "a", TODAY, (6, 5, 5, 4))  # 20
    add_score(app, couple, "b", TODAY - timedelta(days=10), (4, 4, 4, 3))  # 15
    assert only_reason(app, therapist) == (
        "Zoë and Łukasz are 5 points apart on the CSI-4 (20 and 15; a gap is 5 or more "
        "or one on each side of the cut-off)."
    )


def test_a_measure_gap_follows_its_own_rule_not_the_reliable_change(app, therapist, couple):
    # 4 apart is a reliable change on the CSI-4, but not a gap by the file's gap rule (5).
    add_score(app, couple, "a", TODAY, (6, 5, 5, 4))  # 20
    add_score(app, couple, "b", TODAY, (5, 4, 4, 3))  # 16
    assert reasons(app, therapist) == {}
    # 3 apart, but on either side of the cut-off: a gap.
    add_score(app, couple, "a", TODAY, (4, 3, 4, 4))  # 15
    add_score(app, couple, "b", TODAY, (3, 3, 3, 3))  # 12
    found = reasons(app, therapist)["Zoë & Łukasz"]
    assert any("3 points apart on the CSI-4 (15 and 12;" in line for line in found), found


def test_homework_not_done_twice_in_a_row(app, therapist, couple):
    add_checkin(app, couple, "a", TODAY - timedelta(days=7), STEADY, homework=["not"])
    add_checkin(app, couple, "a", TODAY, STEADY, homework=["not"])
    add_checkin(app, couple, "b", TODAY - timedelta(days=7), STEADY, homework=["not"])
    add_checkin(app, couple, "b", TODAY, STEADY, homework=["partly"])
    assert only_reason(app, therapist) == "Zoë did not do the homework two check-ins in a row."


def test_a_link_waiting_more_than_five_days(app, therapist, couple):
    create_link(app, couple, "b")
    assert reasons(app, therapist) == {}
    with app.app_context():
        link = db.session.scalars(select(CheckInLink)).one()
        link.created_at = utcnow() - timedelta(days=6)
        db.session.commit()
    assert only_reason(app, therapist) == "Łukasz's check-in link has been waiting 6 days."


def test_no_session_in_four_weeks(app, therapist, make_couple, library):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    held_session(app, couple, days_ago=30)
    assert only_reason(app, therapist) == "No session for 4 weeks."
    make_couple(therapist, "New", "Couple", started_on=TODAY - timedelta(days=35))
    assert reasons(app, therapist)["New & Couple"] == ["No session yet, 5 weeks after starting."]


def test_only_active_couples_are_listed_and_each_says_why(app, therapist, couple, logged_in):
    add_score(app, couple, "a", TODAY, (1, 1, 1, 1))
    with app.app_context():
        db.session.get(Couple, couple).status = "paused"
        db.session.commit()
    assert reasons(app, therapist) == {}
    with app.app_context():
        db.session.get(Couple, couple).status = "active"
        db.session.commit()
    page = html.unescape(logged_in.get("/").get_data(as_text=True))
    assert "Needs attention" in page and "Zoë's latest CSI-4 (4) is below the cut-off" in page


def caseload(app, therapist, make_couple, number):
    for n in range(number):
        couple = make_couple(therapist, f"A{n}", f"B{n}", started_on=TODAY - timedelta(days=60))
        if n % 3 == 0:
            held_session(app, couple, days_ago=40)
        add_checkin(app, couple, "a", TODAY - timedelta(days=7), 8, homework=["not"])
        add_checkin(app, couple, "a", TODAY, 3, homework=["not"])
        add_checkin(app, couple, "b", TODAY, 9)
        add_score(app, couple, "a", TODAY, (2, 2, 2, 2))
        create_link(app, couple, "b")


def dashboard_queries(logged_in, count_queries) -> int:
    with count_queries() as counter:
        assert logged_in.get("/").status_code == 200
    return counter.count


def test_the_dashboard_makes_the_same_number_of_queries_for_3_or_30_couples(
    app, therapist, make_couple, library, logged_in, count_queries
):
    caseload(app, therapist, make_couple, 3)
    few = dashboard_queries(logged_in, count_queries)
    caseload(app, therapist, make_couple, 27)
    many = dashboard_queries(logged_in, count_queries)
    assert few == many, (few, many)
    page = logged_in.get("/").get_data(as_text=True)
    assert page.count("is below the cut-off of 13.5") == 20
    assert "And 10 more." in page
