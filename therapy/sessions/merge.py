"""Saving a page that another tab saved over meanwhile: what this page changed, and only that.

Each editable value on a session page travels with the value the page was loaded with
(long text as a fingerprint). On save, a value is written only when the person changed it
on this page; a value another tab changed meanwhile stays; a value both changed, each in
its own way, is a conflict: nothing is saved and both versions are shown. So a stale tab
never writes back values it merely loaded, and never overwrites unseen work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum


class Outcome(Enum):
    KEEP = "keep"  # this page did not change it (or changed it to what is saved)
    WRITE = "write"  # this page changed it, nobody else did
    CONFLICT = "conflict"  # both changed it, differently


@dataclass(frozen=True)
class Conflict:
    """One value two tabs changed differently, as the person sees it."""

    where: str  # the exercise's title, or what the page holds ("Session notes")
    label: str  # the field
    saved: str  # saved now, by the other tab
    typed: str  # what this page sent


def fingerprint(text: str) -> str:
    """A short stand-in for a text as loaded; browsers' \\r\\n and outer spaces don't count."""
    normal = text.replace("\r\n", "\n").strip()
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


def merge_value(shown: str | None, mine: str, saved: str) -> Outcome:
    """Decide one value; `shown` is None when the page did not say what it was loaded with."""
    if mine == saved:
        return Outcome.KEEP
    if shown is None:
        return Outcome.CONFLICT
    if mine == shown:
        return Outcome.KEEP
    return Outcome.WRITE if saved == shown else Outcome.CONFLICT


def merge_order(
    shown: list[int] | None, mine: list[int], saved: list[int], moved: int | None = None
) -> list[int] | None:
    """The plan order to save, or None when both tabs moved things in ways that clash.

    `shown` is the order the page was loaded with, `mine` the order it sent (after its
    move), `saved` the order saved now. Items added elsewhere keep their place at the end;
    items removed elsewhere stay removed.
    """
    if shown is None:
        shown_here = [i for i in saved if i in mine]
        return saved if [i for i in mine if i in saved] == shown_here else None
    shared = set(shown) & set(saved)
    shown_rel = [i for i in shown if i in shared]
    saved_rel = [i for i in saved if i in shared]
    mine_rel = [i for i in mine if i in shared]
    mine_rel += [i for i in shown_rel if i not in mine_rel]
    if mine_rel == shown_rel:
        return saved
    added = [i for i in saved if i not in shared]
    if saved_rel in (shown_rel, mine_rel):
        return mine_rel + added
    merged = _move_onto(shown_rel, mine_rel, saved_rel, moved)
    return None if merged is None else merged + added


def _single_moves(before: list[int], after: list[int]) -> list[int]:
    """Items whose move alone turns `before` into `after` (two for neighbours swapped)."""
    return [
        item
        for item in before
        if [i for i in before if i != item] == [i for i in after if i != item]
    ]


def _move_onto(
    shown: list[int], mine: list[int], saved: list[int], moved: int | None
) -> list[int] | None:
    """Both tabs reordered: replay this page's one move on the saved order, if it was one
    move of an item the other tab did not move; otherwise None."""
    candidates = _single_moves(shown, mine)
    if moved in candidates:
        candidates = [moved]
    theirs = _single_moves(shown, saved)
    if not theirs:
        return None
    for item in candidates:
        if item in theirs:
            continue
        place = mine.index(item)
        rest = [i for i in saved if i != item]
        if place < shown.index(item):
            # Moved up: it now goes just above the item it was put above.
            rest.insert(rest.index(mine[place + 1]), item)
        else:
            # Moved down: just below the item it was put below.
            rest.insert(rest.index(mine[place - 1]) + 1, item)
        return rest
    return None
