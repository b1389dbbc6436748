"""Server-side SVG charts (pygal), as base64 data: URLs for <img> in pages and PDFs.

An <img> with a data: URL keeps the chart's look inside the image (as presentation
attributes, see _inline_css), where the Content-Security-Policy does not apply, and
WeasyPrint prints the same image. Rendering
a chart costs ~25 ms, so rendered charts are kept, keyed by a hash of their data.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import cssselect2
import pygal
import pygal.config
import pygal.graph.base
import tinycss2
from flask import Flask, current_app, has_app_context
from lxml import etree
from pygal.style import Style

from therapy.pdf.cache import RedisCache

# pygal appends a legacy sys.meta_path finder for its map plugins (unused here); without
# find_spec it makes every failed import anywhere warn on Python 3.11+. Take it out.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

# Partner A solid green, partner B dashed orange; markers also differ in size and fill,
# so nothing depends on colour alone.
COLOURS = ("#1f6f5c", "#b35c12", "#6b7280", "#9b1c1c", "#3d4650", "#3b6ea5")
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#222222",
    foreground_strong="#111111",
    foreground_subtle="#d5d9dd",
    opacity="1",
    opacity_hover="1",
    stroke_opacity="1",
    stroke_opacity_hover="1",
    guide_stroke_color="#d5d9dd",
    major_guide_stroke_color="#b8bfc6",
    guide_stroke_dasharray="3,3",
    major_guide_stroke_dasharray="3,3",
    colors=COLOURS,
    font_family="'Tandem Sans', 'DejaVu Sans', Arial, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
    title_font_size=15,
)
CHANGE_MARKER = "fill:#fff;stroke:#9b1c1c;stroke-width:3"
# Drawn over the point, so its fill is none: the partner's own mark stays visible inside.
SELF_REPORT_MARKER = "fill:none;stroke:#3d4650;stroke-width:2;stroke-dasharray:3,2"
CACHE_SIZE = 512


class _QuickLookup:
    """pygal's own attribute lookup, with one dictionary look instead of three calls.

    While a chart is drawn, pygal answers every attribute of the chart (options, methods,
    its own state) from the chart's transient `state` when that holds the name
    (BaseGraph.__getattribute__ in pygal/graph/base.py), and finds the state itself
    through a second and third call of the same method. A two-year chart makes ~15,000
    such lookups: most of the time pygal takes to draw it. The answer is the same value
    (tests/test_charts.py draws charts both ways and compares).
    """

    def __getattribute__(self, name: str) -> Any:
        state = object.__getattribute__(self, "__dict__").get("state")
        if state is not None and name != "state" and not name.startswith("__"):
            values = state.__dict__
            if name in values:
                return values[name]
        return object.__getattribute__(self, name)


# Named as pygal's classes are: pygal names the chart's class ("line-graph") after them.
class Line(_QuickLookup, pygal.Line):
    pass


class StackedBar(_QuickLookup, pygal.StackedBar):
    pass


class _SerieConfig(pygal.config.SerieConfig):
    """pygal's SerieConfig, whose list of names is made once.

    Preparing each series, pygal asks dir() of a new SerieConfig once for every option
    of the chart (~100 times a series, ~6,000 times for a report's charts: ~20 ms). Its
    names are its class's options and never change (a config only ever sets names it
    already has, BaseConfig._update), so they are listed once. pygal uses the class it
    imported into graph/base.py, where this one takes its place.
    """

    def __dir__(self) -> Iterable[str]:
        global _serie_config_names
        if _serie_config_names is None:
            _serie_config_names = tuple(object.__dir__(self))
        return _serie_config_names


_serie_config_names: tuple[str, ...] | None = None
pygal.graph.base.SerieConfig = _SerieConfig


@dataclass(frozen=True)
class LineSpec:
    """A chart of two partners over time, with what else the reader needs to see."""

    days: tuple[date, ...]  # x axis: the Monday of each week
    partner_a: tuple[float | None, ...]
    partner_b: tuple[float | None, ...]
    names: tuple[str, str]
    minimum: float
    maximum: float
    gap: tuple[float | None, ...] = ()
    changes: tuple[float | None, ...] = ()  # the partner's value where it changed reliably
    cutoff: float | None = None
    cutoff_label: str = ""
    wide: bool = True  # full page width; practices are drawn smaller, two to a row
    change_label: str = "Reliable change (ringed)"  # "Large change" for Tandem's own ratings
    # Each partner's value in the weeks they answered a measure on their own page (a
    # dashed ring round the point), the rest None; empty when nothing was self-reported.
    self_a: tuple[float | None, ...] = ()
    self_b: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class BarSpec:
    """Homework per week or month: how many answers said fully, partly and not."""

    days: tuple[date, ...]  # the Monday of each week, or the first of each month
    fully: tuple[int, ...]
    partly: tuple[int, ...]
    not_done: tuple[int, ...]


_cache: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


def _key(spec: Any) -> str:
    encoded = json.dumps([type(spec).__name__, spec.__dict__], default=str, sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


# Charts drawn by one worker, for the others: the report is often printed by another
# worker than the one that showed the progress page, and drew its eleven charts again
# (~150 ms of a two-year report). In Redis when REDIS_URL is set, for as long as a PDF
# (PDF_CACHE_TTL: the charts carry scores), under an HMAC of the chart's data keyed with
# the SECRET_KEY, so a key says nothing about whose chart it is.
SHARED_PREFIX = "tandem:chart:"
_shared_lock = threading.Lock()


def _shared() -> RedisCache | None:
    if not has_app_context():
        return None
    return _shared_cache_for(current_app)


def _shared_cache_for(app: Flask) -> RedisCache | None:
    if not app.config.get("REDIS_URL"):
        return None
    found: RedisCache | None = app.extensions.get("tandem.charts")
    if found is None:
        with _shared_lock:
            found = app.extensions.get("tandem.charts")
            if found is None:
                found = RedisCache(
                    str(app.config["REDIS_URL"]),
                    ttl=int(app.config.get("PDF_CACHE_TTL", 3600)),
                    max_entry_bytes=1024 * 1024,
                    prefix=SHARED_PREFIX,
                    what="Chart",
                )
                app.extensions["tandem.charts"] = found
    return found


def _shared_key(key: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def _cached(spec: Any, render: Any) -> str:
    key = _key(spec)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    shared = _shared()
    found = shared.get(_shared_key(key)) if shared is not None else None
    if found is not None:
        url = found.decode("ascii")
    else:
        url = render(spec)
        if shared is not None:
            shared.set(_shared_key(key), url.encode("ascii"))
    with _lock:
        _cache[key] = url
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return url


def clear_cache() -> None:
    """Forget every chart drawn: this process's, and in an app context the shared ones."""
    with _lock:
        _cache.clear()
    shared = _shared()
    if shared is not None:
        shared.clear()


