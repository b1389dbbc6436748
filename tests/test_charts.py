"""The chart images: what a printed <img> shows, and nothing WeasyPrint would draw for no one."""

from __future__ import annotations

import base64
import html
import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pygal.config
import pygal.graph.base
import pytest

from tests.conftest import REDIS_URL, AuthActions
from tests.progress_helpers import add_checkin, add_score
from therapy.progress import charts

MONDAY = date(2026, 3, 2)


def mondays(count: int, first: date = MONDAY) -> tuple[date, ...]:
    return tuple(first + timedelta(weeks=n) for n in range(count))


def svg_of(data_url: str) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert data_url.startswith(prefix)
    return base64.b64decode(data_url[len(prefix) :]).decode()


def practice_spec(**overrides: object) -> charts.LineSpec:
    values: dict[str, object] = {
        "days": mondays(10),
        "partner_a": (5, 5, 9, 9, 4, 4, 5, 6, 6, 7),
        "partner_b": (4, None, 4, 5, 5, 5, 6, 6, 7, 7),
        "names": ("Zoë", "Łukasz"),
        "minimum": 0,
        "maximum": 10,
        "gap": (1, None, 5, 4, 1, 1, 1, 0, 1, 0),
        "changes": (None, None, 9, None, 4, None, None, None, None, None),
        "wide": False,
    }
    values.update(overrides)
    return charts.LineSpec(**values)  # type: ignore[arg-type]


def test_a_chart_keeps_only_what_an_image_shows():
    charts.clear_cache()
    svg = svg_of(charts.line_chart(practice_spec()))
    # pygal's script and configuration, tooltips and hover titles are gone ...
    for unshown in ("<script", "<desc", "<title", "#chart-"):
        assert unshown not in svg, unshown
    # ... and so are stylesheets and style attributes: the series' CSS is applied as
    # presentation attributes, which WeasyPrint reads without parsing a stylesheet.
    assert ' style="' not in svg and "<style" not in svg
    rings = re.findall(r'<circle [^>]*r="9"[^>]*/>', svg)
    assert len(rings) == 2  # the two reliable changes, no more
    ring = 'fill="#fff" stroke="#9b1c1c" stroke-width="3"'  # charts.CHANGE_MARKER
    assert all(ring in one for one in rings), rings
    # A 0-10 scale is labelled every 2 points.
    y_labels = re.findall(r'<text x="-5" y="\d+" class="[^"]*"[^>]*>(\d+)</text>', svg)
    assert y_labels == ["0", "2", "4", "6", "8", "10"]


def test_the_same_data_draws_the_same_image_and_new_data_a_new_one():
    charts.clear_cache()
    first = charts.line_chart(practice_spec())
    assert charts.line_chart(practice_spec()) is first
    assert charts.line_chart(practice_spec(partner_b=(4,) * 10)) != first


def test_small_charts_label_at_most_four_weeks_and_wide_ones_eight():
    days = mondays(104)
    for wide, most in ((False, 4), (True, 8)):
        spec = practice_spec(
            days=days,
            partner_a=(5,) * 104,
            partner_b=(6,) * 104,
            gap=(1,) * 104,
            changes=(),
            wide=wide,
        )
        svg = svg_of(charts.line_chart(spec))
        x_axis = svg.split('class="axis x"')[1].split('class="series')[0]
        shown = re.findall(r'class="major"[^>]*>([^<]+)</text>', x_axis)
        assert 1 < len(shown) <= most, shown


def test_axis_labels_name_days_over_half_a_year_and_months_past_it():
    half_year = charts.axis_labels(mondays(26, date(2025, 11, 3)), 4)
    shown = [label for label in half_year if label]
    assert shown == ["3 Nov 2025", "22 Dec", "9 Feb 2026", "30 Mar"]
    two_years = charts.axis_labels(mondays(104, date(2024, 12, 9)), 4)
    shown = [label for label in two_years if label]
    assert shown == ["Dec 2024", "Jun 2025", "Dec", "Jun 2026"]
    assert len(two_years) == 104  # one per week, blank where none is shown


