"""What can go wrong when rendering a PDF, as exceptions a view can turn into a message."""

from __future__ import annotations


class PdfError(RuntimeError):
    """The PDF could not be made."""

    #: A sentence the therapist can read.
    message = "The PDF could not be made. Please try again."

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.message)


class PdfTooLarge(PdfError):
    """The document is longer than the page cap (or its source is too big to lay out)."""

    message = "This PDF would be too long to print. Shorten the notes or print fewer handouts."

    def __init__(self, limit: int, pages: int | None = None, detail: str = "") -> None:
        self.limit = limit
        self.pages = pages
        super().__init__(detail or f"{pages or 'more than ' + str(limit)} pages; limit {limit}")


class PdfTimeout(PdfError):
    """Rendering took longer than the time cap and was stopped."""

    message = "Making this PDF took too long and was stopped. Shorten the notes and try again."

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"rendering took longer than {seconds:g} s")
