"""The progress page's date range and view, and the report's options."""

from __future__ import annotations

from datetime import date
from typing import Any

from wtforms import BooleanField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length, Optional

from therapy.forms import BaseForm
from therapy.parsing import BoundedDateField

SUMMARY_MAX = 4000


class RangeDateField(BoundedDateField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a date like 2026-03-14.") from exc


class PeriodForm(BaseForm):
    """From and to dates."""

    start = RangeDateField("From", validators=[Optional()])
    end = RangeDateField("To", validators=[Optional()])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.start.data and self.end.data and self.start.data > self.end.data:
            self.end.errors = [*self.end.errors, "The end date must be after the start date."]
            valid = False
        return valid

    def period(self, default: tuple[date, date]) -> tuple[date, date]:
        start = self.start.data if self.start.data and not self.start.errors else default[0]
        end = self.end.data if self.end.data and not self.end.errors else default[1]
        return (start, end) if start <= end else default


class RangeForm(PeriodForm):
    """The progress page's period, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False


class ReportForm(PeriodForm):
    """What goes into the progress report PDF. The summary is used once and not stored."""

    summary = TextAreaField(
        "Your summary for this report",
        validators=[Optional(), Length(max=SUMMARY_MAX, message="Keep it under 4,000 characters.")],
        description="Printed at the top of the report. Tandem does not store it.",
    )
    for_couple = BooleanField("For the couple: leave out every answer marked private")


class CoupleViewMeasuresForm(BaseForm):
    """Whose measure scores the couple view and the couple's report show."""

    shown = RadioField(
        "Measures in the couple view and the report for the couple",
        choices=[SelectChoice("none", "Not shown")],
        default="none",
        description=(
            "A score tells the other partner how this partner rates the relationship. "
            "Show a partner's scores only after asking that partner, on their own."
        ),
    )


def couple_view_measures_form(names: dict[str, str], **kwargs: Any) -> CoupleViewMeasuresForm:
    form = CoupleViewMeasuresForm(**kwargs)
    name_a, name_b = names.get("a", "Partner A"), names.get("b", "Partner B")
    form.shown.choices = [
        SelectChoice("none", "Not shown (the default)"),
        SelectChoice("a", f"Only {name_a}'s scores: {name_a} agreed"),
        SelectChoice("b", f"Only {name_b}'s scores: {name_b} agreed"),
        SelectChoice("both", "Both partners' scores: each agreed"),
    ]
    return form
