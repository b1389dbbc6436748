"""What every page and handout a couple sees says about getting help now, as plain values
(no database here: handouts carry it as data, see handouts/data.py)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CRISIS_LINE = (
    "Are you or anyone else in danger? Call your local emergency number now. "
    "That is 911 in the US and Canada, 999 in the UK and 112 in most of Europe."
)


@dataclass(frozen=True)
class HelpNow:
    """The practice's crisis line, contact details and logo; defaults when not set."""

    practice_name: str = ""
    crisis_line: str = DEFAULT_CRISIS_LINE
    contact: str = ""
    logo_data_url: str = ""  # a data: URL of the practice's PNG or JPEG logo, or ""
