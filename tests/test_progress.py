"""The progress page, the couple view, the report PDF, and the plan builder's hook."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.pdf_helpers import poppler_text, words
from tests.pdf_helpers import text as pdf_text
from tests.progress_helpers import add_checkin, add_score, held_session
from therapy.extensions import db
from therapy.models import AuditEvent, Couple, TherapySession

TODAY = date.today()
MONDAY = TODAY - timedelta(days=TODAY.weekday())


def weeks_ago(n: int) -> date:
    """The Tuesday n weeks back, or today when this week's Tuesday is still ahead."""
    return min(MONDAY - timedelta(weeks=n) + timedelta(days=1), TODAY)


@pytest.fixture
def couple(app, therapist, make_couple, library):
    from therapy.couples.services import GoalData

    return make_couple(therapist, "Zoë", "Łukasz", goals=(GoalData("Weekly check-in talk"),))


@pytest.fixture
def history(app, couple):
    """Four weeks: Zoë's humor falls 8 -> 4 (reliable), a private rating and private text,
    a big gap on patience, CSI-4 below and above the cut-off."""
    held_session(app, couple, days_ago=30)
    with app.app_context():
        session = db.session.scalars(select(TherapySession)).one()
        session.notes_follow_up = "Therapist-only follow-up"
        db.session.commit()
    for n, humor in ((3, 8), (2, 8), (1, 4)):
        add_checkin(
            app,
            couple,
            "a",
            weeks_ago(n),
            {"humor": humor, "patience": 9},
            homework=["fully" if n != 1 else "not"],
        )
        add_checkin(
            app, couple, "b", weeks_ago(n), {"humor": 7, "patience": 3}, homework=["partly"]
        )
    add_checkin(
        app, couple, "a", weeks_ago(0), {"humor": 5, "patience": 9, "growth": 1},
        private=["growth"], went_well="Shared dinner", was_hard="Private worry text",
        was_hard_private=True,
    )  # fmt: skip
    add_score(app, couple, "a", weeks_ago(3), (4, 4, 4, 4))  # 16
    add_score(app, couple, "a", weeks_ago(0), (3, 3, 3, 3))  # 12: a reliable fall, below 13.5
    add_score(app, couple, "b", weeks_ago(0), (5, 4, 4, 4))  # 17
    return couple


def test_progress_shows_each_practice_and_measure_as_a_chart_and_a_table(app, logged_in, history):
    response = logged_in.get(f"/couples/{history}/progress")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    images = re.findall(
        r'<img class="chart" src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)"', page
    )
    # CSI-4, humor, patience, growth and every other rated practice, and homework.
    assert len(images) >= 4 and any("Couples Satisfaction Index" in alt for alt in images)
    assert "A shared sense of humor" in page and "How much did you laugh" in page
    assert page.count('<details class="chart-table"') >= 4 and "<table>" in page
    assert "Below 13.5: notable relationship dissatisfaction" in page
    # Changes: in words and in the table, not colour alone. A practice rating (Tandem's own
    # 0-10 question) moves by a "large" change, a measure by a "reliable" one.
    assert "Zoë's rating fell to 4 (large change, 3 or more from the previous rating)" in page
    assert "Zoë's score fell to 12 (reliable change, 4 or more from the previous score)" in page
    assert "▼ large fall" in page and "▼ reliable fall" in page
    assert "reliable rise" not in page.split('id="practices-heading"')[1]
    assert "Tandem's own threshold" in page or "Tandem's own thresholds" in page
    assert "large gap" in page
    # Each threshold with its assumptions and source, read from the measure's file.
    assert "Jacobson" in page and "partners" in page.lower()
    assert "5 or more points apart (about one SD)" in page
    assert "Homework done" in page and "Shared dinner" in page
    assert "Private worry text" in page and "badge-private" in page
    assert "Therapist-only follow-up" in page


def test_the_couple_view_leaves_out_private_answers_and_notes(app, logged_in, history):
    page = logged_in.get(f"/couples/{history}/progress?view=couple").get_data(as_text=True)
    assert "Shared dinner" in page
    assert "Private worry text" not in page
    assert "Therapist-only follow-up" not in page
    assert "badge-private" not in page
    # Zoë's private growth rating of 1 is in no chart and no table.
    growth = page.split('id="chart-growth"')[1].split("</section>")[0]
    assert "No answers in this period." in growth
    assert "hidden)" in page


def test_the_date_range_filters_and_bad_dates_are_explained(app, logged_in, history):
    start = weeks_ago(1).isoformat()
    page = logged_in.get(f"/couples/{history}/progress?start={start}").get_data(as_text=True)
    humor = page.split('id="chart-humor"')[1].split("</section>")[0]
    assert humor.count('<th scope="row">') == 2  # last week and this week
    response = logged_in.get(f"/couples/{history}/progress?start=yesterday&end=2020-13-01")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("Enter a date like 2026-03-14.") == 2
    later = logged_in.get(f"/couples/{history}/progress?start=2026-05-01&end=2026-04-01")
    assert "The end date must be after the start date." in later.get_data(as_text=True)


