"""Reading Tandem's PDFs back in tests: text, fonts, attachments, page sizes."""

from __future__ import annotations

import html
import io
import re
import select
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

from flask import Flask
from pypdf import PdfReader

from tests.conftest import base_config
from therapy import create_app, pdf

BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")


def make_pdf_app(tmp_path: Path, **overrides: Any) -> Flask:
    """An app for PDF tests: no database work, the PDF cache emptied."""
    app = create_app({**base_config("sqlite://"), **overrides}, instance_path=str(tmp_path))
    with app.app_context():
        pdf.clear_cache()
    return app


def connection_attempted(server: socket.socket) -> bool:
    """Whether anything connected to the `listener` fixture's port."""
    readable, _, _ = select.select([server], [], [], 0.3)
    return bool(readable)


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def text(data: bytes) -> str:
    """All the text of a PDF, pages joined, with invisible break opportunities removed."""
    pages = (page.extract_text() for page in reader(data).pages)
    return "\n".join(pages).replace("\u200b", "")


def poppler_text(data: bytes) -> str:
    """The text as poppler's pdftotext reads it (pypdf misreads fonts with missing glyphs)."""
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils is needed: make pytest installs it"
    result = subprocess.run(  # noqa: S603  (a fixed local tool reading our own PDF)
        [pdftotext, "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


def flat(data: bytes) -> str:
    """The text with all whitespace collapsed, for phrases that may wrap across lines."""
    return " ".join(text(data).split())


def fonts_mapping(data: bytes) -> dict[str, set[str]]:
    """For each embedded font (by base name), the characters its glyphs print."""
    found: dict[str, set[str]] = {}
    for page in reader(data).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            name = str(font["/BaseFont"]).split("+")[-1]
            cmap = font["/ToUnicode"].get_object().get_data()
            chars = found.setdefault(name, set())
            for glyph, code in BFCHAR.findall(cmap):
                if int(glyph, 16) != 0:
                    chars.update(bytes.fromhex(code.decode()).decode("utf-16-be"))
    return found


def shipped_font_chars(data: bytes) -> set[str]:
    """The characters printed with glyphs of the shipped font (any of its faces)."""
    chars: set[str] = set()
    for name, printed in fonts_mapping(data).items():
        if name.startswith("Tandem-Sans"):
            chars |= printed
    return chars


def attachments(data: bytes) -> list[str]:
    """Embedded files and file-attachment annotations: a handout must have none."""
    pdf_reader = reader(data)
    found = [f"embedded:{name}" for name in pdf_reader.attachments]
    root = pdf_reader.trailer["/Root"]
    if "/Names" in root and "/EmbeddedFiles" in root["/Names"]:
        found.append("/EmbeddedFiles")
    for page in pdf_reader.pages:
        for annotation in page.get("/Annots") or []:
            if annotation.get_object().get("/Subtype") == "/FileAttachment":
                found.append("/FileAttachment")
    return found


def page_size(data: bytes) -> tuple[int, int]:
    box = reader(data).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


def words(data: bytes) -> list[tuple[int, float, float, float, str]]:
    """Every word poppler finds: (page number, left, top, page width, text), in points."""
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils is needed: make pytest installs it"
    result = subprocess.run(  # noqa: S603  (a fixed local tool reading our own PDF)
        [pdftotext, "-bbox", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    found = []
    pages = result.stdout.decode().split("<page ")[1:]
    for number, page in enumerate(pages, start=1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        for left, top, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', page
        ):
            found.append((number, float(left), float(top), width, html.unescape(word)))
    return found
