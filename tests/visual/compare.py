"""Screenshots and rendered PDF pages compared with the baselines kept in the repository.

A normal run only reads `tests/visual/baselines/`. `make visual-baselines` (which sets
TANDEM_UPDATE_BASELINES=1) writes them, on purpose. When a comparison fails, the
baseline ("before"), what the page looks like now ("after") and a difference image (the
changed pixels in red over a faded "after") are left in `test-artifacts/visual/`.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

BASELINES = Path(__file__).resolve().parent / "baselines"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "visual"
UPDATE = os.environ.get("TANDEM_UPDATE_BASELINES") == "1"

# A pixel counts as changed when one of its channels moved by more than this (of 255):
# anti-aliasing jitter stays under it, a line, a letter or a colour change does not.
PIXEL_THRESHOLD = 48
# The comparison fails when more than this fraction of the pixels changed (0.1 %: a
# 1280 x 800 screenshot tolerates about a thousand pixels, less than one short word).
CHANGED_FRACTION = 0.001


@dataclass
class Difference:
    changed: int
    total: int
    size_before: tuple[int, int]
    size_after: tuple[int, int]

    @property
    def fraction(self) -> float:
        return self.changed / self.total if self.total else 0.0

    @property
    def same_size(self) -> bool:
        return self.size_before == self.size_after


def normalised(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def difference(before: Image.Image, after: Image.Image) -> tuple[Difference, Image.Image]:
    """How many pixels changed beyond the threshold, and an image that shows where."""
    width = max(before.width, after.width)
    height = max(before.height, after.height)
    # Pages of different heights are compared on a common canvas: what one lacks is white.
    canvas_before = Image.new("RGB", (width, height), "white")
    canvas_before.paste(before)
    canvas_after = Image.new("RGB", (width, height), "white")
    canvas_after.paste(after)
    delta = ImageChops.difference(canvas_before, canvas_after)
    # The largest channel difference per pixel, then changed (255) or not (0).
    channels = delta.split()
    largest = ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])
    mask = largest.point(lambda value: 255 if value > PIXEL_THRESHOLD else 0)
    changed = mask.histogram()[255]
    faded = Image.blend(canvas_after, Image.new("RGB", (width, height), "white"), 0.7)
    shown = Image.composite(Image.new("RGB", (width, height), (220, 0, 0)), faded, mask)
    return Difference(changed, width * height, before.size, after.size), shown


def save_png(image: Image.Image, path: Path) -> None:
    """A small PNG: PIL's best compression, then optipng when the machine has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)
    optipng = shutil.which("optipng")
    if optipng:
        subprocess.run([optipng, "-quiet", "-o2", str(path)], check=True)  # noqa: S603


def check(name: str, png: bytes) -> None:
    """Compare the image with the baseline `name`.png; refresh it instead under UPDATE."""
    after = normalised(png)
    baseline = BASELINES / f"{name}.png"
    if UPDATE:
        save_png(after, baseline)
        return
    artefacts = {
        "before": ARTIFACTS / f"{name}-before.png",
        "after": ARTIFACTS / f"{name}-after.png",
        "difference": ARTIFACTS / f"{name}-difference.png",
    }
    for old in artefacts.values():
        old.unlink(missing_ok=True)
    if not baseline.exists():
        save_png(after, artefacts["after"])
        raise AssertionError(
            f"No baseline {baseline} yet; this run's image is "
            f"{artefacts['after']}. Run `make visual-baselines` to keep it."
        )
    before = Image.open(baseline).convert("RGB")
    found, shown = difference(before, after)
    if found.same_size and found.fraction <= CHANGED_FRACTION:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(baseline, artefacts["before"])
    save_png(after, artefacts["after"])
    save_png(shown, artefacts["difference"])
    size = (
        ""
        if found.same_size
        else f" The size changed from {found.size_before} to {found.size_after}."
    )
    raise AssertionError(
        f"{name} looks different from its baseline: {found.changed} of {found.total} pixels "
        f"({found.fraction:.3%}, allowed {CHANGED_FRACTION:.3%}) changed by more than "
        f"{PIXEL_THRESHOLD}/255.{size} Before: {artefacts['before']}  After: {artefacts['after']}"
        f"  Difference: {artefacts['difference']}. If the change is meant, run "
        "`make visual-baselines` and commit the new baselines."
    )


def pdf_pages(data: bytes, workdir: Path, dpi: int = 50) -> list[bytes]:
    """Each page of a PDF as poppler's pdftoppm draws it, as PNG bytes."""
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "poppler-utils is needed: make pytest installs it"
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "document.pdf"
    source.write_bytes(data)
    subprocess.run(  # noqa: S603 (a fixed local tool reading our own PDF)
        [pdftoppm, "-png", "-r", str(dpi), str(source), str(workdir / "page")], check=True
    )
    pages = sorted(workdir.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [page.read_bytes() for page in pages]