# What only pygal's script or a hover would use, and an <img> never runs or shows: the
# script with the chart's whole configuration, tooltip data and hover titles. Taking them
# out (and the decimals: whole pixels are exact enough) halves a chart with two years of
# weeks, and WeasyPrint draws every element left when it prints the report.
UNSHOWN = re.compile(
    r"<script[^>]*>.*?</script>|<desc[^>]*>[^<]*</desc>|<title>[^<]*</title>", re.S
)
LONG_DECIMAL = re.compile(r"(\d)\.\d+")
# pygal wraps every dot and bar in a group of its own (for the tooltip), leaves empty
# groups for the series it draws nothing of, and draws zero-height bars: each is one more
# element to print.
SHAPE_GROUP = re.compile(r'<g class="(?:dots|bar)">(<(?:circle|rect)[^>]*/>)</g>')
EMPTY_GROUP = re.compile(r"<g[^>]*/>|<g[^>]*></g>")
EMPTY_BAR = re.compile(r'<rect [^>]*height="0"[^>]*/>')  # and the tooltip's empty box
STYLE_ELEMENT = re.compile(r"<style[^>]*>.*?</style>", re.S)
MANY_POINTS = 52
LONG_RANGE_DAYS = 183  # past about half a year, the axis names months, not days


def _data_url(svg: str | bytes, css: str) -> str:
    """The chart as a data: URL, with only what a printed <img> shows.

    Its look is `css` alone, applied as attributes: pygal always adds its base rules
    (fonts for titles, legends and tooltips, with the chart's id in every selector), and
    WeasyPrint parses a chart's stylesheet each time it prints one (~5 ms a chart).
    """
    text = svg.decode() if isinstance(svg, bytes) else svg
    text = SHAPE_GROUP.sub(r"\1", UNSHOWN.sub("", text))
    text = EMPTY_BAR.sub("", LONG_DECIMAL.sub(r"\1", text))
    for _ in range(3):  # groups left empty inside groups: the tooltip's
        text, emptied = EMPTY_GROUP.subn("", text)
        if not emptied:
            break
    text = _inline_css(STYLE_ELEMENT.sub("", text, count=1), css)
    return "data:image/svg+xml;base64," + base64.b64encode(text.encode()).decode("ascii")


