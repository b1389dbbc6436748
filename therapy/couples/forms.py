"""The couple form (with partner and goal sub-forms) and the caseload's filters.

Text is saved as typed, less surrounding whitespace (Python's str.strip); tags are split
on commas, trimmed, and duplicates (ignoring case) dropped.
"""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from therapy.couples.services import (
    LIVING_LABELS,
    SORTS,
    STATUS_LABELS,
    CoupleData,
    GoalData,
    PartnerData,
    tag_key,
)
from therapy.forms import BaseForm
from therapy.models.couple import (
    CONCERNS_MAX,
    DEFAULT_SESSION_MINUTES,
    EMAIL_MAX,
    FIRST_NAME_MAX,
    GOAL_MAX,
    GOALS_MAX,
    LABEL_MAX,
    LAST_NAME_MAX,
    PRONOUNS_MAX,
    RELATIONSHIP_LENGTH_MAX,
    SAFETY_REASON_MAX,
    SESSION_MINUTES_MAX,
    SESSION_MINUTES_MIN,
    TAG_MAX,
    TAGS_MAX,
)
from therapy.parsing import BoundedDateField

BLANK_GOAL_ROWS = 2
TAGS_TEXT_MAX = 1000
SEARCH_MAX = 100


# No maxlength attribute: a browser silently cuts pasted text at it. The server's length
# check keeps everything typed and says what is too long.
TEXT = {"autocomplete": "off", "maxlength": False}


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def parse_tags(text: str | None) -> list[str]:
    """Comma-separated tags, trimmed, blanks and case-insensitive duplicates dropped."""
    tags: dict[str, str] = {}
    for part in (text or "").split(","):
        name = part.strip()
        if name:
            tags.setdefault(tag_key(name), name)
    return list(tags.values())


class PartnerForm(Form):
    """One partner; a plain sub-form, the couple form carries the CSRF token."""

    first_name = StringField(
        "First name",
        validators=[DataRequired("Enter a first name."), Length(max=FIRST_NAME_MAX)],
        filters=[strip],
        render_kw=TEXT,
    )
    last_name = StringField(
        "Last name",
        validators=[Optional(), Length(max=LAST_NAME_MAX)],
        filters=[strip],
        render_kw=TEXT,
    )
    pronouns = StringField(
        "Pronouns",
        validators=[Optional(), Length(max=PRONOUNS_MAX)],
        filters=[strip],
        description="As they say them, such as she/her, he/him or they/them.",
        render_kw=TEXT,
    )
    email = EmailField(
        "Email",
        validators=[
            Optional(),
            Length(max=EMAIL_MAX),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
        ],
        filters=[strip],
        render_kw=TEXT,
    )

    def to_data(self) -> PartnerData:
        return PartnerData(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            pronouns=self.pronouns.data or "",
            email=self.email.data or "",
        )


class GoalForm(Form):
    text = StringField(
        "Goal", validators=[Optional(), Length(max=GOAL_MAX)], filters=[strip], render_kw=TEXT
    )
    target_date = BoundedDateField("Target date", validators=[Optional()])

    @property
    def is_blank(self) -> bool:
        return not self.text.data and self.target_date.data is None and not self.target_date.errors


