"""Reading and saving safety screens, partners' private safety answers and the practice's
crisis line. Every couple is loaded through the couples' scoped loader by the callers."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import select

from therapy import audit
from therapy.extensions import db
from therapy.models import CheckIn, Couple, PracticeSettings, SafetyScreen, User, utcnow
from therapy.safety import rules
from therapy.safety.help import DEFAULT_CRISIS_LINE, HelpNow

# --- the screen ----------------------------------------------------------------------------

SCREEN_FIELDS = {
    "a_screened_on": "Partner A seen alone on",
    "a_screened_by": "Partner A seen by",
    "b_screened_on": "Partner B seen alone on",
    "b_screened_by": "Partner B seen by",
    "pattern": "Conflict between them",
    "injuries_or_threats": "Injuries or threats",
    "substance_use": "Substance use",
    "self_harm": "Self-harm",
    "children_at_home": "Children at home",
    "note": "Note",
}


@dataclass(frozen=True)
class ScreenData:
    """What the screen form gives."""

    a_screened_on: date | None
    a_screened_by: str
    b_screened_on: date | None
    b_screened_by: str
    pattern: str
    injuries_or_threats: str
    substance_use: str
    self_harm: str
    children_at_home: str
    note: str


def latest_screen(couple_id: int) -> SafetyScreen | None:
    """The couple's screen as last saved; None means not yet screened."""
    return db.session.scalar(
        select(SafetyScreen)
        .where(SafetyScreen.couple_id == couple_id)
        .order_by(SafetyScreen.id.desc())
        .limit(1)
    )


def save_screen(couple: Couple, data: ScreenData) -> SafetyScreen | None:
    """Add a new version of the screen (nothing is overwritten); None if nothing changed."""
    current = latest_screen(couple.id)
    if current is not None and all(
        getattr(current, f.name) == getattr(data, f.name) for f in fields(ScreenData)
    ):
        return None
    screen = SafetyScreen(
        couple_id=couple.id, saved_by_id=current_user.id, saved_at=utcnow(), **vars(data)
    )
    db.session.add(screen)
    db.session.flush()
    blocking = [c for c in rules.concerns(screen) if c.blocks]
    if blocking and not couple.safety_flag:
        # A positive screen raises the couple's safety flag (the banner on every page
        # about them). Only the therapist lowers it again, on the couple's record.
        couple.safety_flag = True
        couple.safety_reason = couple.safety_reason or blocking[0].answer
    audit.record("couple.safety_screen", record_type="couple", record_id=couple.id)
    db.session.commit()
    return screen


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    if name == "pattern":
        return rules.PATTERN_LABELS.get(value, value)
    if name in ("injuries_or_threats", "substance_use", "self_harm", "children_at_home"):
        return rules.ANSWER_LABELS.get(value, value)
    return str(value)


@dataclass(frozen=True)
class ScreenChange:
    saved_at: datetime
    saved_by: str
    changes: list[tuple[str, str, str]]  # (field label, before, after)


def history(couple_id: int) -> list[ScreenChange]:
    """Every saved version of the screen, newest first, as what changed from the one before."""
    rows = db.session.execute(
        select(SafetyScreen, User.display_name)
        .outerjoin(User, User.id == SafetyScreen.saved_by_id)
        .where(SafetyScreen.couple_id == couple_id)
        .order_by(SafetyScreen.id)
    ).all()
    result: list[ScreenChange] = []
    before: SafetyScreen | None = None
    for screen, name in rows:
        changes = []
        for field_name, label in SCREEN_FIELDS.items():
            old = getattr(before, field_name) if before is not None else None
            new = getattr(screen, field_name)
            if old != new and not (before is None and new in (None, "")):
                changes.append((label, _shown(field_name, old), _shown(field_name, new)))
        result.append(ScreenChange(screen.saved_at, name or "An earlier account", changes))
        before = screen
    return result[::-1]