def test_homework_bars_leave_out_empty_bars():
    charts.clear_cache()
    spec = charts.BarSpec(
        days=(date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)),
        fully=(3, 0, 2),
        partly=(1, 0, 0),
        not_done=(0, 4, 0),
    )
    svg = svg_of(charts.bar_chart(spec))
    bars = re.findall(r'<rect [^>]*class="rect', svg)
    assert len(bars) == 4  # 3+1, 4, 2: zero-height bars are not drawn
    assert not re.search(r'<rect [^>]*height="0"', svg)


def series_groups(svg: str, index: int) -> list[str]:
    """The contents of each group of series `index` (its line, and its dots overlay)."""
    marker = f'class="series serie-{index} color-{index}">'
    return [part.split("</g>")[0] for part in svg.split(marker)[1:]]


def test_a_partner_who_skips_weeks_still_has_a_line_and_one_answer_a_dot():
    charts.clear_cache()
    every_other = (4, None, 5, None, 6, None, 7, None)
    spec = practice_spec(
        days=mondays(8),
        partner_a=(5,) * 8,
        partner_b=every_other,
        gap=(1, None, 0, None, 1, None, 2, None),
        changes=(),
    )
    svg = svg_of(charts.line_chart(spec))
    paths = [re.findall(r'<path d="M([^"]+)"', group) for group in series_groups(svg, 1)]
    drawn = [path for found in paths for path in found]
    assert len(drawn) == 1  # one line through all four answers, not four lone points
    assert len(re.findall(r"\d+", drawn[0])) == 8
    # A single answer (or a single week both answered) has no line: it is drawn as a dot.
    alone = practice_spec(
        days=mondays(3),
        partner_a=(12, None, 17),
        partner_b=(None, None, 11),
        gap=(None, None, 6),
        changes=(),
        maximum=21,
        wide=False,
    )
    svg = svg_of(charts.line_chart(alone))
    assert sum(group.count("<circle") for group in series_groups(svg, 0)) == 0
    assert sum(group.count("<circle") for group in series_groups(svg, 1)) == 1
    assert sum(group.count("<circle") for group in series_groups(svg, 2)) == 1


# "Charts say what they draw": the progress page's CSI-4 chart for 0, 1, 2 and many scores
# per partner. Every mark its legend, table or alt text names is in the image.
SVG = "{http://www.w3.org/2000/svg}"
CSI_ITEMS = ((4, 4, 4, 4), (3, 3, 3, 3), (3, 3, 3, 3), (5, 4, 4, 4), (2, 2, 3, 3))


