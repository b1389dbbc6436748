"""The safety screen form and the practice's crisis-line settings."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import BooleanField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from therapy import timeutil
from therapy.forms import BaseForm
from therapy.models.safety import (
    CONTACT_MAX,
    CRISIS_LINE_MAX,
    LOGO_MAX_BYTES,
    SCREEN_NOTE_MAX,
    SCREENED_BY_MAX,
    Answer,
    Pattern,
)
from therapy.parsing import BoundedDateField
from therapy.safety import rules
from therapy.safety.services import ScreenData


def _radio(label: str, labels: dict[str, str], description: str = "") -> RadioField:
    return RadioField(
        label,
        choices=[SelectChoice(value, text) for value, text in labels.items()],
        validators=[InputRequired(message="Choose one.")],
        description=description or None,
    )


ANSWERS = {Answer.UNKNOWN.value: "Not known yet", Answer.NO.value: "No", Answer.YES.value: "Yes"}


class ScreenForm(BaseForm):
    """Filled in by the therapist after seeing each partner alone."""

    a_screened_on = BoundedDateField("Partner A seen alone on", validators=[Optional()])
    a_screened_by = StringField(
        "Partner A seen by", validators=[Optional(), Length(max=SCREENED_BY_MAX)]
    )
    b_screened_on = BoundedDateField("Partner B seen alone on", validators=[Optional()])
    b_screened_by = StringField(
        "Partner B seen by", validators=[Optional(), Length(max=SCREENED_BY_MAX)]
    )
    pattern = _radio(
        "Conflict between them",
        rules.PATTERN_LABELS,
        "Coercive control or fear: one partner controls, watches, threatens or frightens "
        "the other. Situational: arguments get heated on both sides, and no one is afraid.",
    )
    injuries_or_threats = _radio("Injuries or threats (ever, by either partner)", ANSWERS)
    substance_use = _radio("Alcohol or drug use that worries either of them", ANSWERS)
    self_harm = _radio("Thoughts of self-harm or suicide (either partner)", ANSWERS)
    children_at_home = _radio("Children living at home", ANSWERS)
    note = TextAreaField(
        "Note",
        validators=[Optional(), Length(max=SCREEN_NOTE_MAX)],
        description="For you only. Kept as written; nothing reads it to decide anything.",
        render_kw={"rows": 4},
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        today = timeutil.local_today()
        for role in ("a", "b"):
            when, by = self[f"{role}_screened_on"], self[f"{role}_screened_by"]
            if when.data and when.data > today:
                when.errors = [*when.errors, "The date can’t be in the future."]
                valid = False
            if when.data and not (by.data or "").strip():
                by.errors = [*by.errors, "Say who saw this partner alone."]
                valid = False
        return valid

    def to_data(self) -> ScreenData:
        return ScreenData(
            a_screened_on=self.a_screened_on.data,
            a_screened_by=(self.a_screened_by.data or "").strip(),
            b_screened_on=self.b_screened_on.data,
            b_screened_by=(self.b_screened_by.data or "").strip(),
            pattern=str(self.pattern.data or Pattern.UNCLEAR.value),
            injuries_or_threats=str(self.injuries_or_threats.data),
            substance_use=str(self.substance_use.data),
            self_harm=str(self.self_harm.data),
            children_at_home=str(self.children_at_home.data),
            note=(self.note.data or "").strip(),
        )


LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}
LOGO_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


class PracticeSettingsForm(BaseForm):
    name = StringField("Practice name", validators=[Optional(), Length(max=120)])
    crisis_line = TextAreaField(
        "Where to get help now",
        validators=[Optional(), Length(max=CRISIS_LINE_MAX)],
        description="Printed on every handout and partner page. For example: “In danger? "
        "Call 911. Crisis line (24 hours): 988.” Left empty, a general line pointing to "
        "local emergency numbers is printed.",
        render_kw={"rows": 3},
    )
    contact = TextAreaField(
        "Contact details",
        validators=[Optional(), Length(max=CONTACT_MAX)],
        description="How couples reach the practice, and when someone answers.",
        render_kw={"rows": 3},
    )
    logo = FileField(
        "Logo",
        validators=[
            FileAllowed(list(LOGO_TYPES), "Use a PNG or JPEG image."),
            FileSize(LOGO_MAX_BYTES, message="Use an image under 200 KB."),
        ],
        description="Optional. PNG or JPEG, under 200 KB.",
    )
    drop_logo = BooleanField("Remove the logo")
