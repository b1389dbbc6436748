"""Measures as data: the CSI-4 scored by hand-worked examples, and bad definitions refused."""

from __future__ import annotations

import html

import pytest

from therapy.measures.definitions import (
    DATA_DIR,
    MeasureDefinitionError,
    ScoreError,
    builtin_measures,
    parse_definition,
)

CSI4 = next(m for m in builtin_measures() if m.slug == "csi-4")


def scores(happiness, warmth, rewarding, satisfaction):
    return {
        "happiness": happiness,
        "warmth": warmth,
        "rewarding": rewarding,
        "satisfaction": satisfaction,
    }


@pytest.mark.parametrize(
    ("items", "total", "distressed"),
    [
        (scores(0, 0, 0, 0), 0, True),
        (scores(6, 5, 5, 5), 21, False),
        # 3 + 3 + 4 + 3 = 13: below the 13.5 cut-off.
        (scores(3, 3, 4, 3), 13, True),
        # 4 + 3 + 4 + 3 = 14: just above it.
        (scores(4, 3, 4, 3), 14, False),
    ],
)
def test_csi4_totals_and_cutoff(items, total, distressed):
    assert CSI4.score(items) == total
    assert CSI4.in_clinical_range(total) is distressed


def test_csi4_carries_its_source_licence_and_thresholds():
    assert (CSI4.minimum, CSI4.maximum, CSI4.cutoff) == (0, 21, 13.5)
    assert "Funk" in CSI4.source and "Rogge" in CSI4.source and "2007" in CSI4.source
    assert "free" in CSI4.licence.lower()
    assert [item.maximum for item in CSI4.items] == [6, 5, 5, 5]
    assert CSI4.entry == "scores" and all(not item.text for item in CSI4.items)


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (10, 13, 0),  # 3 points: within the threshold of 4
        (10, 14, 1),  # 4 points up: reliably better
        (15, 11, -1),  # 4 points down: reliably worse
    ],
)
def test_reliable_change(before, after, change):
    assert CSI4.reliable_change == 4
    assert CSI4.change(before, after) == change


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"happiness": 3, "warmth": 3, "rewarding": 3}, "a score is missing"),
        (scores(7, 3, 3, 3), "from 0 to 6"),
        (scores(3, -1, 3, 3), "from 0 to 5"),
    ],
)
def test_bad_scores_are_refused_with_the_reason(items, message):
    with pytest.raises(ScoreError, match=message):
        CSI4.score(items)


VALID = """
slug = "trust-scale"
name = "A practice's trust scale"
short_name = "TS"
entry = "items"
higher_is_better = false
licence = "Licensed to this practice."
source = "Our own, 2026."
[scoring]
method = "mean"
minimum = 1
maximum = 5
cutoff = 3.5
cutoff_means = "above"
reliable_change = 0.8
[[items]]
key = "a"
label = "First"
text = "I feel unsure."
minimum = 1
maximum = 5
[[items]]
key = "b"
label = "Second"
text = "I feel safe."
minimum = 1
maximum = 5
reverse = true
"""


def test_an_imported_definition_scores_means_and_reverse_items():
    measure = parse_definition(VALID)
    # mean of 4 and (1 + 5 - 2) = 4 -> 4.0, above the 3.5 cut-off (higher is worse here).
    assert measure.score({"a": 4, "b": 2}) == 4.0
    assert measure.in_clinical_range(4.0)
    assert measure.change(4.0, 3.0) == 1  # lower is better for this measure


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (VALID.replace('slug = "trust-scale"', 'slug = "Trust Scale!"'), "slug"),
        (VALID.replace('entry = "items"', 'entry = "telepathy"'), "entry"),
        (VALID.replace('method = "mean"', 'method = "median"'), "method"),
        (VALID.replace("maximum = 5\ncutoff", "maximum = 9\ncutoff"), "does not match the items"),
        (VALID.replace("cutoff = 3.5", "cutoff = 7"), "cutoff"),
        (VALID.replace("reliable_change = 0.8", "reliable_change = 0"), "reliable_change"),
        (VALID.replace('text = "I feel safe."\n', ""), "needs each item's 'text'"),
        (VALID.replace('key = "b"', 'key = "a"'), "unique"),
        (VALID.replace('licence = "Licensed to this practice."\n', ""), "licence"),
        ("this is not toml [", "not a valid TOML"),
        (VALID + "\n" + "#" * 210_000, "200 KB"),
    ],
)
def test_an_invalid_definition_is_refused_with_the_reason(broken, reason):
    with pytest.raises(MeasureDefinitionError, match=reason):
        parse_definition(broken)


