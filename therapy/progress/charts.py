"""Server-side SVG charts (pygal), as base64 data: URLs for <img> in pages and PDFs.

An <img> with a data: URL keeps the chart's own <style> inside the image, where the
Content-Security-Policy does not apply, and WeasyPrint prints the same image. Rendering
a chart costs ~25 ms, so rendered charts are kept, keyed by a hash of their data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

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
CHANGE_MARKER = "fill: #ffffff; stroke: #9b1c1c; stroke-width: 3"
CACHE_SIZE = 512


@dataclass(frozen=True)
class LineSpec:
    """A chart of two partners over time, with what else the reader needs to see."""

    labels: tuple[str, ...]  # x axis: one per week
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


@dataclass(frozen=True)
class BarSpec:
    """Homework per week: how many answers said fully, partly and not."""

    labels: tuple[str, ...]
    fully: tuple[int, ...]
    partly: tuple[int, ...]
    not_done: tuple[int, ...]


_cache: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


def _key(spec: Any) -> str:
    encoded = json.dumps([type(spec).__name__, spec.__dict__], default=str, sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _cached(spec: Any, render: Any) -> str:
    key = _key(spec)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    url = render(spec)
    with _lock:
        _cache[key] = url
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return url


def clear_cache() -> None:
    with _lock:
        _cache.clear()


# Tooltip data (read by pygal's script, which an <img> never runs) and decimals:
# taking them out halves a chart with two years of weeks, and a report stays printable.
TOOLTIP_DATA = re.compile(r"<desc[^>]*>[^<]*</desc>")
LONG_DECIMAL = re.compile(r"(\d)\.\d+")  # whole pixels are exact enough
MANY_POINTS = 52


def _data_url(svg: str | bytes) -> str:
    text = svg.decode() if isinstance(svg, bytes) else svg
    text = LONG_DECIMAL.sub(r"\1", TOOLTIP_DATA.sub("", text))
    return "data:image/svg+xml;base64," + base64.b64encode(text.encode()).decode("ascii")


def _label_every(count: int) -> int:
    return max(1, (count + 7) // 8)


def _options(labels: Sequence[str], wide: bool = True) -> dict[str, Any]:
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
        "x_labels_major_every": _label_every(len(labels)),
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
        f".serie-{index} rect{{fill:{colour}}}"
    )


def _render_line(spec: LineSpec) -> str:
    # Past a year of weeks the dots merge into the line, and on the small practice charts
    # they crowd it: lines alone read better there (reliable changes stay ringed).
    dots = spec.wide and len(spec.labels) <= MANY_POINTS
    series: list[tuple[str, list[Any], str, dict[str, Any]]] = []
    name_a, name_b = spec.names
    series.append((name_a, _points(spec.partner_a), "stroke-width:3", {}))
    series.append(
        (name_b, _points(spec.partner_b), "stroke-width:3;stroke-dasharray:8,5", {"dots_size": 5})
    )
    if spec.gap:
        series.append(
            (
                "Difference between them",
                _points(spec.gap),
                "stroke-width:1.5;stroke-dasharray:2,4",
                {"dots_size": 2},
            )
        )
    if spec.changes and any(value is not None for value in spec.changes):
        marks = [
            None if value is None else {"value": value, "style": CHANGE_MARKER, "node": {"r": 9}}
            for value in spec.changes
        ]
        series.append(
            (
                "Reliable change (ringed)",
                marks,
                "stroke:none",
                {"stroke": False, "show_dots": True, "dots_size": 9},
            )
        )
    if spec.cutoff is not None:
        series.append(
            (
                f"Cut-off {spec.cutoff:g}",
                [spec.cutoff] * len(spec.labels),
                "stroke-width:2;stroke-dasharray:12,6",
                {"show_dots": False},
            )
        )
    css = THEME + "".join(
        _series_css(index, COLOURS[index % len(COLOURS)], line)
        for index, (_, _, line, _) in enumerate(series)
    )
    chart = pygal.Line(
        range=(spec.minimum, spec.maximum),
        allow_interruptions=True,
        dots_size=3.5,
        show_dots=dots,
        css=["inline:" + css],
        **_options(spec.labels, spec.wide),
    )
    chart.x_labels = list(spec.labels)
    for name, values, _, extra in series:
        chart.add(name, values, **extra)
    return _data_url(chart.render())


def _render_bars(spec: BarSpec) -> str:
    highest = max(
        (f + p + n for f, p, n in zip(spec.fully, spec.partly, spec.not_done, strict=True)),
        default=1,
    )
    css = THEME + "".join(
        _series_css(index, colour, "") for index, colour in enumerate(COLOURS[:3])
    )
    chart = pygal.StackedBar(
        css=["inline:" + css],
        range=(0, max(1, highest)),
        y_labels=list(range(0, max(1, highest) + 1)),
        **_options(spec.labels),
    )
    chart.x_labels = list(spec.labels)
    chart.add("Fully", list(spec.fully))
    chart.add("Partly", list(spec.partly))
    chart.add("Not done", list(spec.not_done))
    return _data_url(chart.render())


def line_chart(spec: LineSpec) -> str:
    """The chart as a data: URL (from the cache when the same data was drawn before)."""
    return _cached(spec, _render_line)


def bar_chart(spec: BarSpec) -> str:
    return _cached(spec, _render_bars)
