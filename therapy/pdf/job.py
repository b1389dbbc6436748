"""A render request as plain values: what crosses from the web process to the renderer."""

from __future__ import annotations

from dataclasses import dataclass

#: Paper names Tandem offers, and the CSS `@page { size }` each one means.
PAPER_SIZES = {"A4": "A4", "Letter": "letter"}


@dataclass(frozen=True)
class RenderJob:
    """Everything one render needs; documents are laid out one by one, printed in order."""

    documents: tuple[str, ...]  # HTML documents
    stylesheets: tuple[str, ...]  # paths under the static folder, e.g. "css/handout.css"
    paper: str  # a key of PAPER_SIZES
    max_pages: int
