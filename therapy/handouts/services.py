"""Render a handout: HTML for the PDF and the preview, and the PDF itself."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date, timedelta
from typing import Any, TypeVar

from flask import current_app, render_template

from therapy import pdf
from therapy.handouts.data import CheckInLink, Handout

STYLESHEET = "css/handout.css"
TRACKED_DAYS = 7

# A "word" longer than this gets invisible break opportunities (U+200B). WeasyPrint
# breaks an overlong word in time quadratic in its length (20,000 characters: 10 s);
# with break points every 30 characters it stays linear (0.8 s).
LONG_WORD = re.compile(r"\S{31,}")
ZERO_WIDTH_SPACE = "\u200b"
# The tracking grid's name column holds about 18 Latin letters (9 wide CJK ones).
GRID_NAME_WIDTH = 18
T = TypeVar("T")


@dataclass(frozen=True)
class TrackingDay:
    label: str  # "Wed 3", or "Day 3" on a handout without a date


def format_day(value: date | None) -> str:
    """'Tuesday 2 December 2025': spelled out, so no reader mixes up day and month."""
    if value is None:
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}"


def tracking_days(session_date: date | None) -> list[TrackingDay]:
    """The seven days after the session, for the tick grid; numbered when there is no date."""
    if session_date is None:
        return [TrackingDay(f"Day {offset}") for offset in range(1, TRACKED_DAYS + 1)]
    days = (session_date + timedelta(days=offset) for offset in range(1, TRACKED_DAYS + 1))
    return [TrackingDay(f"{day:%a} {day.day}") for day in days]


def grid_name(name: str) -> str:
    """A first name cut to fit the tracking grid's name column (wide letters count twice)."""
    used = 0
    for index, char in enumerate(name):
        used += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > GRID_NAME_WIDTH:
            return name[: max(index - 1, 1)] + "…"
    return name


def soften(text: str) -> str:
    """`text` with a break opportunity every 30 characters inside overlong words."""
    return LONG_WORD.sub(
        lambda word: ZERO_WIDTH_SPACE.join(
            word[0][start : start + 30] for start in range(0, len(word[0]), 30)
        ),
        text,
    )


def softened(value: T) -> T:
    """A copy of the plain data with every text softened (check-in URLs stay exact)."""
    result: Any = value
    if isinstance(value, str):
        result = soften(value)
    elif isinstance(value, tuple | list):
        result = type(value)(softened(item) for item in value)
    elif is_dataclass(value) and not isinstance(value, type | CheckInLink):
        changes = {field.name: softened(getattr(value, field.name)) for field in fields(value)}
        result = replace(value, **changes)
    return result


def context(handout: Handout) -> dict[str, object]:
    """What the handout templates receive: the plain data and a few derived strings."""
    return {
        "handout": softened(handout),
        "session_day": format_day(handout.session_date),
        "next_session_day": format_day(handout.next_session_date),
        "tracking_days": tracking_days(handout.session_date),
        "grid_names": [grid_name(handout.partner_a), grid_name(handout.partner_b)],
    }


def handout_html(handout: Handout) -> str:
    """The standalone HTML document the PDF is made from."""
    return render_template("handouts/handout.html", **context(handout))


def preview_html(handout: Handout) -> str:
    """The same handout inside the app's page layout (needs a request context)."""
    return render_template("handouts/preview.html", **context(handout))


def handout_pdf(handout: Handout) -> bytes:
    """The couple's handout as a PDF."""
    return pdf.render_pdf(handout_html(handout), paper=handout.paper, stylesheets=[STYLESHEET])


def handouts_pdf(handouts: Sequence[Handout], paper: str | None = None) -> bytes:
    """Several handouts in one PDF ("this week's handouts"), each with its own page numbers.

    One paper size for the whole print run: `paper`, else the first handout's.
    """
    if not handouts:
        raise ValueError("no handouts to print")
    documents = [handout_html(handout) for handout in handouts]
    config = current_app.config
    return pdf.render_pdf(
        documents,
        paper=paper or handouts[0].paper,
        stylesheets=[STYLESHEET],
        max_pages=min(config["PDF_BATCH_MAX_PAGES"], config["PDF_MAX_PAGES"] * len(handouts)),
    )
