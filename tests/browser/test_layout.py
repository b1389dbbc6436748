"""What a person sees, measured in Chromium: labels apart from values, headings on one
line, nothing clipped, the 0-10 rating on one row on a phone, a focus ring one can see."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LAPTOP, PHONE, screenshot, sign_in
from tests.progress_helpers import create_link
from therapy.couples import services as couples
from therapy.extensions import db
from therapy.models import User


@pytest.fixture
def couple(live_app: Any, live_therapist: Any) -> int:
    with live_app.app_context():
        data = couples.CoupleData(
            partner_a=couples.PartnerData("Zoë"),
            partner_b=couples.PartnerData("Łukasz"),
            relationship_length="12 years",
            living_situation="together",
            tags=("newly married", "long hours"),
        )
        return couples.create_couple(db.session.get(User, live_therapist.id), data).id


def boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })",
    )


def test_the_relationship_card_keeps_labels_and_values_in_two_columns(page, live_therapist, couple):
    sign_in(page, live_therapist)
    for size in (LAPTOP, PHONE):
        page.set_viewport_size(size)
        page.goto(f"/couples/{couple}")
        card = "section[aria-labelledby='relationship-heading']"
        labels, values = boxes(page, f"{card} dt"), boxes(page, f"{card} dd")
        assert len(labels) == len(values) == 4
        # Labels in one column, values in another to their right, each on its label's row.
        assert len({round(b["left"]) for b in labels}) == 1, labels
        assert len({round(b["left"]) for b in values}) == 1, values
        for label, value in zip(labels, values, strict=True):
            assert value["left"] >= label["right"] + 8, (label, value)
            assert abs(value["top"] - label["top"]) < 2, (label, value)
    screenshot(page, "couple-profile-relationship")


def test_the_caseload_headings_stay_on_one_line(page, live_therapist, couple):
    sign_in(page, live_therapist)
    for width in (LAPTOP["width"], 800, 640):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto("/couples")
        lines = page.eval_on_selector_all(
            "table.caseload thead th",
            "els => els.map(e => { const r = document.createRange(); r.selectNodeContents(e);"
            " const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));"
            " return [e.textContent.trim(), tops.size]; })",
        )
        assert lines and all(count == 1 for _, count in lines), (width, lines)
    screenshot(page, "caseload-headings")


def test_the_check_in_link_shows_its_underscores(page, live_therapist, couple):
    sign_in(page, live_therapist)
    page.goto(f"/couples/{couple}/links")
    page.get_by_label("Zoë").check()
    page.get_by_role("button", name="Create link").click()
    field = page.locator("#link-url")
    # Only underscores: whatever of them shows inside the box is what a person sees.
    field.evaluate("e => { e.value = '_'.repeat(30); }")
    box = field.evaluate(
        "e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);"
        " const b = parseFloat(s.borderTopWidth);"
        " return {x: r.left + b, y: r.top + b, width: r.width - 2 * b,"
        " height: r.height - 2 * b}; }"
    )
    shot = page.screenshot(clip=box)
    assert dark_pixels(shot) > 30, "the underscores are clipped"
    screenshot(page, "check-in-link")


def dark_pixels(png: bytes) -> int:
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(png)).convert("L")
    width, height = image.size
    pixels = image.load()
    return sum(1 for x in range(width) for y in range(height) if pixels[x, y] < 128)


def text_extent(png: bytes) -> int:
    """How wide the value's text is in a screenshot: the first run of dark columns, up to a
    gap wider than a space (what follows is the field's icon)."""
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(png)).convert("L")
    width, height = image.size
    pixels = image.load()
    columns = [x for x in range(width) if any(pixels[x, y] < 100 for y in range(height))]
    if not columns:
        return 0
    last = columns[0]
    for x in columns[1:]:
        if x - last > 12:
            break
        last = x
    return last - columns[0] + 1


def test_the_new_session_date_and_time_are_not_cut_off(page, live_therapist, couple):
    sign_in(page, live_therapist)
    for size in (LAPTOP, {"width": 800, "height": 800}, PHONE):
        page.set_viewport_size(size)
        page.goto(f"/couples/{couple}/sessions/new")
        for name, value in (("date", "2026-12-24"), ("time", "16:45")):
            field = page.locator(f"input[name='{name}']")
            field.fill(value)
            field.evaluate("e => e.blur()")
            shown = text_extent(field.screenshot())
            # The same field given all the room it wants shows the whole value.
            field.evaluate("e => { e.style.width = '24rem'; }")
            whole = text_extent(field.screenshot())
            field.evaluate("e => { e.style.width = ''; }")
            assert whole > 40 and shown >= whole - 1, (size, name, shown, whole)
    screenshot(page, "new-session")


