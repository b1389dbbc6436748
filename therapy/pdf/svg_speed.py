"""Three shortcuts in WeasyPrint's SVG drawing, for the charts of the progress report.

1. Text drawn a whole label at a time, not one character at a time. WeasyPrint 70 lays
out and draws SVG text character by character (svg/text.py), so that glyphs can carry
their own x, y, dx, dy or rotate values. A chart label like "Mar 2025" becomes eight
Pango layouts and eight text objects: 136 such labels were ~125 ms of a two-year
progress report's ~500 ms render (bench/bench_progress.py). It also loses the font's
kerning and separates combining marks from their letters (Kozea/WeasyPrint#2249, where
the maintainer suggests this very shortcut).

`text()` takes WeasyPrint's place for every text element. When a label places no
glyph on its own (at most one x and one y, no dx, dy, rotate, letter-spacing or
textLength: every label pygal writes), it is shaped and drawn as one run, positioned
exactly as the first character would have been. Anything else goes to WeasyPrint's own
function.

2. Plain numbers read first. WeasyPrint's `size()` runs an import statement on every
call before it tries `float()`; a two-year report calls it ~10,000 times (every point
of every line), ~20 ms of the render. `size()` here answers a plain number at once and
hands anything else (units, percentages, empty values) to WeasyPrint's.

3. Colours parsed once. WeasyPrint parses each element's fill and stroke with tinycss2's
tokenizer every time it draws one; a chart's colours are a handful of strings used
thousands of times (a report with two years of rings draws ~900 circles, each with a
fill and a stroke: ~15 ms). `color()` keeps each string's parsed colour and hands out a
fresh copy, since WeasyPrint changes the alpha of the one it is given.

`install()` applies all three. Only the render process imports this module (engine.py).
WeasyPrint is pinned below 71; tests/test_pdf_svg.py checks the names this relies on,
that both are in place in the render process, and that a chart prints as it did.
"""

from __future__ import annotations

import sys
from math import inf
from typing import Any

import weasyprint.svg
from weasyprint.css.properties import INITIAL_VALUES
from weasyprint.draw.text import draw_emojis, draw_first_line
from weasyprint.matrix import Matrix
from weasyprint.svg.bounding_box import extend_bounding_box
from weasyprint.svg.text import Style, TextBox
from weasyprint.svg.text import text as weasyprint_text
from weasyprint.svg.utils import color as weasyprint_color
from weasyprint.svg.utils import normalize
from weasyprint.svg.utils import size as weasyprint_size
from weasyprint.text.line_break import split_first_line

# Attributes that give single glyphs their own place or spacing.
PER_GLYPH = ("dx", "dy", "rotate", "letter-spacing", "textLength")
TEXT_TAGS = ("a", "text", "textPath", "tspan")


# The modules that call size() through a name of their own (`from .utils import size`).
SIZE_USERS = (
    "weasyprint.svg",
    "weasyprint.svg.utils",
    "weasyprint.svg.text",
    "weasyprint.svg.defs",
)


# The modules that call color() through a name of their own.
COLOR_USERS = ("weasyprint.svg", "weasyprint.svg.defs")
COLORS_KEPT = 256  # distinct colour strings remembered (Tandem's charts use about ten)
_colors: dict[str, Any] = {}


def color(string: str | None) -> Any:
    """WeasyPrint's color(): the colour `string` names, parsed the first time only."""
    key = string or ""
    known = _colors.get(key)
    if known is None:
        known = weasyprint_color(string)
        if len(_colors) < COLORS_KEPT:
            _colors[key] = known
    if isinstance(known, str):  # "currentcolor"
        return known
    # A copy, as WeasyPrint's own would be new: set_graphical_state changes its alpha.
    fresh = object.__new__(type(known))
    fresh.__dict__.update(known.__dict__)
    return fresh


def size(
    string: Any, font_size: float | None = None, percentage_reference: float | None = None
) -> Any:
    """WeasyPrint's size(), with a plain number answered before anything else."""
    if string:
        try:
            return float(string)
        except (TypeError, ValueError):
            pass
    return weasyprint_size(string, font_size, percentage_reference)


def _one_value(node: Any, name: str) -> str | None:
    """The attribute's only value, "" when absent, None when it lists several."""
    value = normalize(node.attrib.get(name, ""))
    return None if " " in value else value