def svg_tree(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314  (an SVG pygal just drew from our data)


def marks(svg: str, index: int) -> tuple[list[list[tuple[float, float]]], int]:
    """Series `index` of a line chart: the points of each line it draws, and its dots."""
    lines, dots = [], 0
    for group in svg_tree(svg).iter(f"{SVG}g"):
        if f"serie-{index}" not in group.get("class", "").split():
            continue
        for path in group.iter(f"{SVG}path"):
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
            lines.append(list(zip(numbers[::2], numbers[1::2], strict=True)))
        dots += sum(1 for _ in group.iter(f"{SVG}circle"))
    return lines, dots


def plot_width(svg: str) -> float:
    for group in svg_tree(svg).iter(f"{SVG}g"):
        if group.get("class") == "plot":
            return float(group.find(f"{SVG}rect").get("width"))  # type: ignore[union-attr,arg-type]
    raise AssertionError("no plot")


def drawn(svg: str, index: int, count: int) -> bool:
    """Whether series `index` shows `count` answers: a line through them, or one dot."""
    lines, dots = marks(svg, index)
    if count == 1:
        return dots >= 1
    return any(len(line) == count for line in lines)


@pytest.mark.parametrize("a", [0, 1, 2, 5])
@pytest.mark.parametrize("b", [0, 1, 2, 5])
def test_the_csi_chart_draws_what_its_legend_table_and_alt_text_name(
    app, logged_in, therapist, make_couple, library, a, b
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    today = date.today()
    for role, count in (("a", a), ("b", b)):
        for n in range(count):
            items = CSI_ITEMS[n] if role == "a" else CSI_ITEMS[-1 - n]
            add_score(app, couple, role, today - timedelta(weeks=count - 1 - n), items)
    page = logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True)
    section = html.unescape(page.split('id="chart-csi-4"')[1].split("</section>")[0])
    if not a and not b:
        assert "No answers in this period." in section and "<img" not in section
        return
    svg = svg_of(re.search(r'src="(data:image/svg\+xml;base64,[^"]+)"', section).group(1))
    alt = re.search(r'alt="([^"]+)"', section).group(1)
    legend = section.split('<ul class="chart-legend">')[1].split("</ul>")[0]
    table = section.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows]
    for index, role, name, column in ((0, "a", "Zoë", 0), (1, "b", "Łukasz", 1)):
        answered = sum(1 for row in cells if row[column] != "—")
        assert answered == (a if role == "a" else b)
        assert (name in legend) == bool(answered), legend
        if answered:
            assert drawn(svg, index, answered), (name, answered, marks(svg, index))
            assert ("line" if answered > 1 else "one point") in alt.split(name)[1].split(";")[0]
        else:
            assert marks(svg, index) == ([], 0)
            assert f"no answers from {name}" in alt
    gaps = sum(1 for row in cells if row[2] != "—")
    assert ("Difference between them" in legend) == bool(gaps)
    if gaps:
        assert drawn(svg, 2, gaps), marks(svg, 2)

    # Each week with a reliable change (either partner) is ringed once: a change from the
    # previous score, or the first score of a run reliably apart from intake.
    def marked(row, before, column):
        intake = "intake" in row[column] and (before is None or "intake" not in before[column])
        return "reliable rise" in row[column] or "reliable fall" in row[column] or intake

    changed = sum(
        1
        for n, row in enumerate(cells)
        if marked(row, cells[n - 1] if n else None, 0)
        or marked(row, cells[n - 1] if n else None, 1)
    )
    assert ("Reliable change" in legend) == bool(changed)
    assert marks(svg, 3)[1] == changed
    # The cut-off: a level line across the plot, whatever the number of weeks.
    assert "Cut-off at 13.5" in legend and "cut-off at 13.5" in alt
    (line,) = marks(svg, 4)[0]
    assert len({y for _, y in line}) == 1
    assert max(x for x, _ in line) - min(x for x, _ in line) > 0.9 * plot_width(svg)


def test_self_reported_points_get_a_dashed_ring_of_their_own_and_nothing_else_does():
    charts.clear_cache()
    plain = svg_of(charts.line_chart(practice_spec(wide=True)))
    assert marks(plain, 5) == ([], 0) and marks(plain, 6) == ([], 0)
    spec = practice_spec(
        wide=True,
        self_a=(None, None, 9, None, None, None, None, None, None, 7),
        self_b=(None,) * 9 + (7,),
    )
    svg = svg_of(charts.line_chart(spec))
    assert marks(svg, 5) == ([], 2) and marks(svg, 6) == ([], 1)
    rings = [
        circle
        for group in svg_tree(svg).iter(f"{SVG}g")
        if "serie-5" in group.get("class", "").split()
        for circle in group.iter(f"{SVG}circle")
    ]
    # Round the point, not over it: no fill, a dashed grey stroke.
    assert {(c.get("fill"), c.get("stroke-dasharray")) for c in rings} == {("none", "3,2")}
    # The partners' own lines are the same with and without the rings.
    assert marks(svg, 0) == marks(plain, 0) and marks(svg, 1) == marks(plain, 1)


