"""The shortcuts in WeasyPrint's SVG drawing (therapy/pdf/svg_speed.py): chart labels are
drawn a whole label at a time and still land where WeasyPrint put them."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pikepdf
import pytest
import weasyprint.svg
from flask import Flask

from tests.pdf_helpers import poppler_text
from tests.visual.compare import difference, normalised, pdf_pages
from therapy import pdf
from therapy.pdf import svg_speed
from therapy.pdf.engine import WRITE_OPTIONS, Engine

FONT = 'font-family="\'Tandem Sans\', sans-serif" font-size="13px"'
# Labels as pygal writes them (one x and one y, anchored at the start, middle or end),
# and one that places each glyph itself (dx), which WeasyPrint still draws letter by letter.
LABELS = ("Mar 2025", "Łukasz 10", "Jul")
SPACED = "abc"
FOOTER = 1  # report.css prints "Page 1 of 1" under the page
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 120">'
    '<path d="M0 60 h400" stroke="#111"/>'
    f'<text x="10" y="30" {FONT}>{LABELS[0]}</text>'
    f'<text x="200" y="55" text-anchor="middle" {FONT}>{LABELS[1]}</text>'
    f'<text x="390" y="80" text-anchor="end" {FONT}>{LABELS[2]}</text>'
    f'<text x="10" y="105" dx="0 6 6" {FONT}>{SPACED}</text>'
    "</svg>"
)


def document(svg: str = SVG) -> str:
    data = base64.b64encode(svg.encode()).decode()
    return (
        "<!doctype html><html><head><meta charset='utf-8'></head><body>"
        f"<img style='width: 100%' src='data:image/svg+xml;base64,{data}' alt='Labels'>"
        "</body></html>"
    )


def text_runs(data: bytes) -> int:
    """How many strings of text the PDF shows (Tj/TJ), in pages and in form XObjects."""
    with pikepdf.open(io.BytesIO(data)) as document:
        forms = [
            obj
            for obj in document.objects
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Form"
        ]
        streams = [*document.pages, *forms]
        return sum(
            str(operator) in ("Tj", "TJ")
            for stream in streams
            for _, operator in pikepdf.parse_content_stream(stream)
        )


def test_the_render_process_draws_each_simple_label_as_one_run(pdf_app: Flask) -> None:
    data = pdf.render_pdf(document(), stylesheets=["css/report.css"], cache=False)
    # One run a label, one a letter where the SVG places each glyph itself, and the
    # footer's "Page 1 of 1". WeasyPrint alone showed one run per letter: 7 + 8 + 3 + 3 + 1.
    assert text_runs(data) == len(LABELS) + len(SPACED) + FOOTER
    shown = poppler_text(data)
    for label in LABELS:
        assert label in shown


def test_labels_land_where_weasyprint_put_them(
    pdf_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pdf_app.static_folder
    engine = Engine(pdf_app.static_folder)

    def render(html: str = document()) -> bytes:
        made: bytes = engine.layout(html, ("css/report.css",), "A4").write_pdf(**WRITE_OPTIONS)
        return made

    ours = render()
    # WeasyPrint's own drawing, letter by letter, for comparison.
    monkeypatch.setattr(weasyprint.svg, "text", svg_speed.weasyprint_text)
    for tag in svg_speed.TEXT_TAGS:
        monkeypatch.setitem(weasyprint.svg.TAGS, tag, svg_speed.weasyprint_text)
    theirs = render()
    # (a space alone shows nothing)
    assert text_runs(theirs) == sum(len(label.replace(" ", "")) for label in LABELS) + 4
    assert text_runs(ours) == len(LABELS) + len(SPACED) + FOOTER

    [before] = pdf_pages(theirs, tmp_path / "theirs", dpi=150)
    [after] = pdf_pages(ours, tmp_path / "ours", dpi=150)
    found, _ = difference(normalised(before), normalised(after))
    # Drawn whole, a label keeps the font's kerning, which moves a letter by a fraction
    # of a pixel (~200 changed pixels of 2.2 million here). One label anchored at the wrong
    # end, half its width away, changes ~1,700 (checked below).
    assert found.same_size
    assert found.changed < 500, found

    # The same comparison sees one label anchored at the wrong end.
    monkeypatch.undo()
    misplaced = render(document(SVG.replace('"middle"', '"start"')))
    [wrong] = pdf_pages(misplaced, tmp_path / "wrong", dpi=150)
    found, _ = difference(normalised(before), normalised(wrong))
    assert found.changed > 1200, found


@pytest.mark.parametrize(
    ("value", "font_size", "reference"),
    [
        ("12", None, None),
        ("-3.5", None, None),
        ("1e2", None, None),
        ("50%", None, 300.0),
        ("2em", 12.0, None),
        ("1.5rem", 10.0, None),
        ("3ex", 12.0, None),
        ("10pt", None, None),
        ("1in", None, None),
        ("4 5", None, None),
        ("", None, None),
        (None, None, None),
        (0, None, None),
        (7, None, None),
        ("wide", None, None),
    ],
)
def test_size_reads_every_value_as_weasyprint_does(
    value: object, font_size: float | None, reference: float | None
) -> None:
    assert svg_speed.size(value, font_size, reference) == svg_speed.weasyprint_size(
        value, font_size, reference
    )


def test_the_shortcuts_are_in_place_once_the_engine_is_loaded() -> None:
    # engine.py installs them when the render process imports it (this test process has
    # imported it above); the names they replace are still WeasyPrint 70's.
    assert svg_speed.installed()
    assert set(svg_speed.TEXT_TAGS) <= set(weasyprint.svg.TAGS)
    assert svg_speed.weasyprint_text.__module__ == "weasyprint.svg.text"
    assert svg_speed.weasyprint_size.__module__ == "weasyprint.svg.utils"


@pytest.mark.parametrize(
    "value", ["#9b1c1c", "#fff", "none", "currentColor", "rgba(0, 0, 0, 0.5)", "", None, "bogus"]
)
def test_colours_read_as_weasyprint_reads_them_and_each_is_new(value: str | None) -> None:
    first, again = svg_speed.color(value), svg_speed.color(value)
    theirs = svg_speed.weasyprint_color(value)
    assert first == theirs and again == theirs
    if not isinstance(theirs, str):
        assert first is not again
        assert (first.space, first.alpha) == (theirs.space, theirs.alpha)
        # WeasyPrint changes the alpha of the colour it is given (fill-opacity).
        first.alpha *= 0.25
        assert svg_speed.color(value).alpha == theirs.alpha
