"""Numbers, ids and dates from a request, read strictly: odd input is "none", never a 500.

`str.isdigit()` is true for "²" and "①", which `int()` refuses, and `int()` takes "١٢"
and full-width digits too; an id past 2**31 - 1 overflows PostgreSQL's integer column (and past
2**63 SQLite's); a date at 9999-12-31 cannot have a day added or move to UTC from a
western time zone. Every number, id and date a view takes from a request goes through
one of these helpers, and every date field in a form is a `BoundedDateField`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from wtforms import DateField
from wtforms.validators import ValidationError

# The largest id an `Integer` primary key holds on PostgreSQL (int4), and so on any backend.
MAX_ID = 2**31 - 1
# Dates a person could mean, with room on both sides for time-zone and week arithmetic.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2200, 12, 31)
DATE_RANGE_MESSAGE = f"Enter a date between {FIRST_DATE:%Y} and {LAST_DATE:%Y}, like 2026-03-14."

_DIGITS = re.compile(r"[0-9]+")


def parse_int(raw: str | None, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """ASCII digits (surrounding spaces allowed) making a number in range, else None."""
    if raw is None:
        return None
    text = raw.strip()
    # The length check first: int() of a 5,000-digit string is refused by Python itself.
    if not text or len(text) > len(str(maximum)) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_signed_int(raw: str | None, *, bound: int) -> int | None:
    """An optionally negative whole number of ASCII digits within ±bound, else None."""
    text = (raw or "").strip()
    negative = text.startswith("-")
    value = parse_int(text[1:] if negative else text, maximum=bound)
    return None if value is None else -value if negative else value


def parse_id(raw: str | None) -> int | None:
    """A database id: 1 to MAX_ID in ASCII digits, else None."""
    return parse_int(raw, minimum=1)


def valid_id(value: int) -> bool:
    """Whether an id from a URL can name a row at all (1 to MAX_ID)."""
    return 0 < value <= MAX_ID


def date_in_range(value: date | None) -> bool:
    return value is None or FIRST_DATE <= value <= LAST_DATE


class BoundedDateField(DateField):
    """A date field that refuses dates no calendar arithmetic here can work with."""

    def pre_validate(self, form: Any) -> None:
        super().pre_validate(form)
        if not date_in_range(self.data):
            raise ValidationError(DATE_RANGE_MESSAGE)
