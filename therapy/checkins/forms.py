"""The check-in form, built for this couple's practices, homework and measures.

The same form serves the therapist (in session) and a partner (through a link); only
the wording of the private checkboxes and the fields around it differ. Text is saved as
typed, less surrounding whitespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from therapy import timeutil
from therapy.checkins import questions as checkin_questions
from therapy.checkins.services import (
    CheckInData,
    HomeworkAnswer,
    HomeworkQuestion,
    RatingAnswer,
    ScoreAnswer,
)
from therapy.forms import BaseForm, WholeNumberField
from therapy.measures.services import StoredMeasure
from therapy.models import CheckIn, Practice
from therapy.models.checkin import RATING_MAX, RATING_MIN, TEXT_MAX
from therapy.parsing import BoundedDateField
from therapy.safety.services import SAFETY_ANSWERS, SAFETY_QUESTION

RATING_HINT = "0 means not at all, 10 means very much."
DONE_CHOICES = [("not", "Not this week"), ("partly", "Partly"), ("fully", "Fully")]
HELPFUL_CHOICES = [("0", "Not helpful"), ("1", "A little helpful"), ("2", "Very helpful")]
PRIVATE_LABELS = {
    "therapist": "Private: not shown to the other partner",
    "partner": "Keep this private (only your therapist sees it)",
}
TEXT_LIMIT_MESSAGE = f"Please keep this under {TEXT_MAX:,} characters."


def options(pairs: Sequence[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class ChoiceField(RadioField):
    """Radio buttons whose errors say what to choose, whatever was posted."""

    def __init__(
        self,
        label: str,
        message: str,
        *,
        required: bool = True,
        choices: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ):
        # Optional() would take whitespace for "left empty" and clear pre_validate's error,
        # passing the whitespace on as the answer: only a missing or empty value is empty.
        validators = (
            [InputRequired(message=message)] if required else [Optional(strip_whitespace=False)]
        )
        super().__init__(
            label,
            validators=validators,
            validate_choice=False,
            choices=options(choices),
            **kwargs,
        )
        self.message = message
        # Rendered by the form macro as a radio group: a fieldset with a legend.
        self.type = "RadioField"

    def pre_validate(self, form: Any) -> None:
        values = {str(choice.value) for choice in self.choices or []}
        if self.data not in (None, "") and str(self.data) not in values:
            raise ValidationError(self.message)

    def post_validate(self, form: Any, validation_stopped: bool) -> None:
        # One clear message, not one per failed check.
        errors: list[str] = self.__dict__.get("errors") or []
        del errors[1:]


# The value a question's other answer ("We didn't disagree this week") is sent as.
NONE_ANSWER = "none"


def scale_field(question: str, none_answer: str = "") -> ChoiceField:
    """0 to 10, and the question's own other answer where it has one (kept apart from 0)."""
    choices = [(str(n), str(n)) for n in range(RATING_MIN, RATING_MAX + 1)]
    message = "Choose a number from 0 to 10."
    if none_answer:
        choices.append((NONE_ANSWER, none_answer))
        message = f"Choose a number from 0 to 10, or “{none_answer}”."
    return ChoiceField(question, message, choices=choices, description=RATING_HINT)


