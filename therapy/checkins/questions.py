"""The 0-10 check-in questions, read from the library's data, each with a stable key.

An answer keeps the key of the question it answered (CheckInRating.question). When a
question's wording changes (a question asking two things split in two), the new
questions get new keys and the old one is kept as an earlier question: its answers are
charted on their own, with a note, and never joined to the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from therapy.library import catalog
from therapy.library.catalog import QuestionData


@dataclass(frozen=True)
class Question:
    key: str
    practice_slug: str
    practice_name: str
    data: QuestionData
    current: bool

    @property
    def text(self) -> str:
        return self.data.text

    @property
    def none_answer(self) -> str:
        return self.data.none_answer

    @property
    def title(self) -> str:
        """How a chart or a list names it: the practice, and the question's label if the
        practice asks more than one."""
        if not self.current:
            return f"{self.practice_name}: the earlier question"
        return f"{self.practice_name}: {self.data.label}" if self.data.label else self.practice_name


@cache
def _all() -> tuple[Question, ...]:
    found = []
    for practice in catalog.load():
        for data in practice.questions:
            found.append(Question(data.key, practice.slug, practice.name, data, True))
        for data in practice.earlier_questions:
            found.append(Question(data.key, practice.slug, practice.name, data, False))
    return tuple(found)


def asked(practice_slug: str) -> list[Question]:
    """The questions a check-in asks about this practice now, in order."""
    return [q for q in _all() if q.practice_slug == practice_slug and q.current]


def earlier(practice_slug: str) -> list[Question]:
    return [q for q in _all() if q.practice_slug == practice_slug and not q.current]


@cache
def _by_key() -> dict[str, Question]:
    return {q.key: q for q in reversed(_all())}  # the first of a key wins, as before


def by_key(key: str) -> Question | None:
    return _by_key().get(key)


def first_key(practice_slug: str) -> str:
    """The key of the practice's first question now (its slug when it has none listed)."""
    found = asked(practice_slug)
    return found[0].key if found else practice_slug


def field_name(practice_id: int, index: int) -> str:
    """The form field of a practice's question: rating_<id> for the first, then _2, _3."""
    return f"rating_{practice_id}" if index == 0 else f"rating_{practice_id}_{index + 1}"
