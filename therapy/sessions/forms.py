"""Forms for sessions: details, notes afterwards, templates."""

from __future__ import annotations

from typing import Any

from wtforms import (
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from therapy.forms import BaseForm, WholeNumberField
from therapy.models import TherapySession
from therapy.parsing import BoundedDateField
from therapy.sessions.services import NOTE_FIELDS, notes_shown

NOTES_MAX = 20_000


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (rendered as a fieldset by the form macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionForm(BaseForm):
    date = BoundedDateField(
        "Date",
        validators=[Optional()],
        description="Leave empty for a draft you will schedule later.",
    )
    time = TimeField("Start time", validators=[Optional()])
    minutes = WholeNumberField(
        "Length in minutes",
        validators=[
            InputRequired(message="Enter a whole number, like 50."),
            NumberRange(10, 240, message="Use 10 to 240 minutes."),
        ],
    )
    focus = MultiCheckboxField("Focus practices", coerce=int, validators=[Optional()])
    status = SelectField("Status", validators=[InputRequired()])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.time.data is not None and self.date.data is None:
            self.date.errors = [*self.date.errors, "Give the date for this start time."]
            valid = False
        if self.date.data is not None and self.time.data is None and not self.time.errors:
            self.time.errors = [*self.time.errors, "Give the start time, like 14:00."]
            valid = False
        return valid


class NewSessionForm(SessionForm):
    start_from = SelectField("Start the plan from", validators=[InputRequired()])


class NotesForm(BaseForm):
    notes_happened = TextAreaField(
        "What happened", validators=[Length(max=NOTES_MAX)], render_kw={"rows": 6}
    )
    notes_follow_up = TextAreaField(
        "What to follow up next time", validators=[Length(max=NOTES_MAX)], render_kw={"rows": 4}
    )
    version = HiddenField()
    # Fingerprints of the notes as this page was loaded: saving writes only what it changed.
    notes_happened_was = HiddenField()
    notes_follow_up_was = HiddenField()

    def set_shown(self, session: TherapySession) -> None:
        """Record the session's version and notes as this page shows them."""
        self.version.data = str(session.version)
        for name, value in notes_shown(session).items():
            self[f"{name}_was"].data = value

    def shown(self) -> dict[str, str] | None:
        """The notes' fingerprints as the page was loaded; None from a page without them."""
        values = {name: self[f"{name}_was"].data or "" for name in NOTE_FIELDS}
        return values if all(values.values()) else None

    def typed(self) -> dict[str, str]:
        return {name: self[name].data or "" for name in NOTE_FIELDS}

    def show(self, texts: dict[str, str]) -> None:
        for name, text in texts.items():
            self[name].data = text


class TemplateForm(BaseForm):
    name = StringField("Template name", validators=[DataRequired(), Length(max=120)])