@functools.lru_cache(maxsize=16)
def _matcher(css: str) -> cssselect2.Matcher:
    """`css` compiled once: the line charts all share one stylesheet, the bars another."""
    matcher = cssselect2.Matcher()
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    for rule in rules:
        if rule.type != "qualified-rule":
            continue
        declarations = [
            (item.lower_name, tinycss2.serialize(item.value).strip())
            for item in tinycss2.parse_blocks_contents(rule.content)
            if item.type == "declaration"
        ]
        for selector in cssselect2.compile_selector_list(rule.prelude):
            matcher.add_selector(selector, declarations)
    return matcher


def _inline_css(svg: str, css: str) -> str:
    """The chart with `css` applied as presentation attributes, and no <style> left.

    WeasyPrint parses and compiles an SVG's stylesheet for every chart it prints, then
    matches every rule against every element (the two-year report rendered ~25 ms faster
    without, of ~290 ms); attributes it only reads. Later and more specific rules win, as
    in the cascade; the chart has no style attributes to outrank them.
    """
    root = etree.fromstring(svg)
    matcher = _matcher(css)
    for element in cssselect2.ElementWrapper.from_xml_root(root).iter_subtree():
        for *_, declarations in matcher.match(element):
            for name, value in declarations:
                element.etree_element.set(name, value)
    return etree.tostring(root, encoding="unicode")


