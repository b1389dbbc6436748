"""Forms for searching the library and writing custom exercises."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from therapy.forms import BaseForm, WholeNumberField
from therapy.library.catalog import SENSITIVE_KINDS
from therapy.models import Practice
from therapy.models.library import TITLE_MAX
from therapy.text import lines

MAX_LINES = 20
MAX_LINE = 500

SETTING_LABELS = {"in-session": "In session", "homework": "Homework", "either": "Either"}
WHO_LABELS = {
    "together": "Together",
    "each partner": "Each partner on their own",
    "therapist-led": "Led by the therapist",
    "one partner": "One partner on their own",
}
FORMAT_LABELS = {
    "conversation": "Conversation",
    "ritual": "Ritual",
    "written": "Written",
    "game": "Game",
    "planning": "Planning",
    "dialogue": "Structured dialogue",
    "psychoeducation": "One-page explainer",
}
TRACKING_LABELS = {"none": "No tracking", "daily": "Tick each day", "once": "Tick when done"}


def choices(labels: dict[str, str], blank: str | None = None) -> list[SelectChoice]:
    options = [SelectChoice(value, label) for value, label in labels.items()]
    return ([SelectChoice("", blank)] if blank is not None else []) + options


def practice_options(practices: list[Practice], blank: str | None = None) -> list[SelectChoice]:
    options = [
        SelectChoice(
            p.slug if blank is not None else str(p.id),
            p.name,
            optgroup="Situations" if p.is_situation else "Practices",
        )
        for p in practices
    ]
    return ([SelectChoice("", blank)] if blank is not None else []) + options


class LineList:
    """A textarea holding one item per line: at least `minimum`, each of bounded length."""

    def __init__(self, minimum: int, what: str) -> None:
        self.minimum = minimum
        self.what = what
        self.field_flags = {"required": True} if minimum else {}

    def __call__(self, form: Any, field: Any) -> None:
        from wtforms.validators import ValidationError

        items = lines(field.data)
        if len(items) < self.minimum:
            plural = "" if self.minimum == 1 else "s"
            raise ValidationError(
                f"Write at least {self.minimum} {self.what}{plural}, one per line."
            )
        if len(items) > MAX_LINES:
            raise ValidationError(f"Use at most {MAX_LINES} lines.")
        long = [n for n, item in enumerate(items, 1) if len(item) > MAX_LINE]
        if long:
            raise ValidationError(f"Line {long[0]} is longer than {MAX_LINE} characters.")


class LibrarySearchForm(Form):
    """The GET form on the library page (no CSRF: it changes nothing)."""

    q = StringField(
        "Search",
        validators=[Optional(), Length(max=200)],
        render_kw={"type": "search", "placeholder": "Title, summary or steps"},
    )
    practice = SelectField("Practice or situation", validators=[Optional()])
    minutes = SelectField(
        "Length",
        validators=[Optional()],
        choices=[SelectChoice("", "Any length")]
        + [SelectChoice(str(m), f"Up to {m} minutes") for m in (10, 20, 30, 60)],
    )
    setting = SelectField(
        "Setting",
        choices=choices({"in-session": "In session", "homework": "As homework"}, "Any setting"),
        validators=[Optional()],
    )
    who = SelectField("Who", choices=choices(WHO_LABELS, "Anyone"), validators=[Optional()])
    starred = BooleanField("Starred only")
    archived = BooleanField("My archived exercises")


class RoleForm(Form):
    name = StringField(
        "Role", validators=[Optional(), Length(max=40)], render_kw={"placeholder": "Speaker"}
    )
    does = StringField("What they do", validators=[Optional(), Length(max=300)])


class ExerciseForm(BaseForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
    practice_id = SelectField("Practice or situation", coerce=int, validators=[InputRequired()])
    summary = StringField(
        "Purpose in one sentence",
        validators=[DataRequired(), Length(max=400)],
        description="What the couple can repeat back, e.g. “Hear each other’s "
        "day without fixing anything.”",
    )
    why = TextAreaField(
        "Why it helps", validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 4}
    )
    timing = StringField(
        "When and where",
        validators=[Optional(), Length(max=300)],
        description="E.g. “{m:10} minutes after dinner, phones in another room.” "
        "{m:10} follows the plan's minutes, as in the steps.",
    )
    minutes = WholeNumberField(
        "Minutes",
        validators=[
            InputRequired(message="Enter a whole number, like 10."),
            NumberRange(1, 240, message="Use 1 to 240 minutes."),
        ],
    )
    setting = SelectField("Setting", choices=choices(SETTING_LABELS), validators=[InputRequired()])
    who = SelectField("Who", choices=choices(WHO_LABELS), validators=[InputRequired()])
    format = SelectField("Kind", choices=choices(FORMAT_LABELS), validators=[InputRequired()])
    tracking = SelectField(
        "Handout tracking", choices=choices(TRACKING_LABELS), validators=[InputRequired()]
    )
    steps = TextAreaField(
        "Steps",
        validators=[LineList(1, "step"), Length(max=12000)],
        description="One step per line. **Bold**, *italic* and [links](https://…) "
        "work; nothing else is formatted. Start a line with “Therapist:” for a step only "
        "you see: it never prints on a handout. {m:10} is a time that follows the plan: "
        "10 minutes at this exercise's length, more or fewer when a plan gives it more or "
        "less time.",
        render_kw={"rows": 8},
    )
    apart_steps = TextAreaField(
        "Steps for partners living apart (optional)",
        validators=[LineList(0, "step"), Length(max=12000)],
        description="A whole other list of steps, one per line, for a couple who live "
        "apart. The plan chooses which steps print.",
        render_kw={"rows": 4},
    )
    aloud_steps = TextAreaField(
        "Steps said aloud instead of written (optional)",
        validators=[LineList(0, "step"), Length(max=12000)],
        description="For a partner who does not read or write easily.",
        render_kw={"rows": 4},
    )
    video_steps = TextAreaField(
        "Steps for a session over video (optional)",
        validators=[LineList(0, "step"), Length(max=12000)],
        render_kw={"rows": 4},
    )
    roles = FieldList(FormField(RoleForm), min_entries=3, max_entries=3)
    involves_conflict = BooleanField("Works on a conflict")
    involves_vulnerability = BooleanField("Asks partners to share something vulnerable")
    involves_control = BooleanField(
        "Could be turned into a control tactic (schedules, whereabouts, lists of wishes, pauses)"
    )
    involves_touch = BooleanField("Involves physical closeness, affection or sex")
    involves_betrayal = BooleanField("Touches an affair or other broken trust")
    stop_safely = TextAreaField(
        "How to stop safely",
        validators=[Optional(), Length(max=600)],
        description="What to do if it turns into a fight. Needed whenever a risk below is ticked.",
        render_kw={"rows": 3},
    )
    prompts = TextAreaField(
        "Reflection prompts",
        validators=[LineList(0, "prompt"), Length(max=4000)],
        description="One per line; 2 to 4 work best.",
        render_kw={"rows": 4},
    )
    cautions = TextAreaField(
        "Cautions for you",
        validators=[LineList(0, "caution"), Length(max=4000)],
        description="One per line. Never printed for the couple.",
        render_kw={"rows": 3},
    )
    lineage = TextAreaField(
        "Where the idea comes from",
        validators=[Optional(), Length(max=400)],
        description="For you, e.g. “Adapted from the Gottman Method’s aftermath-of-a-fight "
        "structure.” Never printed for the couple.",
        render_kw={"rows": 2},
    )
    version = HiddenField()

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.risk_tags() and not (self.stop_safely.data or "").strip():
            self.stop_safely.errors = [
                *self.stop_safely.errors,
                "Say how the couple can stop safely.",
            ]
            valid = False
        for entry in self.roles:
            role = entry.form
            if bool((role.name.data or "").strip()) != bool((role.does.data or "").strip()):
                role.does.errors = [*role.does.errors, "Give both the role and what they do."]
                valid = False
        return valid

    def risk_tags(self) -> list[str]:
        """The ticked risk tags, in the library's vocabulary."""
        return [kind for kind in SENSITIVE_KINDS if self[f"involves_{kind}"].data]

    def roles_data(self) -> list[dict[str, str]]:
        return [
            {"name": entry.form.name.data.strip(), "does": entry.form.does.data.strip()}
            for entry in self.roles
            if (entry.form.name.data or "").strip()
        ]
