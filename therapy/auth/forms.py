"""Sign-in, first-run and account forms."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask import current_app
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, ValidationError

from therapy.auth.passwords import password_problem
from therapy.forms import BaseForm

EMAIL_MAX = 254
NAME_MAX = 120
# Long enough for any pass phrase; the policy's own limit gives the message.
PASSWORD_FIELD_MAX = 4096


class StrongPassword:
    """Refuses short and common passwords, and ones built from the account's own email or
    name (the form's fields when it has them, else the signed-in user's), with the
    policy's message."""

    def __call__(self, form: FlaskForm, field: Any) -> None:
        related = [
            getattr(form, name).data or ""
            for name in ("email", "display_name")
            if hasattr(form, name)
        ]
        if not related and current_user and current_user.is_authenticated:
            related = [current_user.email, current_user.display_name]
        problem = password_problem(field.data or "", related)
        if problem:
            raise ValidationError(problem)


class LoginForm(BaseForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Length(max=EMAIL_MAX)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
    submit = SubmitField("Sign in")


@cache
def timezone_choices() -> list[SelectChoice]:
    """IANA zones grouped by region, as the browser shows them in a select."""
    names = sorted(
        name
        for name in available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/"))
    )
    return [SelectChoice("UTC", "UTC")] + [
        SelectChoice(name, name.split("/", 1)[1].replace("_", " "), optgroup=name.split("/")[0])
        for name in names
    ]


def known_zone(form: FlaskForm, field: Any) -> None:
    """A zone name Python's zoneinfo knows (one of the choices), whatever a browser sent."""
    if field.data not in {choice.value for choice in timezone_choices()}:
        raise ValidationError("Choose a time zone from the list.")


def zone_field(description: str) -> SelectField:
    """A time zone, pre-filled in the browser with its own zone (static/js/app.js, from
    data-browser-zone) and checked against the zones Python knows. A post without it
    (an older page) gets the server's default zone."""
    return SelectField(
        "Time zone",
        choices=timezone_choices,
        default=lambda: current_app.config["DEFAULT_TIMEZONE"],
        validate_choice=False,
        validators=[known_zone],
        description=description,
        render_kw={"data-browser-zone": "fill"},
    )


class SetupForm(BaseForm):
    display_name = StringField(
        "Your name",
        validators=[DataRequired(), Length(max=NAME_MAX)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=EMAIL_MAX)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX), StrongPassword()],
        description="At least 12 characters. A few unrelated words work well.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Password again",
        validators=[InputRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    timezone = zone_field(
        "Session times are shown and typed in this zone. Filled in from this computer's "
        "setting; you can change it later on your account page."
    )
    submit = SubmitField("Create the administrator account")


class ProfileForm(BaseForm):
    display_name = StringField(
        "Display name",
        validators=[DataRequired(), Length(max=NAME_MAX)],
        description="Printed in the footer of handouts.",
        render_kw={"autocomplete": "name"},
    )
    timezone = SelectField(
        "Time zone",
        choices=timezone_choices,
        validators=[InputRequired()],
        description="Session times are shown in this zone.",
        # static/js/app.js offers this browser's zone when it differs from the saved one.
        render_kw={"data-browser-zone": "offer"},
    )
    paper_size = RadioField(
        "Handout paper",
        choices=[SelectChoice("A4", "A4"), SelectChoice("Letter", "US Letter")],
        validators=[InputRequired()],
    )
    submit_profile = SubmitField("Save settings")


class PasswordChangeForm(BaseForm):
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "New password",
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX), StrongPassword()],
        description="At least 12 characters. Changing it signs you out everywhere else.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        validators=[InputRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit_password = SubmitField("Change password")