def screen_summary(screen: SafetyScreen | None) -> list[tuple[str, str]]:
    """The screen as label/value rows for the couple page."""
    if screen is None:
        return []
    return [(label, _shown(name, getattr(screen, name))) for name, label in SCREEN_FIELDS.items()]


# --- the partner's private safety answer -----------------------------------------------------

SAFETY_QUESTION = "Do you feel safe at home right now?"
SAFETY_ANSWERS = {"yes": "Yes", "unsure": "Not sure", "no": "No"}


def unseen_safety_answers(couple_ids: list[int]) -> list[CheckIn]:
    """Check-ins whose partner did not answer "yes" to the safety question, not yet seen."""
    if not couple_ids:
        return []
    return list(
        db.session.scalars(
            select(CheckIn)
            .where(
                CheckIn.couple_id.in_(couple_ids),
                CheckIn.safety_answer.in_(("unsure", "no")),
                CheckIn.safety_seen_at.is_(None),
            )
            .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        )
    )


def partner_unsafe(couple_id: int) -> bool:
    return bool(unseen_safety_answers([couple_id]))


def mark_safety_seen(checkin: CheckIn) -> bool:
    """The therapist has seen a partner's safety answer; audited. False if already seen."""
    if checkin.safety_seen_at is not None:
        return False
    checkin.safety_seen_at = utcnow()
    checkin.safety_seen_by_id = current_user.id
    audit.record("checkin.safety_seen", record_type="checkin", record_id=checkin.id)
    db.session.commit()
    return True


@dataclass(frozen=True)
class UnseenAnswer:
    checkin_id: int
    partner: str
    answer: str
    note: str
    on_date: date


@dataclass(frozen=True)
class CoupleSafety:
    """What the couple page shows: the screen, its status, and unseen safety answers."""

    status: str
    rows: list[tuple[str, str]]
    unseen: list[UnseenAnswer]


def couple_safety(couple: Couple) -> CoupleSafety:
    screen = latest_screen(couple.id)
    unseen = unseen_safety_answers([couple.id])
    names = {p.role: p.first_name for p in couple.partners}
    return CoupleSafety(
        status=rules.status(screen, partner_unsafe=bool(unseen)).value,
        rows=screen_summary(screen),
        unseen=[
            UnseenAnswer(
                c.id,
                names.get(c.partner_role, f"Partner {c.partner_role.upper()}"),
                SAFETY_ANSWERS.get(c.safety_answer or "", ""),
                c.safety_note,
                c.on_date,
            )
            for c in unseen
        ],
    )


# --- the practice's crisis line, contact details and logo ----------------------------------


def practice_settings() -> PracticeSettings | None:
    return db.session.scalar(select(PracticeSettings).order_by(PracticeSettings.id).limit(1))


def help_now() -> HelpNow:
    """The practice's help text (defaults when not set), read once per request."""
    if has_request_context() and "help_now" in g:
        cached: HelpNow = g.help_now
        return cached
    settings = practice_settings()
    logo = ""
    if settings is not None and settings.logo and settings.logo_type:
        import base64

        logo = f"data:{settings.logo_type};base64,{base64.b64encode(settings.logo).decode()}"
    result = HelpNow(
        practice_name=settings.name if settings else "",
        crisis_line=(settings.crisis_line if settings else "") or DEFAULT_CRISIS_LINE,
        contact=settings.contact if settings else "",
        logo_data_url=logo,
    )
    if has_request_context():
        g.help_now = result
    return result


def save_practice_settings(
    *, name: str, crisis_line: str, contact: str, logo: tuple[bytes, str] | None, drop_logo: bool
) -> None:
    settings = practice_settings() or PracticeSettings(id=1)
    settings.name, settings.crisis_line, settings.contact = name, crisis_line, contact
    if drop_logo:
        settings.logo, settings.logo_type = None, None
    if logo is not None:
        settings.logo, settings.logo_type = logo
    settings.updated_by_id = current_user.id
    db.session.add(settings)
    db.session.flush()
    audit.record("practice.settings", record_type="practice", record_id=settings.id)
    db.session.commit()
