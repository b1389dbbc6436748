"""Forms for therapist accounts, reassigning couples and filtering the audit log."""

from __future__ import annotations

from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional

from therapy.auth.forms import EMAIL_MAX, NAME_MAX, PASSWORD_FIELD_MAX, StrongPassword, zone_field
from therapy.forms import BaseForm
from therapy.models.reassignment import REASON_MAX
from therapy.parsing import BoundedDateField


class NewTherapistForm(BaseForm):
    display_name = StringField(
        "Name",
        validators=[DataRequired("Enter the therapist's name."), Length(max=NAME_MAX)],
        description="As it should appear on handouts, such as “Dr. Ana Ruiz”.",
        render_kw={"autocomplete": "off"},
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter an email address."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            Length(max=EMAIL_MAX),
        ],
        render_kw={"autocomplete": "off"},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX), StrongPassword()],
        description="At least 12 characters. Give it to them in person; they can change it.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Password again",
        validators=[InputRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    timezone = zone_field("Their session times are shown in this zone; they can change it.")


class ReassignForm(BaseForm):
    owner_id = SelectField(
        "New therapist",
        coerce=int,
        choices=[],
        validators=[InputRequired("Choose the therapist who takes this couple.")],
        # The service says why a therapist cannot take the couple (yourself, inactive).
        validate_choice=False,
    )
    reason = StringField(
        "Reason",
        validators=[
            DataRequired("Give a short reason; the new therapist sees it."),
            Length(max=REASON_MAX),
        ],
        description=(
            "A few words the new therapist will read, such as “caseload balancing” or "
            "“therapist on leave”. Nothing clinical: this is kept in the practice records."
        ),
        render_kw={"autocomplete": "off", "maxlength": REASON_MAX},
    )
    back = HiddenField()


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False

    actor = SelectField("Who", choices=[SelectChoice("", "Anyone")], default="")
    action = SelectField("Action", choices=[SelectChoice("", "Any action")], default="")
    since = BoundedDateField("From", validators=[Optional()])
    until = BoundedDateField("To", validators=[Optional()])
