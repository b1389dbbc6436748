"""Forms for second factors and password reset links."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from therapy.auth.forms import EMAIL_MAX, PASSWORD_FIELD_MAX
from therapy.forms import BaseForm

CODE_MAX = 40


class CodeForm(BaseForm):
    """The second-factor page: a code from the app, or a recovery code."""

    code = StringField(
        "Code",
        validators=[DataRequired("Type the code."), Length(max=CODE_MAX)],
        description="The six digits your authenticator app shows now, or a recovery code.",
        render_kw={
            "autocomplete": "one-time-code",
            "autocapitalize": "off",
            "spellcheck": "false",
            "autofocus": True,
        },
    )


class TotpConfirmForm(BaseForm):
    code = StringField(
        "Code from the app",
        validators=[DataRequired("Type the six digits the app shows."), Length(max=CODE_MAX)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class PasswordConfirmForm(BaseForm):
    """Removing a factor or making new recovery codes asks for the password again."""

    password = PasswordField(
        "Your password",
        validators=[InputRequired("Type your password."), Length(max=PASSWORD_FIELD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )


class NewPasswordForm(BaseForm):
    password = PasswordField(
        "New password",
        validators=[InputRequired(), Length(max=PASSWORD_FIELD_MAX)],
        description="At least 12 characters. A few unrelated words work well.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        validators=[InputRequired(), EqualTo("password", message="The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class ResetRequestForm(BaseForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Length(max=EMAIL_MAX)],
        render_kw={"autocomplete": "username"},
    )


class RequireSecondFactorForm(BaseForm):
    require = BooleanField("Everyone must use a second factor to sign in")
