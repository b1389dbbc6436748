"""The "this week's handouts" form: a range of days, read from the query string."""

from __future__ import annotations

from typing import Any

from wtforms.validators import InputRequired

from therapy.forms import BaseForm
from therapy.handouts.services import MAX_WEEK_DAYS
from therapy.parsing import BoundedDateField

DATE_HINT = "Enter a date like 2026-12-01."


class WeekForm(BaseForm):
    """From and to (both included), at most MAX_WEEK_DAYS days."""

    class Meta:
        csrf = False  # a GET form: it changes nothing

    first = BoundedDateField("From", validators=[InputRequired(DATE_HINT)])
    last = BoundedDateField("To", validators=[InputRequired(DATE_HINT)])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in (self.first, self.last):
            # WTForms' own message for a date it cannot read says nothing about the format.
            if field.raw_data and field.data is None:
                field.errors = [DATE_HINT]
        if not valid or self.first.data is None or self.last.data is None:
            return False
        if self.last.data < self.first.data:
            self.last.errors = [*self.last.errors, "The last day cannot be before the first."]
            return False
        if (self.last.data - self.first.data).days + 1 > MAX_WEEK_DAYS:
            self.last.errors = [
                *self.last.errors,
                f"Choose at most {MAX_WEEK_DAYS} days; print a longer stretch in parts.",
            ]
            return False
        return True