def choices(labels: dict[str, str], blank: str | None = None) -> list[SelectChoice]:
    """Select options from a value → label mapping, after an optional blank one."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(value, label) for value, label in labels.items()]


def status_choices() -> list[SelectChoice]:
    return choices(STATUS_LABELS)


class CoupleForm(BaseForm):
    label = StringField(
        "Label",
        validators=[Optional(), Length(max=LABEL_MAX)],
        filters=[strip],
        description="Shown everywhere. Leave it blank to use both first names, like “Alex & Sam”.",
        render_kw=TEXT,
    )
    partner_a = FormField(PartnerForm, label="Partner A")
    partner_b = FormField(PartnerForm, label="Partner B")
    status = SelectField(
        "Status", choices=status_choices, default="active", validators=[InputRequired()]
    )
    started_on = BoundedDateField("Started on", validators=[Optional()])
    relationship_length = StringField(
        "Relationship length",
        validators=[Optional(), Length(max=RELATIONSHIP_LENGTH_MAX)],
        filters=[strip],
        description="In their words, such as “8 years, married for 3”.",
        render_kw=TEXT,
    )
    living_situation = SelectField(
        "Living situation",
        choices=choices(LIVING_LABELS, "Not recorded"),
        default="",
    )
    long_distance = BooleanField("Long-distance relationship")
    presenting_concerns = TextAreaField(
        "Presenting concerns",
        validators=[Optional(), Length(max=CONCERNS_MAX)],
        filters=[strip],
        render_kw={**TEXT, "rows": 5},
    )
    goals = FieldList(FormField(GoalForm), label="Goals")
    tags = StringField(
        "Tags",
        validators=[Optional(), Length(max=TAGS_TEXT_MAX)],
        filters=[strip],
        description="Separate tags with commas, such as “pre-marital, grief”.",
        render_kw=TEXT,
    )
    default_session_minutes = IntegerField(
        "Default session length (minutes)",
        validators=[
            InputRequired("Enter a length in minutes."),
            NumberRange(
                SESSION_MINUTES_MIN,
                SESSION_MINUTES_MAX,
                f"Choose a length from {SESSION_MINUTES_MIN} to {SESSION_MINUTES_MAX} minutes.",
            ),
        ],
        default=DEFAULT_SESSION_MINUTES,
        render_kw={"min": SESSION_MINUTES_MIN, "max": SESSION_MINUTES_MAX, "inputmode": "numeric"},
    )
    safety_flag = BooleanField("Safety concern (for example violence or coercion)")
    safety_reason = StringField(
        "What the concern is",
        validators=[Optional(), Length(max=SAFETY_REASON_MAX)],
        filters=[strip],
        description="A few words. With the flag on, it shows at the top of every page "
        "for this couple. It is a note only: suggestions and warnings follow the safety "
        "screen on the couple's page.",
        render_kw=TEXT,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._name_goal_rows()

    def _name_goal_rows(self) -> None:
        # Every row needs its own accessible name: "Goal 2", "Target date for goal 2".
        for number, entry in enumerate(self.goals.entries, start=1):
            entry.form.text.label.text = f"Goal {number}"
            entry.form.target_date.label.text = f"Target date for goal {number}"

    def add_blank_goal_rows(self, wanted: int = BLANK_GOAL_ROWS) -> None:
        """Room for new goals without JavaScript: keep `wanted` empty rows at the end."""
        trailing = 0
        for entry in reversed(self.goals.entries):
            if not entry.form.is_blank:
                break
            trailing += 1
        for _ in range(max(0, wanted - trailing)):
            self.goals.append_entry()
        self._name_goal_rows()

    def validate_tags(self, field: StringField) -> None:
        tags = parse_tags(field.data)
        too_long = [tag for tag in tags if len(tag) > TAG_MAX]
        if too_long:
            raise ValidationError(
                f"Keep each tag to {TAG_MAX} characters; “{too_long[0][:TAG_MAX]}…” is longer."
            )
        if len(tags) > TAGS_MAX:
            raise ValidationError(f"Use at most {TAGS_MAX} tags.")

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        return self._validate_goals() and self._validate_safety() and valid

    def _validate_goals(self) -> bool:
        valid = True
        started = self.started_on.data
        for entry in self.goals.entries:
            goal = entry.form
            if goal.target_date.data and not goal.text.data and not goal.text.errors:
                goal.text.errors = [*goal.text.errors, "Describe the goal, or clear its date."]
                valid = False
            target = goal.target_date.data
            if target is not None and started is not None and target < started:
                goal.target_date.errors = [
                    *goal.target_date.errors,
                    "The target date is before the date therapy started.",
                ]
                valid = False
        # The list's own errors: its entries' (so the form counts as invalid) and its count.
        entry_errors = [entry.errors for entry in self.goals.entries]
        self.goals.errors = entry_errors if any(entry_errors) else []
        if len([e for e in self.goals.entries if e.form.text.data]) > GOALS_MAX:
            self.goals.errors.append(f"Keep to {GOALS_MAX} goals at most.")
            valid = False
        return valid

    def _validate_safety(self) -> bool:
        if self.safety_flag.data and not self.safety_reason.data and not self.safety_reason.errors:
            self.safety_reason.errors = ["Say in a few words what the concern is."]
            return False
        return True

    def to_data(self) -> CoupleData:
        """The declared fields, copied one by one; anything else posted is ignored."""
        return CoupleData(
            partner_a=self.partner_a.form.to_data(),
            partner_b=self.partner_b.form.to_data(),
            label=self.label.data or "",
            status=self.status.data or "active",
            started_on=self.started_on.data,
            relationship_length=self.relationship_length.data or "",
            living_situation=self.living_situation.data or "",
            long_distance=bool(self.long_distance.data),
            presenting_concerns=self.presenting_concerns.data or "",
            goals=tuple(
                GoalData(entry.form.text.data, entry.form.target_date.data)
                for entry in self.goals.entries
                if entry.form.text.data
            ),
            tags=tuple(parse_tags(self.tags.data)),
            default_session_minutes=self.default_session_minutes.data or DEFAULT_SESSION_MINUTES,
            safety_flag=bool(self.safety_flag.data),
            safety_reason=self.safety_reason.data or "",
        )

    @classmethod
    def from_data(cls, data: CoupleData, **kwargs: Any) -> Any:
        """A form showing saved values (no request data)."""

        def partner(p: PartnerData) -> dict[str, str]:
            return {
                "first_name": p.first_name,
                "last_name": p.last_name,
                "pronouns": p.pronouns,
                "email": p.email,
            }

        return cls(
            formdata=None,
            data={
                "label": data.label,
                "partner_a": partner(data.partner_a),
                "partner_b": partner(data.partner_b),
                "status": data.status,
                "started_on": data.started_on,
                "relationship_length": data.relationship_length,
                "living_situation": data.living_situation,
                "long_distance": data.long_distance,
                "presenting_concerns": data.presenting_concerns,
                "goals": [{"text": g.text, "target_date": g.target_date} for g in data.goals],
                "tags": ", ".join(data.tags),
                "default_session_minutes": data.default_session_minutes,
                "safety_flag": data.safety_flag,
                "safety_reason": data.safety_reason,
            },
            **kwargs,
        )


class EditCoupleForm(CoupleForm):
    # The version the form was opened at; compared on save, never copied to the couple.
    version = HiddenField()

    def set_version(self, version: int) -> None:
        """Make the form save over `version` (after a conflict, the current one)."""
        self.version.data = str(version)
        self.version.raw_data = [str(version)]


class CaseloadFilterForm(BaseForm):
    """The caseload's search and filters, read from the query string."""

    class Meta:
        csrf = False

    q = SearchField(
        "Search",
        validators=[Optional(), Length(max=SEARCH_MAX)],
        description="Partner name, label or tag.",
    )
    status = SelectField("Status", choices=choices(STATUS_LABELS, "Any status"), default="")
    tag = SelectField("Tag", choices=[SelectChoice("", "Any tag")], default="")
    sort = SelectField("Sort by", choices=choices(SORTS), default="label")
    archived = HiddenField()


