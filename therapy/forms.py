"""The base every form in Tandem extends."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, IntegerField, StringField, TextAreaField

# Control characters other than tab and line breaks: PostgreSQL refuses NUL, and none of
# them belongs in a name or a note.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_fields(fields: Iterable[Field]) -> Iterator[Field]:
    """Every text field, including those inside sub-forms and lists of sub-forms."""
    for field in fields:
        if isinstance(field, FormField):
            yield from text_fields(field.form)
        elif isinstance(field, FieldList):
            yield from text_fields(field.entries)
        elif isinstance(field, StringField | TextAreaField):
            yield field


class BaseForm(FlaskForm):
    """A Flask-WTF form (CSRF included) that refuses control characters in text."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in text_fields(self):
            text = field.data
            if isinstance(text, str) and CONTROL_CHARACTERS.search(text):
                field.errors = [
                    *field.errors,
                    "Remove the invisible control characters from this text.",
                ]
                valid = False
        for field in self:
            # A list keeps a copy of its entries' errors from its own validation; refresh it
            # so the errors added above count too.
            if isinstance(field, FieldList) and any(entry.errors for entry in field.entries):
                field.errors = [entry.errors for entry in field.entries]
        return valid


class WholeNumberField(IntegerField):
    """An integer input whose error says what to type."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a whole number, like 10.") from exc
