"""Measure definitions: parsed from TOML, validated, and able to score themselves."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
METHODS = ("sum", "mean")
ENTRIES = ("scores", "items")
MAX_ITEMS = 100
MAX_DEFINITION_BYTES = 200_000
# Every number in a definition (item bounds, totals, cut-off, reliable change) lies within
# this: no questionnaire scores in the millions, and charts and sums stay exact floats.
MAX_MAGNITUDE = 1_000_000
# The format nests three deep (measure → items → item); the slack allows for free-form
# extras, and a bound keeps tomllib's recursive parser away from Python's recursion limit.
MAX_DEPTH = 8
# A NUL or other control character in a name breaks PostgreSQL columns and printed pages.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MeasureDefinitionError(ValueError):
    """A measure file that cannot be used; the message says why."""


class ScoreError(ValueError):
    """Item scores that do not fit the measure; the message says which."""


@dataclass(frozen=True)
class MeasureItem:
    key: str
    label: str
    minimum: int
    maximum: int
    reverse: bool = False
    text: str = ""  # the full item wording, only where the practice holds a licence for it


@dataclass(frozen=True)
class Measure:
    slug: str
    name: str
    short_name: str
    construct: str
    entry: str
    higher_is_better: bool
    licence: str
    source: str
    method: str
    minimum: float
    maximum: float
    cutoff: float | None
    cutoff_means: str
    cutoff_label: str
    reliable_change: float
    reliable_change_note: str
    items: tuple[MeasureItem, ...]
    # Who allowed partners to read the item wording themselves, and where that is written
    # ("Permission from the authors, letter of 3 May 2026"). Empty: score entry only.
    self_report_permission: str = ""
    # Where the cut-off and the reliable-change figure come from, as the file states it.
    cutoff_source: str = ""
    reliable_change_source: str = ""
    # The gap between partners has a rule of its own (a gap is not a change over time):
    # partners this many points apart, or on either side of the cut-off, are shown as a
    # gap. None: the file states no rule, and no gap is judged.
    partner_gap: float | None = None
    partner_gap_note: str = ""

    @property
    def self_report(self) -> bool:
        """Partners answer it themselves on their week page: only a full-item measure
        whose file records the permission to show its wording."""
        return (
            self.entry == "items"
            and bool(self.self_report_permission.strip())
            and all(item.text.strip() for item in self.items)
        )

    def score(self, item_scores: dict[str, int]) -> float:
        """The total for one completed questionnaire, by the measure's own scoring rule."""
        values = []
        for item in self.items:
            if item.key not in item_scores or item_scores[item.key] is None:
                raise ScoreError(f"{item.label}: a score is missing.")
            value = item_scores[item.key]
            if not isinstance(value, int) or not item.minimum <= value <= item.maximum:
                raise ScoreError(
                    f"{item.label}: use a whole number from {item.minimum} to {item.maximum}."
                )
            values.append(item.minimum + item.maximum - value if item.reverse else value)
        total = float(sum(values))
        return round(total / len(values), 2) if self.method == "mean" else total

    def in_clinical_range(self, total: float) -> bool:
        """Whether a total falls on the distressed side of the cut-off."""
        if self.cutoff is None:
            return False
        return total < self.cutoff if self.cutoff_means == "below" else total > self.cutoff

    def change(self, before: float, after: float) -> int:
        """+1 reliably better, -1 reliably worse, 0 within the measure's noise.

        Compare a score with the first (intake) score as well as with the previous one:
        a slow decline never moves far between two scores, but adds up against intake.
        """
        delta = after - before
        if abs(delta) < self.reliable_change:
            return 0
        better = delta > 0 if self.higher_is_better else delta < 0
        return 1 if better else -1

    def significant_change(self, intake: float, latest: float) -> int:
        """Clinically significant change since intake (Jacobson & Truax, 1991): a reliable
        change that also crosses the cut-off. +1 recovered (from the distressed range to
        outside it), -1 deteriorated (into it), 0 otherwise or without a cut-off."""
        if self.cutoff is None:
            return 0
        change = self.change(intake, latest)
        was, now = self.in_clinical_range(intake), self.in_clinical_range(latest)
        if change == 1 and was and not now:
            return 1
        if change == -1 and not was and now:
            return -1
        return 0

    def partners_apart(self, a: float, b: float) -> bool:
        """Whether two partners' scores count as a gap, by the file's own gap rule."""
        if self.partner_gap is None:
            return False
        if abs(a - b) >= self.partner_gap:
            return True
        return self.cutoff is not None and self.in_clinical_range(a) != self.in_clinical_range(b)


