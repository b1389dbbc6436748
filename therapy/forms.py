"""The base every form in Tandem extends."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

# Control characters other than tab and line breaks: PostgreSQL refuses NUL, and none of
# them belongs in a name or a note.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BaseForm(FlaskForm):
    """A Flask-WTF form (CSRF included) that refuses control characters in text."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            text = field.data if isinstance(field, StringField | TextAreaField) else None
            if isinstance(text, str) and CONTROL_CHARACTERS.search(text):
                field.errors = [
                    *field.errors,
                    "Remove the invisible control characters from this text.",
                ]
                valid = False
        return valid
