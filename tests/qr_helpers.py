"""Reading QR codes back from a rendered image, with two independent decoders.

zbar (through pyzbar and Debian's libzbar0) and OpenCV's QR detector are separate code
bases; a printed code both read, each giving back exactly the link, is one a phone will
read too. Each decoder also reports the code's corners, so the tests check that the code
is drawn square.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Found:
    text: str
    width: float
    height: float

    @property
    def ratio(self) -> float:
        return self.width / self.height


def _extent(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Width and height of a quadrilateral, as the mean of its opposite sides."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = points

    def length(x1: float, y1: float, x2: float, y2: float) -> float:
        return float(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5)

    width = (length(ax, ay, bx, by) + length(dx, dy, cx, cy)) / 2
    height = (length(bx, by, cx, cy) + length(ax, ay, dx, dy)) / 2
    return width, height


def zbar(image: Image.Image) -> list[Found]:
    from pyzbar import pyzbar

    found = []
    for symbol in pyzbar.decode(image.convert("L"), symbols=[pyzbar.ZBarSymbol.QRCODE]):
        found.append(Found(symbol.data.decode(), symbol.rect.width, symbol.rect.height))
    return found


def opencv(image: Image.Image) -> list[Found]:
    """OpenCV's detectors: the ArUco-based one (steadier on a whole printed page), then the
    classic one. The classic detector alone misses about one clean code in twenty-five on
    a full page at 150 dpi (a contour in the data taken for a finder pattern)."""
    import cv2

    pixels = np.array(image.convert("L"))
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        ok, texts, corners, _ = detector.detectAndDecodeMulti(pixels)
        found = []
        for text, quad in zip(texts if ok else (), corners if ok else (), strict=True):
            if text:
                width, height = _extent([(float(x), float(y)) for x, y in quad])
                found.append(Found(text, width, height))
        if found:
            return found
    return []


DECODERS = {"zbar": zbar, "opencv": opencv}


def decode_both(image: Image.Image) -> dict[str, list[Found]]:
    return {name: decode(image) for name, decode in DECODERS.items()}


def pdf_page_images(data: bytes, workdir: Path, dpi: int = 150) -> list[Image.Image]:
    """Each page of a PDF drawn by poppler in grey, as a phone camera would see print."""
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "poppler-utils is needed: make pytest installs it"
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "printed.pdf"
    source.write_bytes(data)
    subprocess.run(  # noqa: S603 (a fixed local tool reading our own PDF)
        [pdftoppm, "-png", "-gray", "-r", str(dpi), str(source), str(workdir / "qr")], check=True
    )
    pages = sorted(workdir.glob("qr-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return [Image.open(io.BytesIO(page.read_bytes())) for page in pages]


def assert_reads_exactly(image: Image.Image, links: list[str], where: str) -> None:
    """Both decoders find exactly these links (none, one or more) and every code is square."""
    for name, found in decode_both(image).items():
        assert sorted(f.text for f in found) == sorted(links), (where, name, found)
        for code in found:
            assert 0.93 < code.ratio < 1.07, f"{where}: {name} reads a code {code.ratio:.2f}:1"