def _get(raw: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = raw.get(name)
    if kind is float:
        kind = (int, float)
    wrong_bool = isinstance(value, bool) and kind is not bool
    if value is None or wrong_bool or not isinstance(value, kind):
        raise MeasureDefinitionError(f"{where}: '{name}' is missing or not the right kind.")
    if isinstance(value, str) and not value.strip():
        raise MeasureDefinitionError(f"{where}: '{name}' is empty.")
    return value


def _max_bracket_depth(text: str) -> int:
    """How deep `[` and `{` open (inside strings too: an over-count only refuses sooner)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _check_values(value: Any, where: str, depth: int) -> None:
    """Refuse what no measure needs: deep nesting, control characters, numbers that are
    not finite or beyond ±MAX_MAGNITUDE."""
    if depth > MAX_DEPTH:
        raise MeasureDefinitionError(f"{where}: nested more than {MAX_DEPTH} deep.")
    if isinstance(value, dict):
        for key, inner in value.items():
            _check_values(key, where, depth)
            _check_values(inner, f"{where} '{key}'" if depth == 1 else where, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _check_values(inner, where, depth + 1)
    elif isinstance(value, str):
        if CONTROL.search(value):
            raise MeasureDefinitionError(f"{where}: remove the control characters from the text.")
    elif (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (abs(value) > MAX_MAGNITUDE or not math.isfinite(value))
    ):
        raise MeasureDefinitionError(
            f"{where}: numbers must be finite and between -{MAX_MAGNITUDE:,} and {MAX_MAGNITUDE:,}."
        )


def parse_definition(text: str) -> Measure:
    """Validate a measure definition (TOML) and build the measure, or say what is wrong."""
    if len(text.encode()) > MAX_DEFINITION_BYTES:
        raise MeasureDefinitionError("The file is larger than 200 KB.")
    if "\x00" in text:
        raise MeasureDefinitionError("The file contains NUL bytes; it is not a text file.")
    if _max_bracket_depth(text) > MAX_DEPTH:
        raise MeasureDefinitionError(f"Arrays or tables are nested more than {MAX_DEPTH} deep.")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MeasureDefinitionError(f"This is not a valid TOML file: {exc}.") from None
    except ValueError:
        # int() refuses integers of more than 4,300 digits before TOML's parser can.
        raise MeasureDefinitionError("A number in the file is far too long.") from None
    _check_values(raw, "measure", 1)
    slug = _get(raw, "slug", str, "measure")
    if not SLUG.match(slug):
        raise MeasureDefinitionError("'slug' must be 3-40 lowercase letters, digits or hyphens.")
    entry = _get(raw, "entry", str, slug)
    if entry not in ENTRIES:
        raise MeasureDefinitionError(f"{slug}: 'entry' must be one of {ENTRIES}.")
    scoring = _get(raw, "scoring", dict, slug)
    method = _get(scoring, "method", str, f"{slug} scoring")
    if method not in METHODS:
        raise MeasureDefinitionError(f"{slug}: scoring 'method' must be one of {METHODS}.")
    raw_items = _get(raw, "items", list, slug)
    if not 1 <= len(raw_items) <= MAX_ITEMS:
        raise MeasureDefinitionError(f"{slug}: a measure needs 1 to {MAX_ITEMS} items.")
    items = []
    for number, item in enumerate(raw_items, 1):
        where = f"{slug} item {number}"
        if not isinstance(item, dict):
            raise MeasureDefinitionError(f"{where}: each item must be a table.")
        low, high = _get(item, "minimum", int, where), _get(item, "maximum", int, where)
        if low >= high:
            raise MeasureDefinitionError(f"{where}: 'minimum' must be below 'maximum'.")
        wording = item.get("text", "")
        if entry == "items" and not (isinstance(wording, str) and wording.strip()):
            raise MeasureDefinitionError(f"{where}: full-item entry needs each item's 'text'.")
        items.append(
            MeasureItem(
                key=_get(item, "key", str, where),
                label=_get(item, "label", str, where)[:80],
                minimum=low,
                maximum=high,
                reverse=bool(item.get("reverse", False)),
                text=str(wording) if entry == "items" else "",
            )
        )
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise MeasureDefinitionError(f"{slug}: item keys must be unique.")
    low_total = float(sum(i.minimum for i in items))
    high_total = float(sum(i.maximum for i in items))
    if method == "mean":
        low_total, high_total = low_total / len(items), high_total / len(items)
    minimum = float(_get(scoring, "minimum", float, f"{slug} scoring"))
    maximum = float(_get(scoring, "maximum", float, f"{slug} scoring"))
    if (round(minimum, 2), round(maximum, 2)) != (round(low_total, 2), round(high_total, 2)):
        raise MeasureDefinitionError(
            f"{slug}: the scoring range {minimum:g}-{maximum:g} does not match the items "
            f"({low_total:g}-{high_total:g})."
        )
    cutoff = scoring.get("cutoff")
    if cutoff is not None and (
        isinstance(cutoff, bool)
        or not isinstance(cutoff, int | float)
        or not minimum < cutoff < maximum
    ):
        raise MeasureDefinitionError(f"{slug}: 'cutoff' must be a number inside the range.")
    cutoff_means = str(scoring.get("cutoff_means", "below"))
    if cutoff_means not in ("below", "above"):
        raise MeasureDefinitionError(f"{slug}: 'cutoff_means' must be 'below' or 'above'.")
    reliable_change = float(_get(scoring, "reliable_change", float, f"{slug} scoring"))
    if not 0 < reliable_change < maximum - minimum:
        raise MeasureDefinitionError(
            f"{slug}: 'reliable_change' must be above 0 and below the width of the range."
        )
    partner_gap = scoring.get("partner_gap")
    if partner_gap is not None and (
        isinstance(partner_gap, bool)
        or not isinstance(partner_gap, int | float)
        or not 0 < partner_gap < maximum - minimum
    ):
        raise MeasureDefinitionError(
            f"{slug}: 'partner_gap' must be above 0 and below the width of the range."
        )
    return Measure(
        slug=slug,
        name=_get(raw, "name", str, slug)[:120],
        short_name=_get(raw, "short_name", str, slug)[:20],
        construct=str(raw.get("construct", ""))[:120],
        entry=entry,
        higher_is_better=bool(_get(raw, "higher_is_better", bool, slug)),
        licence=_get(raw, "licence", str, slug),
        source=_get(raw, "source", str, slug),
        method=method,
        minimum=minimum,
        maximum=maximum,
        cutoff=float(cutoff) if cutoff is not None else None,
        cutoff_means=cutoff_means,
        cutoff_label=str(scoring.get("cutoff_label", "")),
        reliable_change=reliable_change,
        self_report_permission=str(raw.get("self_report_permission", ""))[:500],
        reliable_change_note=str(scoring.get("reliable_change_note", "")),
        items=tuple(items),
        cutoff_source=str(scoring.get("cutoff_source", "")),
        reliable_change_source=str(scoring.get("reliable_change_source", "")),
        partner_gap=float(partner_gap) if partner_gap is not None else None,
        partner_gap_note=str(scoring.get("partner_gap_note", "")),
    )


@cache
def builtin_measures() -> tuple[Measure, ...]:
    """The measures Tandem ships (the CSI-4 score entry)."""
    return tuple(
        parse_definition(path.read_text(encoding="utf-8"))
        for path in sorted(DATA_DIR.glob("*.toml"))
    )
