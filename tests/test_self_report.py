"""Partners answer a measure themselves only when its file holds the item wording and
records the permission to show it; such scores chart like the therapist's, marked
self-report. The built-in CSI-4 stays score entry."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.progress_helpers import create_link, held_session, rating_form
from tests.test_chart_legends import legend_items, sections
from tests.test_charts import marks, svg_of
from therapy.extensions import db
from therapy.measures import services as measures
from therapy.measures.definitions import builtin_measures, parse_definition
from therapy.models import MeasureScore, User

DEFINITION = """
slug = "weekly-closeness"
name = "Weekly closeness check"
short_name = "WCC"
construct = "Closeness"
entry = "items"
higher_is_better = true
licence = "Written for this practice; free to use."
source = "Our own two questions, written by the practice in 2026."
{permission}

[scoring]
method = "sum"
minimum = 0
maximum = 8
reliable_change = 2

[[items]]
key = "close"
label = "Close"
text = "How close did you feel to your partner this week?"
minimum = 0
maximum = 4

[[items]]
key = "heard"
label = "Heard"
text = "How well did you feel heard this week?"
minimum = 0
maximum = 4
"""
PERMISSION = 'self_report_permission = "Written by the practice; partners may read it."'


def test_only_a_full_item_measure_with_a_recorded_permission_is_self_report():
    assert parse_definition(DEFINITION.format(permission=PERMISSION)).self_report
    assert not parse_definition(DEFINITION.format(permission="")).self_report
    csi = next(m for m in builtin_measures() if m.slug == "csi-4")
    assert not csi.self_report  # score entry: its wording is not in Tandem


def _import(app, therapist, permission):
    with app.app_context():
        owner = db.session.get(User, therapist.id)
        return measures.import_measure(DEFINITION.format(permission=permission).encode(), owner).id


def _partner_page(app, couple_id):
    client = app.test_client()
    client.get(f"/c/{create_link(app, couple_id, 'a')}")
    return client, client.get("/c/").get_data(as_text=True)


def test_the_partner_answers_it_and_it_charts_marked_self_report(
    app, therapist, make_couple, library, logged_in
):
    couple_id = make_couple(therapist, "Zoë", "Łukasz")
    held_session(app, couple_id)
    client, page = _partner_page(app, couple_id)
    assert "How close did you feel" not in page  # nothing to answer yet
    assert "Couples Satisfaction" not in page  # the CSI-4 is never on a partner's page
    measure_id = _import(app, therapist, PERMISSION)
    client, page = _partner_page(app, couple_id)
    assert "How close did you feel to your partner this week? (0 to 4)" in page
    form = rating_form(app, 6, hw_0_done="fully", hw_0_helpful="2")
    form.update({f"score_{measure_id}_0": "3", f"score_{measure_id}_1": "1"})
    response = client.post("/c/", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        score = db.session.scalars(select(MeasureScore)).one()
        assert score.total == 4 and score.partner_role == "a" and score.entered_by_id is None
    progress = logged_in.get(f"/couples/{couple_id}/progress").get_data(as_text=True)
    assert "Weekly closeness check" in progress
    assert re.search(r"4 \(self-report\)", progress)
    # The drawn chart marks it too (the printed report has no table): a dashed ring round
    # Zoë's one point, named in the legend and the image's text.
    section = sections(progress)["weekly-closeness"]
    svg = svg_of(re.search(r'src="(data:image/svg\+xml;base64,[^"]+)"', section).group(1))
    assert marks(svg, 5)[1] == 1 and marks(svg, 6)[1] == 0
    assert "Answered on their own page (dashed ring)" in legend_items(section)
    assert "A dashed ring marks the point a partner answered on their own page." in section
    # Scores the therapist enters are not ringed: the CSI-4's section names no ring.
    assert "Answered on their own page" not in sections(progress)["csi-4"]


def test_without_the_permission_the_partner_is_not_asked(app, therapist, make_couple, library):
    couple_id = make_couple(therapist, "Zoë", "Łukasz")
    held_session(app, couple_id)
    measure_id = _import(app, therapist, "")
    client, page = _partner_page(app, couple_id)
    assert "How close did you feel" not in page
    form = rating_form(app, 6, hw_0_done="fully", hw_0_helpful="2")
    form.update({f"score_{measure_id}_0": "3", f"score_{measure_id}_1": "1"})
    client.post("/c/", data=form)
    with app.app_context():
        assert db.session.scalars(select(MeasureScore)).all() == []
