"""What the safety screen means for exercises: structured answers meet structured risk tags.

Nothing here reads free text. The screen's answers and an exercise's `sensitive` tags
(catalog.SENSITIVE_KINDS) decide every warning and every suggestion; the therapist's note
and the couple's presenting concerns are shown to the therapist, never parsed.

Which tags matter for which answer (the guide page explains why, in words):

- Coercive control or fear, or injuries or threats ("screened positive"): every tag.
  Conflict work and sharing hand a controlling partner material and occasions; pauses,
  schedules, whereabouts and lists of wishes become rules to enforce; touch becomes
  pressure; betrayal work becomes interrogation. Never suggested; each warns when added.
- Situational conflict: conflict (the pause plan comes first).
- Substance use: conflict and betrayal (hard talks go badly when someone has been using).
- Self-harm: vulnerability and betrayal (deep sharing can raise distress).
- Children at home: no exercise is affected; it matters for safety planning and duties.
- Not yet screened (or partly screened, or "not yet clear"): no sensitive exercise is
  suggested first, and the builder says so with a link to the screen.
- A partner's private "not sure" or "no" to "Do you feel safe at home right now?", not yet
  seen by the therapist: treated as screened positive until seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from therapy.models.safety import Answer, Pattern, SafetyScreen

RISK_TAG_LABELS = {
    "conflict": "Conflict work",
    "vulnerability": "Vulnerable sharing",
    "control": "Could become a control tactic",
    "touch": "Touch or sex",
    "betrayal": "Affair or broken trust",
}
ALL_TAGS = frozenset(RISK_TAG_LABELS)

PATTERN_LABELS = {
    Pattern.NONE.value: "No aggression or fear described",
    Pattern.SITUATIONAL.value: "Situational conflict (arguments that escalate, no fear or control)",
    Pattern.COERCIVE.value: "Coercive control or fear of a partner",
    Pattern.UNCLEAR.value: "Not yet clear",
}
ANSWER_LABELS = {Answer.YES.value: "Yes", Answer.NO.value: "No", Answer.UNKNOWN.value: "Not known"}


class Status(StrEnum):
    NOT_SCREENED = "not-screened"
    SCREENED = "screened"  # both partners seen alone, nothing that rules out sensitive work
    POSITIVE = "positive"  # coercive control or fear, or injuries or threats


@dataclass(frozen=True)
class Concern:
    """One screen answer and the risk tags it makes an exercise unsafe or risky for."""

    answer: str  # as the warning names it: 'Coercive control or fear of a partner'
    tags: frozenset[str]
    blocks: bool  # never suggested (rather than a warning only)


POSITIVE_PATTERN = Concern("Screen: coercive control or fear of a partner", ALL_TAGS, True)
INJURIES = Concern("Screen: injuries or threats", ALL_TAGS, True)
SITUATIONAL = Concern("Screen: situational conflict", frozenset({"conflict"}), False)
SUBSTANCES = Concern("Screen: substance use", frozenset({"conflict", "betrayal"}), False)
SELF_HARM = Concern("Screen: self-harm", frozenset({"vulnerability", "betrayal"}), False)
PARTNER_UNSAFE = Concern(
    "A partner said privately they do not feel safe at home (not yet marked seen)",
    ALL_TAGS,
    True,
)


def is_complete(screen: SafetyScreen | None) -> bool:
    """Both partners seen alone, with a date, and the pattern judged."""
    return (
        screen is not None
        and screen.a_screened_on is not None
        and screen.b_screened_on is not None
        and screen.pattern != Pattern.UNCLEAR.value
    )


def concerns(screen: SafetyScreen | None, *, partner_unsafe: bool = False) -> list[Concern]:
    """The screen's answers that bear on exercises (a partial screen counts as far as it goes)."""
    found: list[Concern] = []
    if partner_unsafe:
        found.append(PARTNER_UNSAFE)
    if screen is None:
        return found
    if screen.pattern == Pattern.COERCIVE.value:
        found.append(POSITIVE_PATTERN)
    if screen.injuries_or_threats == Answer.YES.value:
        found.append(INJURIES)
    if screen.pattern == Pattern.SITUATIONAL.value:
        found.append(SITUATIONAL)
    if screen.substance_use == Answer.YES.value:
        found.append(SUBSTANCES)
    if screen.self_harm == Answer.YES.value:
        found.append(SELF_HARM)
    return found


def status(screen: SafetyScreen | None, *, partner_unsafe: bool = False) -> Status:
    if any(c.blocks for c in concerns(screen, partner_unsafe=partner_unsafe)):
        return Status.POSITIVE
    return Status.SCREENED if is_complete(screen) else Status.NOT_SCREENED


def blocked_tags(screen: SafetyScreen | None, *, partner_unsafe: bool = False) -> frozenset[str]:
    """Tags never suggested for this couple."""
    tags: set[str] = set()
    for concern in concerns(screen, partner_unsafe=partner_unsafe):
        if concern.blocks:
            tags |= concern.tags
    return frozenset(tags)


def warnings_for(
    screen: SafetyScreen | None, tags: list[str], *, partner_unsafe: bool = False
) -> list[str]:
    """One sentence per screen answer that meets one of the exercise's tags, naming both."""
    reasons = []
    for concern in concerns(screen, partner_unsafe=partner_unsafe):
        met = [t for t in tags if t in concern.tags]
        if met:
            named = ", ".join(RISK_TAG_LABELS[t].lower() for t in met)
            advice = (
                "Not suitable: see each partner alone and plan for safety instead."
                if concern.blocks
                else "Check it fits before adding it."
            )
            reasons.append(f"{concern.answer}. This exercise is tagged: {named}. {advice}")
    return reasons
