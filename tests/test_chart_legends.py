"""Charts say what they draw: for every practice chart and the homework chart, on the
progress page and in the report PDF (therapist's and couple's), each mark the legend or
the table names is in the chart's SVG, and each mark the SVG draws is named, for 0, 1, 2
and many weeks of check-ins, from both partners or from one.

(The CSI-4 chart, with its cut-off, is checked the same way in tests/test_charts.py.)
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

import pytest

from tests.progress_helpers import add_checkin, add_score, held_session
from tests.test_charts import marks, plot_width, svg_of, svg_tree
from therapy import pdf

SVG = "{http://www.w3.org/2000/svg}"
# Swings of 4+ points from week to week: reliable changes to ring.
A_RATINGS = (2, 8, 3, 9, 4, 9)
B_RATINGS = (5, 5, 6, 6, 5, 6)
# CSI-4 item scores: partner A's total swings across the 13.5 cut-off.
CSI_A = ((2, 2, 2, 2), (5, 4, 4, 4), (3, 3, 2, 2), (5, 5, 4, 4), (2, 2, 2, 2), (5, 4, 4, 4))
CSI_B = ((3, 3, 3, 3),) * 6


@pytest.fixture
def history(app, therapist, make_couple, library):
    def build(weeks: int, both: bool = True) -> int:
        couple = make_couple(therapist, "Zoë", "Łukasz")
        if weeks:
            held_session(app, couple, days_ago=7 * weeks + 3)
        today = date.today()
        for n in range(weeks):
            day = today - timedelta(weeks=weeks - 1 - n)
            add_checkin(app, couple, "a", day, A_RATINGS[n], homework=["partly"])
            add_score(app, couple, "a", day, CSI_A[n])
            if both:
                add_checkin(app, couple, "b", day, B_RATINGS[n], homework=["not"])
                add_score(app, couple, "b", day, CSI_B[n])
        return couple

    return build


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def legend_items(fragment: str) -> list[str]:
    block = fragment.split('<ul class="chart-legend">')[1].split("</ul>")[0]
    return [text_of(item) for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def sections(page: str) -> dict[str, str]:
    """Each chart's section of a page, by its key (chart-<key>)."""
    found = {}
    for part in page.split('<section class="chart-block"')[1:]:
        key = re.search(r'id="chart-([^"]+)"', part).group(1)
        found[key] = part.split("</section>")[0]
    return found


def drawn_kinds(svg: str, index: int) -> set[str]:
    """What series `index` draws: "line" (through 2+ points) and/or "point" (a lone dot)."""
    lines, dots = marks(svg, index)
    kinds = set()
    if any(len(line) >= 2 for line in lines):
        kinds.add("line")
    if dots:
        kinds.add("point")
    return kinds


LEGEND_KIND = {
    "solid line": "line",
    "dashed line": "line",
    "dotted line": "line",
    "one point": "point",
    "one larger point": "point",
    "one small point": "point",
}


def check_line_chart(svg: str, legend: list[str], names: tuple[str, str], where: str) -> None:
    """Every series named in the legend is drawn as the legend says, and only those."""
    labels = {0: names[0], 1: names[1], 2: "Difference between them"}
    for index, label in labels.items():
        named = [item for item in legend if item.startswith(label + " (")]
        kinds = drawn_kinds(svg, index)
        if not named:
            assert not kinds, f"{where}: {label} is drawn ({kinds}) but not in the legend"
            continue
        (item,) = named
        said = LEGEND_KIND[item[len(label) + 2 : -1]]
        assert said in kinds, f"{where}: the legend says {item!r}, the chart draws {kinds}"
        if said == "point":
            assert "line" not in kinds, f"{where}: {item!r} but a line is drawn"
    rings = marks(svg, 3)[1]
    ringed = any(item.startswith(("Reliable change", "Large change")) for item in legend)
    assert ringed == bool(rings), f"{where}: legend {legend}, {rings} rings"
    # A dashed ring on each point a partner answered on their own page (series 5 and 6),
    # named in the legend exactly when one is drawn.
    own = marks(svg, 5)[1] + marks(svg, 6)[1]
    named_own = "Answered on their own page (dashed ring)" in legend
    assert named_own == bool(own), f"{where}: legend {legend}, {own} self-report rings"
    cutoff = [item for item in legend if item.startswith("Cut-off")]
    lines = marks(svg, 4)[0]
    assert bool(cutoff) == bool(lines), f"{where}: legend {legend}, cut-off lines {lines}"
    for line in lines:
        assert len({y for _, y in line}) == 1
        assert max(x for x, _ in line) - min(x for x, _ in line) > 0.9 * plot_width(svg)


def table_counts(section: str) -> tuple[int, int, int]:
    """From the page's table: weeks answered by each partner, and weeks with a difference."""
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    rows = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in body.split("<tr>")[1:]]
    return tuple(sum(1 for row in rows if text_of(row[n]) != "—") for n in range(3))  # type: ignore[return-value]


def check_points_match_table(svg: str, counts: tuple[int, int, int], where: str) -> None:
    for index, count in enumerate(counts):
        lines, dots = marks(svg, index)
        if count == 0:
            assert (lines, dots) == ([], 0), where
        elif count == 1:
            assert dots >= 1 and not any(len(line) >= 2 for line in lines), where
        else:
            assert any(len(line) == count for line in lines), (where, index, count, lines)