# --- measures in the database: seeded, imported, scores stored ------------------------

import io  # noqa: E402
from datetime import date  # noqa: E402

from sqlalchemy import select  # noqa: E402

from therapy.extensions import db  # noqa: E402
from therapy.models import AuditEvent, MeasureDefinition  # noqa: E402


def test_the_csi4_is_seeded_once_however_often_it_is_asked_for(app):
    from therapy.measures.services import measures, seed_measures

    with app.app_context():
        first = measures()
        assert [m.slug for m in first] == ["csi-4"] and first[0].builtin
        assert seed_measures() == 0
        assert len(db.session.scalars(select(MeasureDefinition)).all()) == 1


@pytest.mark.parametrize(
    ("items", "total", "distressed"),
    [((3, 3, 4, 3), 13, True), ((4, 3, 4, 3), 14, False), ((6, 5, 5, 5), 21, False)],
)
def test_stored_scores_keep_the_items_and_the_measures_total(
    app, therapist, make_couple, items, total, distressed
):
    from tests.progress_helpers import add_score
    from therapy.models import MeasureScore

    couple = make_couple(therapist)
    assert add_score(app, couple, "a", date.today(), items) == total
    with app.app_context():
        score = db.session.scalars(select(MeasureScore)).one()
        assert list(score.item_scores.values()) == list(items)
        assert CSI4.in_clinical_range(score.total) is distressed


@pytest.fixture
def admin_client(app, make_user, auth):
    account = make_user("admin@example.com", name="Admin", admin=True)
    auth.login(account)
    return auth.client