def rating_rows(page: Any) -> list[list[float]]:
    """For each 0-10 question, the tops of its eleven numbers (a question's other answer,
    "We didn't disagree this week", sits on a row of its own below them)."""
    return page.eval_on_selector_all(
        ".rating fieldset.field-choices",
        "sets => sets.map(s => [...s.querySelectorAll('input[type=radio]:not([value=none])')]"
        ".map(i => Math.round(i.getBoundingClientRect().top)))",
    )


def test_the_rating_is_one_row_of_eleven_on_a_phone(page, live_app, live_therapist, couple):
    sign_in(page, live_therapist)
    token = create_link(live_app, couple, "a")
    for url in (f"/couples/{couple}/checkins/new", f"/c/{token}"):
        for size in (PHONE, {"width": 360, "height": 740}, LAPTOP):
            page.set_viewport_size(size)
            page.goto(url)
            rows = rating_rows(page)
            assert len(rows) == 11, url  # nine practices, two of them asked twice
            for tops in rows:
                assert len(tops) == 11 and len(set(tops)) == 1, (url, size, tops)
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, (url, size, overflow)
        screenshot(page, "rating-" + ("partner" if url.startswith("/c/") else "therapist"))


# WCAG 2.2: a focus indicator needs 3:1 against what is next to it. The ring is measured
# as Chromium draws it (computed styles), against the page and against the control.
def luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: tuple[float, ...], two: tuple[float, ...]) -> float:
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


FOCUS_STYLE = """e => {
  const s = getComputedStyle(e);
  const card = e.closest('.card, article, .link-card');
  const behind = getComputedStyle(card || document.body).backgroundColor;
  return {outline: s.outlineColor, style: s.outlineStyle, width: parseFloat(s.outlineWidth),
          offset: parseFloat(s.outlineOffset), shadow: s.boxShadow,
          control: s.backgroundColor, page: behind,
          body: getComputedStyle(document.body).backgroundColor};
}"""


def colour(text: str) -> tuple[float, ...]:
    import re

    numbers = [float(n) for n in re.findall(r"[\d.]+", text)]
    return tuple(numbers[:3]) + ((numbers[3],) if len(numbers) > 3 else (1.0,))


def test_the_keyboard_focus_ring_is_solid_and_stands_out(page, live_therapist, couple):
    sign_in(page, live_therapist)
    page.goto(f"/couples/{couple}/sessions/new")
    seen = {}
    for _ in range(40):
        page.keyboard.press("Tab")
        info = page.evaluate(
            "() => { const e = document.activeElement; return [e.tagName, e.type || '',"
            " e.className || '']; }"
        )
        kind = (info[0], info[1] if info[0] == "INPUT" else "", "secondary" in info[2])
        if kind in seen or info[0] == "BODY":
            continue
        seen[kind] = page.evaluate(f"({FOCUS_STYLE})(document.activeElement)")
    kinds = {kind[0] for kind in seen}
    assert {"A", "INPUT", "BUTTON", "SELECT"} <= kinds, seen
    for kind, style in seen.items():
        ring = colour(style["outline"])
        assert style["style"] == "solid" and style["width"] >= 2, (kind, style)
        assert ring[3] == 1, (kind, "translucent", style)
        for behind in (style["page"], style["body"]):
            assert contrast(ring, colour(behind)) >= 3, (kind, style)
        # Next to the control: the outline itself, or the ring of the page's colour
        # (box-shadow) that separates the outline from the control.
        control = colour(style["control"])
        if control[3] > 0:
            inner = [ring] + [colour(c) for c in _shadow_colours(style["shadow"])]
            assert max(contrast(c, control) for c in inner) >= 3, (kind, style)
    page.keyboard.press("Shift+Tab")
    screenshot(page, "focus-ring")


def _shadow_colours(shadow: str) -> list[str]:
    import re

    return re.findall(r"rgba?\([^)]*\)", shadow)
