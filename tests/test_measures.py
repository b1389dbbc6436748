"""Measures as data: the CSI-4 scored by hand-worked examples, and bad definitions refused."""

from __future__ import annotations

import pytest

from therapy.measures.definitions import (
    MeasureDefinitionError,
    ScoreError,
    builtin_measures,
    parse_definition,
)

CSI4 = next(m for m in builtin_measures() if m.slug == "csi-4")


def scores(happiness, warmth, rewarding, satisfaction):
    return {
        "happiness": happiness,
        "warmth": warmth,
        "rewarding": rewarding,
        "satisfaction": satisfaction,
    }


@pytest.mark.parametrize(
    ("items", "total", "distressed"),
    [
        (scores(0, 0, 0, 0), 0, True),
        (scores(6, 5, 5, 5), 21, False),
        # 3 + 3 + 4 + 3 = 13: below the 13.5 cut-off.
        (scores(3, 3, 4, 3), 13, True),
        # 4 + 3 + 4 + 3 = 14: just above it.
        (scores(4, 3, 4, 3), 14, False),
    ],
)
def test_csi4_totals_and_cutoff(items, total, distressed):
    assert CSI4.score(items) == total
    assert CSI4.in_clinical_range(total) is distressed


def test_csi4_carries_its_source_licence_and_thresholds():
    assert (CSI4.minimum, CSI4.maximum, CSI4.cutoff) == (0, 21, 13.5)
    assert "Funk" in CSI4.source and "Rogge" in CSI4.source and "2007" in CSI4.source
    assert "free" in CSI4.licence.lower()
    assert [item.maximum for item in CSI4.items] == [6, 5, 5, 5]
    assert CSI4.entry == "scores" and all(not item.text for item in CSI4.items)


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        (10, 13, 0),  # 3 points: within the threshold of 4
        (10, 14, 1),  # 4 points up: reliably better
        (15, 11, -1),  # 4 points down: reliably worse
    ],
)
def test_reliable_change(before, after, change):
    assert CSI4.reliable_change == 4
    assert CSI4.change(before, after) == change


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"happiness": 3, "warmth": 3, "rewarding": 3}, "a score is missing"),
        (scores(7, 3, 3, 3), "from 0 to 6"),
        (scores(3, -1, 3, 3), "from 0 to 5"),
    ],
)
def test_bad_scores_are_refused_with_the_reason(items, message):
    with pytest.raises(ScoreError, match=message):
        CSI4.score(items)


VALID = """
slug = "trust-scale"
name = "A practice's trust scale"
short_name = "TS"
entry = "items"
higher_is_better = false
licence = "Licensed to this practice."
source = "Our own, 2026."
[scoring]
method = "mean"
minimum = 1
maximum = 5
cutoff = 3.5
cutoff_means = "above"
reliable_change = 0.8
[[items]]
key = "a"
label = "First"
text = "I feel unsure."
minimum = 1
maximum = 5
[[items]]
key = "b"
label = "Second"
text = "I feel safe."
minimum = 1
maximum = 5
reverse = true
"""


def test_an_imported_definition_scores_means_and_reverse_items():
    measure = parse_definition(VALID)
    # mean of 4 and (1 + 5 - 2) = 4 -> 4.0, above the 3.5 cut-off (higher is worse here).
    assert measure.score({"a": 4, "b": 2}) == 4.0
    assert measure.in_clinical_range(4.0)
    assert measure.change(4.0, 3.0) == 1  # lower is better for this measure


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (VALID.replace('slug = "trust-scale"', 'slug = "Trust Scale!"'), "slug"),
        (VALID.replace('entry = "items"', 'entry = "telepathy"'), "entry"),
        (VALID.replace('method = "mean"', 'method = "median"'), "method"),
        (VALID.replace("maximum = 5\ncutoff", "maximum = 9\ncutoff"), "does not match the items"),
        (VALID.replace("cutoff = 3.5", "cutoff = 7"), "cutoff"),
        (VALID.replace("reliable_change = 0.8", "reliable_change = 0"), "reliable_change"),
        (VALID.replace('text = "I feel safe."\n', ""), "needs each item's 'text'"),
        (VALID.replace('key = "b"', 'key = "a"'), "unique"),
        (VALID.replace('licence = "Licensed to this practice."\n', ""), "licence"),
        ("this is not toml [", "not a valid TOML"),
        (VALID + "\n" + "#" * 210_000, "200 KB"),
    ],
)
def test_an_invalid_definition_is_refused_with_the_reason(broken, reason):
    with pytest.raises(MeasureDefinitionError, match=reason):
        parse_definition(broken)