class CheckInDateField(BoundedDateField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a date like 2026-03-14.") from exc


class CheckInForm(BaseForm):
    """Fields every check-in has; the per-practice, homework and measure ones are added."""

    went_well = TextAreaField(
        "What went well this week?",
        validators=[Optional(), Length(max=TEXT_MAX, message=TEXT_LIMIT_MESSAGE)],
    )
    went_well_private = BooleanField()
    was_hard = TextAreaField(
        "What was hard this week?",
        validators=[Optional(), Length(max=TEXT_MAX, message=TEXT_LIMIT_MESSAGE)],
    )
    was_hard_private = BooleanField()
    version = HiddenField()

    practices: Sequence[Practice] = ()
    # The 0-10 questions asked about each practice (by practice id).
    asked: dict[int, list[checkin_questions.Question]] = {}
    questions: Sequence[HomeworkQuestion] = ()
    measures: Sequence[StoredMeasure] = ()
    today: date

    # --- grouped fields, for the template ---
    def rating_questions(self) -> list[tuple[Practice, checkin_questions.Question | None, str]]:
        """Each question asked, with its practice and its field's name."""
        found: list[tuple[Practice, checkin_questions.Question | None, str]] = []
        for practice in self.practices:
            asked: list[checkin_questions.Question | None] = list(self.asked.get(practice.id, []))
            for index, question in enumerate(asked or [None]):
                found.append((practice, question, checkin_questions.field_name(practice.id, index)))
        return found

    def rating_rows(self) -> list[tuple[Practice, Field, Field]]:
        return [(p, self[name], self[f"{name}_private"]) for p, _, name in self.rating_questions()]

    def homework_rows(self) -> list[tuple[HomeworkQuestion, Field, Field, Field]]:
        return [
            (q, self[f"hw_{n}_done"], self[f"hw_{n}_helpful"], self[f"hw_{n}_private"])
            for n, q in enumerate(self.questions)
        ]

    def measure_rows(self) -> list[tuple[StoredMeasure, list[Field]]]:
        return [
            (m, [self[f"score_{m.id}_{n}"] for n in range(len(m.measure.items))])
            for m in self.measures
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        when = self._fields.get("on_date")
        if when is not None and when.data and when.data > self.today:
            when.errors = [*when.errors, "The date can’t be in the future."]
            valid = False
        for stored, fields in self.measure_rows():
            filled = [f for f in fields if f.data is not None or f.errors]
            if filled and len(filled) < len(fields):
                for f in fields:
                    if f.data is None and not f.errors:
                        f.errors = [
                            f"Fill in every {stored.measure.short_name} item, "
                            "or leave them all empty."
                        ]
                valid = False
        return valid

    def to_data(self, on_date: date | None = None) -> CheckInData:
        """The validated answers as plain values."""
        when = self._fields.get("on_date")
        ratings = tuple(
            RatingAnswer(
                p.id,
                None if self[name].data == NONE_ANSWER else int(self[name].data),
                bool(self[f"{name}_private"].data),
                question.key if question is not None else "",
                not_applicable=self[name].data == NONE_ANSWER,
            )
            for p, question, name in self.rating_questions()
        )
        homework = tuple(
            HomeworkAnswer(
                q.plan_item_id,
                q.title,
                str(done.data),
                int(helpful.data) if helpful.data not in (None, "") else None,
                bool(private.data),
            )
            for q, done, helpful, private in self.homework_rows()
        )
        scores = tuple(
            ScoreAnswer(
                stored,
                {
                    item.key: int(f.data)
                    for item, f in zip(stored.measure.items, fields, strict=True)
                },
            )
            for stored, fields in self.measure_rows()
            if all(f.data is not None for f in fields)
        )
        return CheckInData(
            on_date=on_date or (when.data if when is not None else self.today),
            ratings=ratings,
            homework=homework,
            went_well=(self.went_well.data or "").strip(),
            went_well_private=bool(self.went_well_private.data),
            was_hard=(self.was_hard.data or "").strip(),
            was_hard_private=bool(self.was_hard_private.data),
            scores=scores,
            **self.safety_data(),
        )

    def safety_data(self) -> dict[str, Any]:
        """The private safety answer, on a partner's check-in only."""
        answer = self._fields.get("safety_answer")
        if answer is None:
            return {}
        note = self._fields["safety_note"].data or ""
        return {
            "safety_asked": True,
            "safety_answer": answer.data or None,
            "safety_note": note.strip(),
        }


def measure_item_fields(stored: StoredMeasure) -> list[tuple[str, WholeNumberField]]:
    fields = []
    for n, item in enumerate(stored.measure.items):
        message = f"Use a whole number from {item.minimum} to {item.maximum}."
        fields.append(
            (
                f"score_{stored.id}_{n}",
                WholeNumberField(
                    f"{item.label} ({item.minimum}-{item.maximum})",
                    validators=[Optional(), NumberRange(item.minimum, item.maximum, message)],
                    description=item.text or None,
                ),
            )
        )
    return fields


def checkin_form(
    *,
    practices: Sequence[Practice],
    questions: Sequence[HomeworkQuestion],
    audience: str = "therapist",
    measures: Sequence[StoredMeasure] = (),
    partners: Sequence[tuple[str, str]] = (),
    with_date: bool = True,
    data: dict[str, Any] | None = None,
    answered: Sequence[str] = (),
) -> CheckInForm:
    """A check-in form for these practices and homework; `partners` adds a partner choice.

    `answered`: the question keys a saved check-in answered. Where it answered a
    practice's earlier question (before the question was split), the form asks that
    question again, so editing an old check-in never drops or re-files its answers.
    """
    private_label = PRIVATE_LABELS[audience]
    attrs: dict[str, Any] = {}
    if partners:
        attrs["partner"] = ChoiceField(
            "Whose check-in is this?", "Choose one of the partners.", choices=list(partners)
        )
    if with_date:
        attrs["on_date"] = CheckInDateField(
            "Date", validators=[InputRequired(message="Enter a date like 2026-03-14.")]
        )
    asked_by_practice: dict[int, list[checkin_questions.Question]] = {}
    for practice in practices:
        asked = checkin_questions.asked(practice.slug)
        older = [q for q in checkin_questions.earlier(practice.slug) if q.key in answered]
        if older:
            asked = older
        asked_by_practice[practice.id] = asked
        if not asked:
            attrs[f"rating_{practice.id}"] = scale_field(practice.question or practice.name)
            attrs[f"rating_{practice.id}_private"] = BooleanField(private_label)
        for index, rating_question in enumerate(asked):
            name = checkin_questions.field_name(practice.id, index)
            attrs[name] = scale_field(rating_question.text, rating_question.none_answer)
            attrs[f"{name}_private"] = BooleanField(private_label)
    for n, question in enumerate(questions):
        attrs[f"hw_{n}_done"] = ChoiceField(
            f"Did you do “{question.title}”?",
            "Choose how much of it you did.",
            choices=DONE_CHOICES,
        )
        attrs[f"hw_{n}_helpful"] = ChoiceField(
            "How helpful was it?",
            "Choose how helpful it was, or leave it empty.",
            required=False,
            choices=HELPFUL_CHOICES,
        )
        attrs[f"hw_{n}_private"] = BooleanField(private_label)
    for stored in measures:
        attrs.update(measure_item_fields(stored))
    if audience == "partner":
        # Asked only of a partner alone, through their own link: never in session, where
        # the other partner would hear the answer.
        attrs.update(safety_fields())
    form_class = type("BoundCheckInForm", (CheckInForm,), attrs)
    form: CheckInForm = form_class(data=data)
    form.practices, form.questions, form.measures = practices, questions, measures
    form.asked = asked_by_practice
    form.went_well_private.label.text = private_label
    form.was_hard_private.label.text = private_label
    form.today = timeutil.local_today()
    return form


SAFETY_CHOICES = list(SAFETY_ANSWERS.items())


def safety_fields() -> dict[str, Field]:
    """The partner's private safety question: always private, never shown to the partner."""
    return {
        "safety_answer": ChoiceField(
            SAFETY_QUESTION,
            "Choose yes, not sure or no, or leave it empty.",
            required=False,
            choices=SAFETY_CHOICES,
            description="Only your therapist sees this answer. Your partner never does.",
        ),
        "safety_note": TextAreaField(
            "Anything you want your therapist to know about this?",
            validators=[Optional(), Length(max=TEXT_MAX, message=TEXT_LIMIT_MESSAGE)],
            description="You can leave this empty. Only your therapist sees it.",
        ),
    }


def initial_data(checkin: CheckIn) -> dict[str, Any]:
    """A saved check-in in the shape the form edits."""
    data: dict[str, Any] = {
        "on_date": checkin.on_date,
        "went_well": checkin.went_well,
        "went_well_private": checkin.went_well_private,
        "was_hard": checkin.was_hard,
        "was_hard_private": checkin.was_hard_private,
        "version": str(checkin.version),
    }
    answered = [r.question for r in checkin.ratings]
    for rating in checkin.ratings:
        slug = rating.practice.slug
        older = [q.key for q in checkin_questions.earlier(slug) if q.key in answered]
        asked = older or [q.key for q in checkin_questions.asked(slug)]
        if asked and rating.question not in asked:
            continue
        name = checkin_questions.field_name(
            rating.practice_id, asked.index(rating.question) if asked else 0
        )
        data[name] = NONE_ANSWER if rating.not_applicable else str(rating.value)
        data[f"{name}_private"] = rating.private
    for n, answer in enumerate(checkin.homework):
        data[f"hw_{n}_done"] = answer.done
        data[f"hw_{n}_helpful"] = None if answer.helpful is None else str(answer.helpful)
        data[f"hw_{n}_private"] = answer.private
    return data


class ScoreEntryForm(BaseForm):
    """One questionnaire on its own date, typed in from the authors' form."""

    on_date = CheckInDateField(
        "Date completed", validators=[InputRequired(message="Enter a date like 2026-03-14.")]
    )

    measure: StoredMeasure
    today: date

    def item_fields(self) -> list[Field]:
        return [
            self[f"score_{self.measure.id}_{n}"] for n in range(len(self.measure.measure.items))
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.on_date.data and self.on_date.data > self.today:
            self.on_date.errors = [*self.on_date.errors, "The date can’t be in the future."]
            valid = False
        for f in self.item_fields():
            if f.data is None and not f.errors:
                f.errors = ["Enter this item's score."]
                valid = False
        return valid

    def item_scores(self) -> dict[str, int]:
        items = self.measure.measure.items
        return {item.key: int(f.data) for item, f in zip(items, self.item_fields(), strict=True)}


def score_entry_form(stored: StoredMeasure, partners: Sequence[tuple[str, str]]) -> ScoreEntryForm:
    attrs: dict[str, Any] = {
        "partner": ChoiceField(
            "Whose questionnaire is this?", "Choose one of the partners.", choices=list(partners)
        )
    }
    attrs.update(measure_item_fields(stored))
    form_class = type("BoundScoreEntryForm", (ScoreEntryForm,), attrs)
    form: ScoreEntryForm = form_class()
    form.measure = stored
    form.today = timeutil.local_today()
    return form