def bar_counts(svg: str) -> list[int]:
    """How many bars each of the homework chart's three series draws."""
    counts = []
    for index in range(3):
        count = 0
        for group in svg_tree(svg).iter(f"{SVG}g"):
            if f"serie-{index}" in group.get("class", "").split():
                count += sum(1 for _ in group.iter(f"{SVG}rect"))
        counts.append(count)
    return counts


def check_homework(section: str, where: str) -> None:
    if "No homework answers in this period." in section:
        assert "<img" not in section
        return
    svg = svg_of(re.search(r'src="(data:image/svg\+xml;base64,[^"]+)"', section).group(1))
    legend = legend_items(section)
    for index, label in enumerate(("Fully", "Partly", "Not done")):
        named = any(item.startswith(label) for item in legend)
        assert named == bool(bar_counts(svg)[index]), (where, label, legend, bar_counts(svg))


def image_of(section: str) -> str:
    return svg_of(re.search(r'src="(data:image/svg\+xml;base64,[^"]+)"', section).group(1))


WEEKS = [0, 1, 2, 6]


@pytest.mark.parametrize("both", [True, False], ids=["both", "one-partner"])
@pytest.mark.parametrize("weeks", WEEKS)
def test_progress_page_charts_draw_what_legend_and_table_name(history, logged_in, weeks, both):
    couple = history(weeks, both)
    page = logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True)
    charts = sections(page)
    practices = {k: v for k, v in charts.items() if k not in ("homework", "csi-4")}
    assert len(practices) == 11  # nine practices; two ask two questions since the split
    for key, section in practices.items():
        where = f"page, {key}, {weeks} weeks"
        if not weeks:
            assert "No answers in this period." in section and "<img" not in section
            continue
        svg = image_of(section)
        check_line_chart(svg, legend_items(section), ("Zoë", "Łukasz"), where)
        counts = table_counts(section)
        assert counts == (weeks, weeks if both else 0, weeks if both else 0), where
        check_points_match_table(svg, counts, where)
    check_homework(charts["homework"], f"page, homework, {weeks} weeks")
    check_measure(charts["csi-4"], weeks, f"page, CSI-4, {weeks} weeks")


def check_measure(section: str, weeks: int, where: str) -> None:
    """The CSI-4 chart: its own legend, with the cut-off line whenever there are scores."""
    if not weeks:
        assert "No answers in this period." in section and "<img" not in section
        return
    svg = image_of(section)
    legend = legend_items(section)
    assert any(item.startswith("Cut-off at 13.5") for item in legend), (where, legend)
    check_line_chart(svg, legend, ("Zoë", "Łukasz"), where)


@pytest.mark.parametrize("for_couple", [False, True], ids=["therapist", "couple"])
@pytest.mark.parametrize("both", [True, False], ids=["both", "one-partner"])
@pytest.mark.parametrize("weeks", WEEKS)
def test_report_charts_draw_what_their_legends_name(
    app, history, logged_in, monkeypatch, weeks, both, for_couple
):
    couple = history(weeks, both)
    printed: list[str] = []

    def capture(html_text: str, *args: Any, **kwargs: Any) -> bytes:
        printed.append(html_text)
        return b"%PDF-1.7 captured"

    monkeypatch.setattr(pdf, "render_pdf", capture)
    data = {"start": (date.today() - timedelta(weeks=10)).isoformat()}
    if for_couple:
        data["for_couple"] = "y"
    response = logged_in.post(f"/couples/{couple}/report.pdf", data=data)
    assert response.status_code == 200
    (report,) = printed
    charts = sections(report)
    practices = {k: v for k, v in charts.items() if k not in ("homework", "csi-4")}
    grid = report.split('<section class="practice-grid">')[1]
    if not weeks:
        assert "No ratings in this period." in grid and not practices
    else:
        # One legend above all the practice charts: true of each of them.
        legend = legend_items(grid)
        assert len(practices) == 11  # nine practices; two ask two questions since the split
        for key, section in practices.items():
            where = f"report, {key}, {weeks} weeks"
            svg = image_of(section)
            assert "chart-legend" not in section
            check_line_chart_shared(svg, legend, where)
            summary = text_of(section.split('<p class="chart-summary">')[1].split("</p>")[0])
            assert f"Zoë: {weeks} week" in summary
            assert ("Łukasz:" in summary) == both
    check_homework(charts["homework"], f"report, homework, {weeks} weeks")
    if for_couple:
        # The couple's report shows no measure unless the therapist chose to (per couple).
        assert "csi-4" not in charts
    else:
        check_measure(charts["csi-4"], weeks, f"report, CSI-4, {weeks} weeks")


def check_line_chart_shared(svg: str, legend: list[str], where: str) -> None:
    """The report's shared legend: each partner and the difference as this chart draws
    them; rings named when any chart has them (so not checked per chart)."""
    legend = [item for item in legend if not item.startswith(("Reliable change", "Large change"))]
    rings = marks(svg, 3)[1]
    check_line_chart(
        svg,
        legend + (["Large change (ringed point)"] if rings else []),
        ("Zoë", "Łukasz"),
        where,
    )