def test_the_report_pdf_for_the_therapist_and_for_the_couple(app, logged_in, history):
    data = {"start": weeks_ago(4).isoformat(), "end": TODAY.isoformat(), "summary": "Steady work."}
    response = logged_in.post(f"/couples/{history}/report.pdf", data=data)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert "Zo" not in disposition and "ukasz" not in disposition
    assert re.search(r'filename="progress-report-\d+-\d{4}-\d{2}-\d{2}\.pdf"', disposition)
    text = pdf_text(response.data)
    for expected in ("Steady work.", "Weekly check-in talk", "Private worry text", "Homework"):
        assert expected in text, expected
    # In brief rather than week by week: each partner's line per chart, homework added up.
    assert "Zoë: 4 weeks answered" in text and "Łukasz: 3 weeks answered" in text
    # Hand-worked: Zoë fully, fully, not; Łukasz partly three times.
    assert (
        "Over the period (3 weeks, 6 answers): fully 2 (33%) · partly 3 (50%) · not done 1 (17%)"
        in text
    )
    assert "The last 4 weeks" not in text  # the same weeks: said once
    assert "A move of 3 points or more from one week to the next is a large change" in text
    assert "is a reliable change" not in text
    couple_copy = pdf_text(
        logged_in.post(f"/couples/{history}/report.pdf", data={**data, "for_couple": "y"}).data
    )
    assert "Shared dinner" in couple_copy
    assert "Private worry text" not in couple_copy
    assert "Therapist-only follow-up" not in couple_copy
    with app.app_context():
        exports = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.export")
        ).all()
        assert len(exports) == 2 and exports[0].record_id == history


def test_past_half_a_year_homework_is_charted_by_month(app, logged_in, couple):
    held_session(app, couple, days_ago=7 * 30)
    for n in range(28):
        add_checkin(app, couple, "a", weeks_ago(n), homework=["fully" if n % 2 else "not"])
    start = weeks_ago(28).isoformat()
    page = logged_in.get(f"/couples/{couple}/progress?start={start}").get_data(as_text=True)
    section = html.unescape(page).split('id="chart-homework"')[1].split("</section>")[0]
    assert "Homework done, by month" in section and '<th scope="col">Month</th>' in section
    rows = re.findall(
        r'<th scope="row">([A-Z][a-z]+ \d{4})</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>',
        section,
    )
    assert 6 <= len(rows) <= 8
    assert sum(int(f) + int(p) + int(n) for _, f, p, n in rows) == 28
    assert sum(int(f) for _, f, _, _ in rows) == 14
    # Four weeks stay week by week.
    recent = logged_in.get(f"/couples/{couple}/progress?start={weeks_ago(3).isoformat()}")
    section = recent.get_data(as_text=True).split('id="chart-homework"')[1]
    assert "by month" not in section.split("</section>")[0]


def test_a_bad_report_form_is_explained_not_500(app, logged_in, history):
    response = logged_in.post(
        f"/couples/{history}/report.pdf", data={"start": "nope", "summary": "x" * 4001}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a date like 2026-03-14." in page and "under 4,000 characters" in page


def test_progress_without_checkins_invites_the_first_one(app, logged_in, couple):
    page = logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True)
    assert "No check-ins in this period yet." in page


def test_lowest_rated_practices_for_the_plan_builder(app, couple):
    from therapy.checkins.services import lowest_rated_practices

    add_checkin(app, couple, "a", TODAY - timedelta(days=20), {"humor": 1, "growth": 1})
    add_checkin(app, couple, "a", TODAY - timedelta(days=2), {"appreciation": 3, "humor": 9,
                "growth": 6, "patience": 5})  # fmt: skip
    add_checkin(app, couple, "b", TODAY - timedelta(days=4), {"appreciation": 4, "humor": 8,
                "growth": 4, "patience": 9})  # fmt: skip
    with app.test_request_context():
        couple_row = db.session.get(Couple, couple)
        result = lowest_rated_practices(couple_row)
    assert [practice.slug for practice, _ in result] == ["appreciation", "growth", "patience"]
    assert result[0][1] == "Appreciation and affection: lowest rated last week (Zoë 3, Łukasz 4)"
    assert result[1][1].startswith("Supporting each other's growth: among the lowest rated")


def test_lowest_rated_practices_is_empty_without_checkins(app, couple):
    from therapy.checkins.services import lowest_rated_practices

    with app.test_request_context():
        assert lowest_rated_practices(db.session.get(Couple, couple)) == []


PRACTICE_TITLES = (
    "Open and honest communication: Openness",
    "Open and honest communication: Honesty",
    "Empathy and understanding",
    "Quality time together",
    "Sharing vulnerabilities",
    "Appreciation and affection: Thanks",
    "Appreciation and affection: Affection",
    "Supporting each other's growth",
    "Resolving conflict constructively",
    "A shared sense of humor",
    "Patience and understanding",
)


