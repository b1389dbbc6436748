"""An exercise's steps: the couple's, the therapist's own, and timings that follow the plan.

A step is stored (in the data files, the exercise row and a plan item's snapshot) as a
string, which the couple reads, or as `{"therapist": "..."}`, which only the therapist
sees (exercise page, plan builder, agenda) and which never prints on a handout.

A step's text may hold `{m:10}`: "10 minutes when the exercise runs at its own length".
It prints scaled to the plan item's minutes, rounded to a whole minute and at least 1,
so a 15-minute plan of a 10-minute talk says "Set a timer for 15 minutes". Safety
timings (a 20-minute break) are written as plain numbers and never scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

THERAPIST = "therapist"
# How a custom exercise's form writes a therapist step on a line of its own.
THERAPIST_PREFIX = "Therapist: "
TIMING = re.compile(r"\{m:(\d{1,3})\}")
TIMING_WITH_UNIT = re.compile(r"\{m:(\d{1,3})\}( minutes\b)?")


@dataclass(frozen=True)
class Step:
    text: str
    therapist: bool = False


def parse(raw: Any) -> list[Step]:
    """The steps of a stored list; anything that is neither kind of step is left out."""
    if not isinstance(raw, list | tuple):
        return []
    found = []
    for entry in raw:
        if isinstance(entry, str):
            found.append(Step(entry))
        elif isinstance(entry, dict) and isinstance(entry.get(THERAPIST), str):
            found.append(Step(entry[THERAPIST], therapist=True))
    return found


def stored(steps: Iterable[Step]) -> list[str | dict[str, str]]:
    """Steps as stored: strings for the couple's, {"therapist": ...} for the therapist's."""
    return [{THERAPIST: s.text} if s.therapist else s.text for s in steps]


def couple_steps(raw: Any) -> list[str]:
    """Only the steps a couple reads (never a therapist step), in order."""
    return [step.text for step in parse(raw) if not step.therapist]


def therapist_steps(raw: Any) -> list[str]:
    return [step.text for step in parse(raw) if step.therapist]


def scaled(text: str, minutes: int | None = None, own: int | None = None) -> str:
    """`text` with each {m:N} printed as minutes: N, or N scaled from the exercise's own
    length `own` to the plan's `minutes` (rounded, at least 1)."""

    def one(match: re.Match[str]) -> str:
        value = int(match.group(1))
        if minutes and own and minutes != own:
            value = max(1, round(value * minutes / own))
        unit = match.group(2) or ""
        return f"{value}{' minute' if unit and value == 1 else unit}"

    return TIMING_WITH_UNIT.sub(one, text)


def scaled_all(texts: Sequence[str], minutes: int | None, own: int | None) -> tuple[str, ...]:
    return tuple(scaled(text, minutes, own) for text in texts)


def to_lines(raw: Any) -> list[str]:
    """Steps as the custom exercise form edits them: a therapist step is a line that
    starts "Therapist: "."""
    return [THERAPIST_PREFIX + s.text if s.therapist else s.text for s in parse(raw)]


def from_lines(lines: Iterable[str]) -> list[str | dict[str, str]]:
    """The form's lines as stored steps: a line starting "Therapist:" is the therapist's."""
    steps = []
    for line in lines:
        if line[: len(THERAPIST_PREFIX) - 1].casefold() == THERAPIST_PREFIX[:-1].casefold():
            steps.append(Step(line[len(THERAPIST_PREFIX) - 1 :].strip(), therapist=True))
        else:
            steps.append(Step(line))
    return stored(s for s in steps if s.text)
