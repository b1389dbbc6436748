"""The comparison itself: jitter passes, a real change fails and leaves its three images."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from tests.visual import compare


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def page(shift: int = 0, word: bool = False) -> Image.Image:
    image = Image.new("RGB", (200, 100), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 120, 40), fill=(30 + shift, 120, 80))
    if word:
        draw.rectangle((20, 60, 60, 75), fill="black")
    return image


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "BASELINES", tmp_path / "tests" / "visual" / "baselines")
    monkeypatch.setattr(compare, "ARTIFACTS", tmp_path / "test-artifacts" / "visual")
    monkeypatch.setattr(compare, "UPDATE", False)
    compare.save_png(page(), compare.BASELINES / "card.png")
    return compare.BASELINES, compare.ARTIFACTS


def test_a_small_colour_jitter_passes_and_rewrites_nothing(folders):
    baselines, artefacts = folders
    before = (baselines / "card.png").read_bytes()
    compare.check("card", png(page(shift=10)))
    assert (baselines / "card.png").read_bytes() == before
    assert not artefacts.exists() or not list(artefacts.iterdir())


def test_a_changed_region_fails_naming_before_after_and_difference(folders):
    baselines, artefacts = folders
    before = (baselines / "card.png").read_bytes()
    with pytest.raises(AssertionError) as failure:
        compare.check("card", png(page(word=True)))
    message = str(failure.value)
    for kind in ("before", "after", "difference"):
        path = artefacts / f"card-{kind}.png"
        assert path.exists() and str(path) in message, kind
    # The difference image marks the new block in red.
    shown = Image.open(artefacts / "card-difference.png").convert("RGB")
    assert shown.getpixel((40, 68)) == (220, 0, 0)
    assert shown.getpixel((150, 90)) != (220, 0, 0)
    # A normal run never rewrites the baseline.
    assert (baselines / "card.png").read_bytes() == before
    assert "make visual-baselines" in message


def test_a_page_that_grew_fails_and_says_so(folders):
    taller = Image.new("RGB", (200, 120), "white")
    taller.paste(page())
    with pytest.raises(AssertionError, match=r"size changed from \(200, 100\) to \(200, 120\)"):
        compare.check("card", png(taller))


def test_a_missing_baseline_fails_and_keeps_the_new_image(folders):
    _, artefacts = folders
    with pytest.raises(AssertionError, match="No baseline"):
        compare.check("new-page", png(page()))
    assert (artefacts / "new-page-after.png").exists()


def test_the_update_switch_writes_the_baseline(folders, monkeypatch):
    baselines, _ = folders
    monkeypatch.setattr(compare, "UPDATE", True)
    compare.check("card", png(page(word=True)))
    assert Image.open(baselines / "card.png").convert("RGB").getpixel((40, 68)) == (0, 0, 0)