def _label_every(count: int, most: int) -> int:
    """Label every n-th week so that at most `most` labels fit under the chart."""
    return max(1, -(-count // most))


def axis_labels(days: Sequence[date], most: int) -> list[str]:
    """Labels for the x axis, at most `most` of them shown (the others are blank).

    "3 Mar" over half a year or less, "Mar" over longer; the year is added to the first
    label shown and wherever the year changes. Short labels print faster too: WeasyPrint
    lays out and draws an SVG text letter by letter.
    """
    every = _label_every(len(days), most)
    by_month = len(days) > 1 and (days[-1] - days[0]).days > LONG_RANGE_DAYS
    labels = []
    year = None
    for index, day in enumerate(days):
        if index % every:
            labels.append("")
            continue
        text = f"{day:%b}" if by_month else f"{day.day} {day:%b}"
        if day.year != year:
            text, year = f"{text} {day.year}", day.year
        labels.append(text)
    return labels


def _options(days: Sequence[date], wide: bool = True) -> dict[str, Any]:
    most = 8 if wide else 4  # labels under the x axis
    return {
        "style": STYLE,
        "width": 760 if wide else 520,
        "height": 360 if wide else 320,
        "explicit_size": False,
        "js": [],
        "disable_xml_declaration": True,
        # The legend is HTML under the chart (see progress/_chart.html): it wraps on a
        # phone, and pygal clips a second legend row.
        "show_legend": False,
        "show_minor_x_labels": False,
        "x_labels": axis_labels(days, most),
        "x_labels_major_every": _label_every(len(days), most),
        "truncate_label": -1,
        "margin": 12,
        "margin_right": 36,
        "spacing": 12,
    }


def _points(values: Sequence[float | None]) -> list[Any]:
    return list(values)


# Tandem's own small stylesheet replaces pygal's (about 80 rules, most for tooltips and
# hover effects that an <img> never shows): WeasyPrint parses a chart's CSS for every
# printed chart, and with pygal's the report spent half its time there.
THEME = (
    ".graph>.background,.plot>.background{fill:#fff}"
    "text{fill:#222;font-family:'Tandem Sans','DejaVu Sans',Arial,sans-serif;font-size:13px}"
    ".axis.y text{text-anchor:end}.axis.x text{text-anchor:middle}"
    ".axis .line{stroke:#111}.guide.line{fill:none;stroke:#d5d9dd;stroke-dasharray:3,3}"
    ".axis .major.guide.line{stroke:#b8bfc6}.series .line{fill:none}"
)


def _series_css(index: int, colour: str, line: str, dots: str = "") -> str:
    return (
        f".serie-{index} .line{{stroke:{colour};{line}}}"
        f".serie-{index} .dot{{fill:{colour};stroke:{colour};{dots}}}"
    )


def _bar_css(index: int, colour: str) -> str:
    return f".serie-{index} rect{{fill:{colour}}}"


@dataclass(frozen=True)
class _Series:
    name: str
    values: list[Any]
    line: str  # CSS for the series' line
    dots: str = ""  # CSS for its dots, after the series colour
    options: tuple[tuple[str, Any], ...] = ()


def _y_labels(minimum: float, maximum: float) -> list[float]:
    """At most six labelled guides (0, 2, … 10; 0, 5, … 20): a label for every point of a
    0-10 scale is eleven more text elements to draw in every printed chart."""
    step = max(1, math.ceil((maximum - minimum) / 5))
    return list(range(math.ceil(minimum), math.floor(maximum) + 1, step))


def _alone(values: Sequence[float | None]) -> tuple[tuple[str, Any], ...]:
    """Dots for a series of one answer: with no line to draw, it would not show."""
    return (("show_dots", True),) if sum(v is not None for v in values) == 1 else ()


# Each series keeps its place (and so its class, serie-N, and colour) whether or not it has
# anything to draw: the stylesheet, the legend's swatches and the tests rely on it.
SERIES_A, SERIES_B, SERIES_GAP, SERIES_CHANGES, SERIES_CUTOFF = range(5)
SERIES_SELF_A, SERIES_SELF_B = 5, 6  # only in a chart with a self-reported point


def _padded(spec: LineSpec) -> tuple[list[str], int]:
    """The x labels, and how many blank weeks were added before the first.

    A line needs two x positions: with one week only, a blank week either side lets the
    cut-off run across the chart (the single answers stay in the middle).
    """
    labels = axis_labels(spec.days, 8 if spec.wide else 4)
    if len(spec.days) == 1 and spec.cutoff is not None:
        return ["", *labels, ""], 1
    return labels, 0


def _render_line(spec: LineSpec) -> str:
    # Past a year of weeks the dots merge into the line, and on the small practice charts
    # they crowd it: lines alone read better there (reliable changes stay ringed). A week
    # one partner skipped is stepped over: the line joins the weeks either side (the
    # table lists the week with a dash), so a partner who answers every other week still
    # has a line.
    dots = spec.wide and len(spec.days) <= MANY_POINTS
    labels, before = _padded(spec)
    after = len(labels) - len(spec.days) - before

    def points(values: Sequence[float | None]) -> list[Any]:
        values = values or (None,) * len(spec.days)
        return [None] * before + _points(values) + [None] * after

    name_a, name_b = spec.names
    cutoff = [] if spec.cutoff is None else [spec.cutoff] * len(labels)
    series = [
        _Series(name_a, points(spec.partner_a), "stroke-width:3", options=_alone(spec.partner_a)),
        _Series(
            name_b,
            points(spec.partner_b),
            "stroke-width:3;stroke-dasharray:8,5",
            options=(("dots_size", 5), *_alone(spec.partner_b)),
        ),
        _Series(
            "Difference between them",
            points(spec.gap),
            "stroke-width:1.5;stroke-dasharray:2,4",
            options=(("dots_size", 2), *_alone(spec.gap)),
        ),
        # The ring's look is the series' CSS, not a style on each point: WeasyPrint parses
        # an element's style attribute every time it draws one.
        _Series(
            spec.change_label,
            points(spec.changes),
            "stroke:none",
            CHANGE_MARKER,
            (("stroke", False), ("show_dots", True), ("dots_size", 9)),
        ),
        _Series(
            "Cut-off" if spec.cutoff is None else f"Cut-off {spec.cutoff:g}",
            cutoff,
            "stroke-width:2;stroke-dasharray:12,6",
            options=(("show_dots", False),),
        ),
        *(
            _Series(
                f"{name}, answered on their own page",
                points(values),
                "stroke:none",
                SELF_REPORT_MARKER,
                (("stroke", False), ("show_dots", True), ("dots_size", 7)),
            )
            for name, values in ((name_a, spec.self_a), (name_b, spec.self_b))
            # Only when there is one to draw: each series is one more for pygal to prepare.
            if spec.self_a or spec.self_b
        ),
    ]
    css = THEME + "".join(
        _series_css(index, COLOURS[index % len(COLOURS)], one.line, one.dots)
        for index, one in enumerate(series)
    )
    options = _options(spec.days, spec.wide)
    options["x_labels"] = labels
    chart = Line(
        range=(spec.minimum, spec.maximum),
        y_labels=_y_labels(spec.minimum, spec.maximum),
        dots_size=3.5,
        show_dots=dots,
        css=["inline:" + css],
        **options,
    )
    for one in series:
        chart.add(one.name, one.values, **dict(one.options))
    return _data_url(chart.render(), css)


def _render_bars(spec: BarSpec) -> str:
    highest = max(
        (f + p + n for f, p, n in zip(spec.fully, spec.partly, spec.not_done, strict=True)),
        default=1,
    )
    css = THEME + "".join(_bar_css(index, colour) for index, colour in enumerate(COLOURS[:3]))
    chart = StackedBar(
        css=["inline:" + css],
        range=(0, max(1, highest)),
        y_labels=_y_labels(0, max(1, highest)),
        **_options(spec.days),
    )
    chart.add("Fully", list(spec.fully))
    chart.add("Partly", list(spec.partly))
    chart.add("Not done", list(spec.not_done))
    return _data_url(chart.render(), css)


def line_chart(spec: LineSpec) -> str:
    """The chart as a data: URL (from the cache when the same data was drawn before)."""
    return _cached(spec, _render_line)


def bar_chart(spec: BarSpec) -> str:
    return _cached(spec, _render_bars)


def warm_up() -> None:
    """Draw a line chart and a bar chart, not kept: pygal's first chart in a process pays for
    its lazy imports and class set-up, and each stylesheet is compiled once (_matcher), so
    the first report after a worker starts does not (gunicorn.conf.py, via warm_up in
    therapy/__init__.py)."""
    days = (date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19))
    _render_line(
        LineSpec(
            days=days,
            partner_a=(4, 6, None),
            partner_b=(5, None, 7),
            names=("A", "B"),
            minimum=0,
            maximum=10,
            gap=(1, None, None),
            changes=(None, 6, None),
            cutoff=5,
        )
    )
    _render_bars(BarSpec(days=days, fully=(1, 0, 2), partly=(0, 1, 0), not_done=(1, 1, 0)))
