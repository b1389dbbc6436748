"""Forms for partner links: create one, and print the card of one just created."""

from __future__ import annotations

from collections.abc import Sequence

from wtforms import HiddenField
from wtforms.validators import InputRequired, Length, NumberRange

from therapy.checkins.forms import ChoiceField, options
from therapy.checkins.services import LINK_DAYS_DEFAULT, LINK_DAYS_MAX, LINK_DAYS_MIN
from therapy.forms import BaseForm, WholeNumberField


class LinkForm(BaseForm):
    partner = ChoiceField("Link for", "Choose one of the partners.")
    days = WholeNumberField(
        "Open for (days)",
        default=LINK_DAYS_DEFAULT,
        validators=[
            InputRequired(message="Enter a number of days from 1 to 30."),
            NumberRange(LINK_DAYS_MIN, LINK_DAYS_MAX, "Enter a number of days from 1 to 30."),
        ],
        description="From 1 to 30 days. After that the link stops working.",
    )

    @classmethod
    def for_couple(cls, partners: Sequence[tuple[str, str]]) -> LinkForm:
        form = cls()
        form.partner.choices = options(partners)
        return form


class PrintCardForm(BaseForm):
    token = HiddenField(validators=[InputRequired(), Length(max=100)])