def _style(svg: Any, node: Any, font_size: float) -> Style:
    """The text's style, as WeasyPrint's text() builds it."""
    style = Style()
    style.update(INITIAL_VALUES)
    style.font_config = svg.font_config
    style["font_family"] = [
        font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")
    ]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    if weight == "normal":
        weight = 400
    elif weight == "bold":
        weight = 700
    else:
        try:
            weight = int(weight)
        except ValueError:
            weight = 400
    style["font_weight"] = weight
    style["font_size"] = font_size
    if node.get("direction") in ("ltr", "rtl"):
        style["direction"] = node.get("direction")
    return style


def text(svg: Any, node: Any, font_size: float) -> None:
    """Draw a text node: as one run when no glyph is placed on its own."""
    label = node.text
    x_value, y_value = _one_value(node, "x"), _one_value(node, "y")
    if (
        not label
        or "\n" in label
        or x_value is None
        or y_value is None
        # Inherited letter-spacing is in attrib too: WeasyPrint's cascade copies it there.
        or any(node.attrib.get(name) for name in PER_GLYPH)
    ):
        weasyprint_text(svg, node, font_size)
        return

    style = _style(svg, node, font_size)
    layout, _, _, width, height, baseline = split_first_line(label, style, svg.context, inf, 0)

    # Vertical alignment, as WeasyPrint's text() does it (its own approximations).
    ascent, descent = font_size * 0.8, font_size * 0.2
    y_align = 0.0
    display_anchor = node.get("display-anchor")
    alignment_baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
    if display_anchor == "middle":
        y_align = -height / 2
    elif display_anchor == "top":
        pass
    elif display_anchor == "bottom":
        y_align = -height
    elif alignment_baseline in ("central", "middle"):
        y_align = (ascent + descent) / 2 - descent
    elif alignment_baseline in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
        y_align = ascent
    elif alignment_baseline in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
        y_align = -descent

    # The first character's place, as WeasyPrint computes it.
    x = size(x_value, font_size, svg.inner_width) if "x" in node.attrib else None
    y = size(y_value, font_size, svg.inner_height) if "y" in node.attrib else None
    if x:
        svg.cursor_d_position[0] = 0
    if y:
        svg.cursor_d_position[1] = 0
    x = svg.cursor_position[0] if x is None else x
    y = svg.cursor_position[1] if y is None else y
    svg.cursor_position = x + width, y
    x_position = x + svg.cursor_d_position[0]
    y_position = y + svg.cursor_d_position[1] + y_align
    points = (
        (x_position, y_position - baseline),
        (x_position + width, y_position - baseline + height),
    )
    node.text_bounding_box = extend_bounding_box(node.text_bounding_box, points)

    svg.stream.push_state()
    fill, stroke = svg.set_graphical_state(node, font_size)
    svg.stream.begin_text()
    layout.reactivate(style)
    svg.fill_stroke(fill, stroke, text=True)
    text_box = TextBox(layout, style)
    text_box.baseline = baseline
    matrix = Matrix(a=1, d=-1, e=x_position, f=y_position)
    emojis = draw_first_line(svg.stream, text_box, "none", "none", matrix)
    svg.stream.end_text()
    svg.stream.pop_state()
    draw_emojis(svg.stream, style, x, y, emojis)


def install() -> None:
    """Use text(), size() and color() from now on, in this process. Safe to call again."""
    # svg/__init__.py dispatches on its TAGS table and recognises text elements by
    # comparing against its module-level name `text`; both must change together.
    weasyprint.svg.text = text
    for tag in TEXT_TAGS:
        weasyprint.svg.TAGS[tag] = text
    for name in SIZE_USERS:
        module = sys.modules[name]
        if getattr(module, "size", None) is weasyprint_size:
            module.size = size  # type: ignore[attr-defined]
    for name in COLOR_USERS:
        module = sys.modules[name]
        if getattr(module, "color", None) is weasyprint_color:
            module.color = color  # type: ignore[attr-defined]


def installed() -> bool:
    """Whether install() has run in this process (tests ask the render process)."""
    return (
        weasyprint.svg.TAGS.get("text") is text
        and all(getattr(sys.modules[name], "size", None) is size for name in SIZE_USERS)
        and all(getattr(sys.modules[name], "color", None) is color for name in COLOR_USERS)
    )