class ShareForm(BaseForm):
    """Share a couple with another therapist."""

    user_id = SelectField(
        "Therapist",
        coerce=int,
        validate_choice=True,
        validators=[InputRequired("Choose a therapist.")],
    )
    role = RadioField(
        "What they can do",
        choices=[
            SelectChoice("cotherapist", "Co-therapist: plans sessions and edits the record"),
            SelectChoice("supervisor", "Supervisor: reads everything and changes nothing"),
        ],
        default="supervisor",
        validators=[InputRequired("Choose co-therapist or supervisor.")],
    )
    private_answers = BooleanField(
        "A supervisor may read the answers partners marked private",
        description="Co-therapists always see them, as you do.",
    )


class DeleteCoupleForm(BaseForm):
    """Delete an archived couple for good: the label typed again confirms it."""

    confirm = StringField(
        "Type the couple's name to confirm",
        validators=[InputRequired("Type the couple's name exactly as shown."), Length(max=200)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class ExportForm(BaseForm):
    """A records request: everything, or without one partner's private answers."""

    leave_out = RadioField(
        "Private answers",
        choices=[
            SelectChoice("", "Include every answer (a copy for the practice)"),
            SelectChoice("a", "Leave out partner A's private answers (a copy for partner B)"),
            SelectChoice("b", "Leave out partner B's private answers (a copy for partner A)"),
        ],
        default="",
        validate_choice=True,
    )
