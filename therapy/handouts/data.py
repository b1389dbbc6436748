"""What a handout prints, as plain values.

Templates get these dataclasses, never ORM objects: the session and plan-item models
fill them from a plan item's snapshot, so a handout printed again later says exactly
what the couple was given. All text is plain text; the template escapes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from therapy.safety.help import HelpNow

Tracking = Literal["none", "daily", "once"]
Paper = Literal["A4", "Letter"]

TRACKING_CHOICES = ("none", "daily", "once")
PAPER_CHOICES = ("A4", "Letter")
# Only our own generated images may be printed, and only inline.
QR_IMAGE_PREFIXES = ("data:image/png;base64,", "data:image/svg+xml;base64,")


@dataclass(frozen=True)
class Role:
    """A role in an exercise, e.g. Speaker, and what the person in it does."""

    name: str
    does: str


@dataclass(frozen=True)
class HandoutItem:
    """One homework exercise as the couple will read it."""

    title: str
    practice_name: str  # "Open and honest communication"
    practice_idea: str  # the practice's one-line idea
    summary: str
    why: str  # why it helps
    steps: Sequence[str]
    roles: Sequence[Role] = ()
    note: str = ""  # the therapist's note for the couple
    tracking: Tracking = "none"
    prompts: Sequence[str] = ()  # reflection prompts
    minutes: int | None = None
    when: str = ""  # when and where, e.g. "Ten minutes after dinner, phones away"
    stop_safely: str = ""  # what to do if it gets hard
    # "psychoeducation" prints as a one-page explainer ("What to know", no step numbers).
    format: str = ""
    # "one partner" prints that it is for one of you, on your own.
    who: str = ""
    # Days a week the plan asks for (1-7); None: as `tracking` says. The grid follows it.
    days: int | None = None
    # One line saying what the pause word is, on exercises that require the pause plan.
    pause_note: str = ""

    @property
    def is_explainer(self) -> bool:
        return self.format == "psychoeducation"

    def __post_init__(self) -> None:
        if self.tracking not in TRACKING_CHOICES:
            raise ValueError(f"tracking must be one of {TRACKING_CHOICES}, not {self.tracking!r}")
        if self.days is not None and not 1 <= self.days <= 7:
            raise ValueError(f"days must be 1 to 7, not {self.days!r}")

    @property
    def schedule(self) -> str:
        """How often, in the handout's words: "every day", "days" (some days), "once", or
        "none"; the plan's days per week decide over the exercise's own tracking."""
        if self.days == 7 or (self.days is None and self.tracking == "daily"):
            return "daily"
        if self.days == 1 or (self.days is None and self.tracking == "once"):
            return "once"
        if self.days is not None:
            return "days"
        return "none"


@dataclass(frozen=True)
class CheckInLink:
    """A partner's between-session check-in link, printed as a short URL (and a QR code).

    It carries a live token: it is printed on a page of its own and never cached.
    """

    partner: str  # first name
    short_url: str
    qr_image: str = ""  # a data: URL made by Tandem (PNG or SVG), or empty
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.qr_image and not self.qr_image.startswith(QR_IMAGE_PREFIXES):
            raise ValueError("qr_image must be a base64 PNG or SVG data: URL")


@dataclass(frozen=True)
class Handout:
    """A couple's homework handout for one session."""

    partner_a: str  # first names; blank prints a line to write a name on
    partner_b: str
    session_date: date | None  # None: a line to write the date on
    therapist_name: str
    items: Sequence[HandoutItem]
    next_session_date: date | None = None
    paper: Paper = "A4"
    check_in_links: Sequence[CheckInLink] = field(default_factory=tuple)
    # The practice's crisis line and contact details, printed on every handout.
    help_now: HelpNow = field(default_factory=HelpNow)

    def __post_init__(self) -> None:
        if self.paper not in PAPER_CHOICES:
            raise ValueError(f"paper must be one of {PAPER_CHOICES}, not {self.paper!r}")