@pytest.mark.parametrize("for_couple", [False, True])
def test_the_report_prints_each_chart_once_and_each_row_level(app, logged_in, couple, for_couple):
    """Two practice charts to a row, never repeated on the next page, their plots level
    even when one question wraps onto two lines and the other does not."""
    for n in range(6):
        for role in ("a", "b"):
            add_checkin(app, couple, role, weeks_ago(n), 3 + (n * 3 + (role == "b")) % 7,
                        went_well="Fine.")  # fmt: skip
    add_score(app, couple, "a", weeks_ago(2), (4, 4, 4, 4))
    data = {"start": weeks_ago(8).isoformat(), "end": TODAY.isoformat(), "summary": "Steady."}
    if for_couple:
        data["for_couple"] = "y"
    body = logged_in.post(f"/couples/{couple}/report.pdf", data=data).data
    text = poppler_text(body)
    for title in PRACTICE_TITLES:
        assert text.count(title) == 1, (title, text.count(title))
    # The top label of each practice chart's y axis ("10"): every chart in the right
    # column has one at the same height as the chart to its left.
    tens = [(page, left, top, width) for page, left, top, width, w in words(body) if w == "10"]
    right = [(page, top) for page, left, top, width in tens if left > width / 2]
    left = [(page, top) for page, left, top, width in tens if left <= width / 2]
    assert len(right) >= 4  # nine practices: at least four rows of two
    for page, top in right:
        assert any(p == page and abs(t - top) < 0.5 for p, t in left), (page, top, left)


def csi_rows(page: str) -> list[str]:
    section = html.unescape(page.split('id="chart-csi-4"')[1].split("</section>")[0])
    return re.findall(r"<tr><th scope=\"row\">.*?</tr>", section, re.S)


def test_a_slow_csi4_decline_is_marked_against_intake_not_between_scores(app, logged_in, couple):
    """2 points a month over four months: no two scores are 4 apart, but the third month is
    4 below intake, and the fourth (12) has crossed the 13.5 cut-off as well."""
    for months_ago, items in ((4, (5, 5, 5, 5)), (3, (5, 4, 5, 4)), (2, (4, 4, 4, 4))):
        add_score(app, couple, "a", TODAY - timedelta(days=30 * months_ago), items)  # 20 18 16
    add_score(app, couple, "a", TODAY - timedelta(days=30), (4, 3, 4, 3))  # 14
    add_score(app, couple, "a", TODAY, (3, 3, 3, 3))  # 12
    start = (TODAY - timedelta(days=150)).isoformat()
    page = logged_in.get(f"/couples/{couple}/progress?start={start}").get_data(as_text=True)
    text = html.unescape(page)
    assert "reliable fall" not in text  # never 4 between one score and the next
    assert "Zoë's score is 4 points below intake (20 to 16: reliable change since intake)" in text
    assert (
        "Zoë's score is 8 points below intake (20 to 12: reliable change since intake); "
        "a clinically significant deterioration, across the cut-off"
    ) in text
    rows = csi_rows(page)
    assert "below intake" not in rows[0] + rows[1]
    assert "reliably below intake (20)" in rows[2]
    assert "clinically significant deterioration" in rows[4]


def test_intake_is_the_first_score_even_before_the_period(app, logged_in, couple):
    add_score(app, couple, "a", TODAY - timedelta(days=200), (6, 5, 5, 5))  # 21, long ago
    add_score(app, couple, "a", TODAY, (4, 4, 4, 4))  # 16
    page = html.unescape(logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True))
    assert "Zoë's score is 5 points below intake (21 to 16" in page


def test_the_couple_view_shows_no_measures_unless_the_therapist_chose_to(app, logged_in, history):
    couple_view = logged_in.get(f"/couples/{history}/progress?view=couple").get_data(as_text=True)
    assert 'id="chart-csi-4"' not in couple_view and "Measures" not in couple_view
    data = {"start": weeks_ago(4).isoformat(), "end": TODAY.isoformat(), "for_couple": "y"}
    report = pdf_text(logged_in.post(f"/couples/{history}/report.pdf", data=data).data)
    assert "Couples Satisfaction Index" not in report and "CSI" not in report
    # The therapist's own view still shows both partners.
    assert 'id="chart-csi-4"' in logged_in.get(f"/couples/{history}/progress").get_data(
        as_text=True
    )


def test_a_partner_who_agreed_has_only_their_own_scores_shown(app, logged_in, history):
    page = logged_in.get(f"/couples/{history}/progress").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    response = logged_in.post(
        f"/couples/{history}/progress/couple-view-measures",
        data={"shown": "b", "csrf_token": token.group(1) if token else ""},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Couple, history).couple_view_measures == "b"
    couple_view = html.unescape(
        logged_in.get(f"/couples/{history}/progress?view=couple").get_data(as_text=True)
    )
    rows = csi_rows(couple_view)
    assert len(rows) == 1 and "17" in rows[0]  # Łukasz's 17; Zoë's 16 and 12 are not shown
    assert "12" not in "".join(rows) and "Zoë's score" not in couple_view
    assert "Only Łukasz's scores are shown here" in couple_view
    data = {"start": weeks_ago(4).isoformat(), "end": TODAY.isoformat(), "for_couple": "y"}
    report = pdf_text(logged_in.post(f"/couples/{history}/report.pdf", data=data).data)
    assert "Łukasz: 1 week answered" in report and "Zoë: 2 weeks" not in report