@pytest.mark.parametrize(
    ("render", "spec", "pygal_class"),
    [
        (charts._render_line, practice_spec(), "Line"),
        (
            charts._render_line,
            practice_spec(
                days=mondays(104),
                partner_a=(6,) * 104,
                partner_b=(),
                gap=(),
                changes=(),
                wide=True,
                cutoff=13.5,
            ),
            "Line",
        ),
        (
            charts._render_bars,
            charts.BarSpec(days=mondays(3), fully=(1, 0, 2), partly=(0, 1, 0), not_done=(1, 1, 0)),
            "StackedBar",
        ),
    ],
)
def test_quicker_attribute_lookups_draw_what_pygal_draws(
    monkeypatch: pytest.MonkeyPatch, render: object, spec: object, pygal_class: str
) -> None:
    # charts.Line and StackedBar only change how pygal finds its own attributes, and
    # charts._SerieConfig how it lists a series' options.
    quick = svg_of(render(spec))  # type: ignore[operator]
    monkeypatch.setattr(charts, pygal_class, getattr(charts.pygal, pygal_class))
    monkeypatch.setattr(pygal.graph.base, "SerieConfig", pygal.config.SerieConfig)
    plain = svg_of(render(spec))  # type: ignore[operator]
    chart_id = re.compile(r"chart-[0-9a-f-]{36}")
    assert chart_id.sub("", quick) == chart_id.sub("", plain)
    assert quick.count("<path") == plain.count("<path") > 3


def test_a_series_lists_the_options_pygal_lists():
    assert pygal.graph.base.SerieConfig is charts._SerieConfig
    mine, theirs = charts._SerieConfig(), pygal.config.SerieConfig()
    assert dir(mine) == dir(theirs) == dir(charts._SerieConfig(stroke=False))
    assert vars(charts._SerieConfig(dots_size=5)) == vars(pygal.config.SerieConfig(dots_size=5))


# Charts one worker drew, for the others (the report is often printed by another worker
# than the one that showed the progress page).


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_another_worker_prints_the_charts_this_one_drew(
    app, make_app, logged_in, therapist, make_couple, library, monkeypatch
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    for weeks_ago, value in ((2, 4), (1, 7), (0, 5)):
        add_checkin(app, couple, "a", date.today() - timedelta(weeks=weeks_ago), value)
    with app.app_context():
        charts.clear_cache()
    shown = logged_in.get(f"/couples/{couple}/progress").get_data(as_text=True)
    drawn = set(re.findall(r'src="(data:image/svg\+xml;base64,[^"]+)"', shown))
    assert drawn
    # Another worker (this process's own charts forgotten) draws nothing itself.
    with charts._lock:
        charts._cache.clear()

    def not_drawn_again(spec: object) -> str:
        raise AssertionError("drawn again")

    monkeypatch.setattr(charts, "_render_line", not_drawn_again)
    monkeypatch.setattr(charts, "_render_bars", not_drawn_again)
    other = make_app().test_client()
    AuthActions(other).login(therapist)
    again = other.get(f"/couples/{couple}/progress").get_data(as_text=True)
    assert set(re.findall(r'src="(data:image/svg\+xml;base64,[^"]+)"', again)) == drawn
    # Kept under an opaque key, no longer than a PDF.
    shared = charts._shared_cache_for(other.application)
    keys = list(shared._client.scan_iter(match=charts.SHARED_PREFIX + "*"))
    assert keys and all(b"Zo" not in key for key in keys)
    assert 0 < shared._client.ttl(keys[0]) <= other.application.config["PDF_CACHE_TTL"]


def test_with_redis_down_charts_are_drawn_here(make_app, therapist, make_couple, library):
    down = make_app(REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_STORAGE_URI="memory://")
    couple = make_couple(therapist, "Zoë", "Łukasz")
    add_checkin(down, couple, "a", date.today(), 6)
    client = down.test_client()
    AuthActions(client).login(therapist)
    with down.app_context():
        charts.clear_cache()
    page = client.get(f"/couples/{couple}/progress").get_data(as_text=True)
    assert "data:image/svg+xml;base64," in page