def upload(client, content: bytes, name: str = "measure.toml"):
    return client.post(
        "/admin/measures",
        data={"definition": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (VALID.replace("cutoff = 3.5", "cutoff = 7").encode(), "&#39;cutoff&#39; must be a number"),
        (b"this is not toml [", "This is not a valid TOML file"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        ((VALID + "#" * 210_000).encode(), "larger than 200 KB"),
        ((DATA_DIR / "csi-4.toml").read_bytes(), "already in Tandem"),
    ],
)
def test_an_invalid_measure_file_is_refused_with_the_reason_next_to_the_field(
    app, admin_client, content, reason
):
    response = upload(admin_client, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="definition-error"' in page and reason in page
    with app.app_context():
        assert len(db.session.scalars(select(MeasureDefinition)).all()) <= 1


def test_an_upload_without_a_file_asks_for_one(app, admin_client):
    response = admin_client.post("/admin/measures", data={}, content_type="multipart/form-data")
    assert "Choose a .toml file to import." in response.get_data(as_text=True)


def test_a_valid_measure_is_imported_and_usable(app, admin_client, make_couple, make_user):
    response = upload(admin_client, VALID.encode())
    assert response.status_code == 302
    page = admin_client.get("/admin/measures").get_data(as_text=True)
    assert "A practice&#39;s trust scale" in page and "Licensed to this practice." in page
    # Each measure's rules as its file states them: the CSI-4's gap rule, none for this one.
    assert "5 or more points apart (about one SD)" in html.unescape(page)
    assert "No rule in its file: no gap is marked" in page
    with app.app_context():
        row = db.session.scalars(
            select(MeasureDefinition).where(MeasureDefinition.slug == "trust-scale")
        ).one()
        assert not row.builtin
        assert "measure.import" in db.session.scalars(select(AuditEvent.action)).all()
    couple = make_couple(Owner(db_user_id(app, "admin@example.com")), "Ana", "Ben")
    form = admin_client.get(f"/couples/{couple}/scores/new?measure=trust-scale").get_data(
        as_text=True
    )
    assert "I feel unsure." in form
    response = admin_client.post(
        f"/couples/{couple}/scores/new?measure=trust-scale",
        data={
            "partner": "a",
            "on_date": date.today().isoformat(),
            f"score_{row.id}_0": "4",
            f"score_{row.id}_1": "2",
        },
    )
    assert response.status_code == 302
    progress = admin_client.get(f"/couples/{couple}/progress").get_data(as_text=True)
    assert "A practice&#39;s trust scale" in progress


class Owner:
    def __init__(self, user_id: int) -> None:
        self.id = user_id


def db_user_id(app, email: str) -> int:
    from therapy.models import User

    with app.app_context():
        return db.session.scalars(select(User.id).where(User.email == email)).one()


def test_csi4_thresholds_and_their_assumptions_come_from_its_file():
    text = (DATA_DIR / "csi-4.toml").read_text(encoding="utf-8")
    assert "partner_gap = 5" in text and "reliable_change = 4" in text
    assert CSI4.partner_gap == 5 and "Tandem's own rule" in CSI4.partner_gap_note
    assert "Jacobson" in CSI4.reliable_change_source and "Funk" in CSI4.cutoff_source
    # Edited in the file, the figures change with it: nothing is hard-coded.
    edited = parse_definition(text.replace("partner_gap = 5", "partner_gap = 7"))
    assert edited.partner_gap == 7 and not edited.partners_apart(20, 14)


@pytest.mark.parametrize(
    ("intake", "latest", "significant"),
    [
        (18, 12, -1),  # reliably worse and now below 13.5: clinically significant
        (20, 16, 0),  # reliably worse, still above the cut-off
        (14, 13, 0),  # across the cut-off, but only 1 point: not reliable
        (11, 15, 1),  # reliably better and out of the distressed range
    ],
)
def test_clinically_significant_change_needs_both_reliable_change_and_the_cutoff(
    intake, latest, significant
):
    assert CSI4.significant_change(intake, latest) == significant


@pytest.mark.parametrize(
    ("a", "b", "apart"),
    [(20, 16, False), (20, 15, True), (15, 12, True), (12, 10, False)],
)
def test_partners_apart_by_the_gap_rule_not_the_reliable_change(a, b, apart):
    # 4 points is a reliable change on the CSI-4, but the gap rule is 5 or either side of 13.5.
    assert CSI4.partners_apart(a, b) is apart


def test_a_measure_without_a_gap_rule_judges_no_gap():
    assert parse_definition(VALID).partner_gap is None
    assert not parse_definition(VALID).partners_apart(1.0, 5.0)
    with pytest.raises(MeasureDefinitionError, match="partner_gap"):
        parse_definition(
            VALID.replace("reliable_change = 0.8", "reliable_change = 0.8\npartner_gap = 9")
        )


def test_a_weekly_csi4_losing_2_points_a_month_is_flagged_against_intake_only():
    """Scored every week, falling 2 points a month (20, 20, 19, 19, 18, ...): no score is
    a reliable change from the week before, but week 8 is 4 below intake, and the fall
    crosses the cut-off as a clinically significant deterioration by week 14."""
    from datetime import timedelta

    from therapy.progress.services import _measure_cells

    start = date(2026, 1, 5)
    totals = [20 - week // 2 for week in range(16)]
    cells = _measure_cells(
        {start + timedelta(weeks=week): (float(t), False) for week, t in enumerate(totals)}, CSI4
    )
    ordered = [cells[day] for day in sorted(cells)]
    assert not any(cell.change for cell in ordered)  # never week to week
    flagged = [week for week, cell in enumerate(ordered) if cell.since_intake == -1]
    assert flagged[0] == 8 and totals[8] == 16
    significant = [week for week, cell in enumerate(ordered) if cell.significant == -1]
    assert significant[0] == 14 and totals[14] == 13  # 13 is below the 13.5 cut-off
