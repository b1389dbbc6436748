"""The therapist's one-page agenda for a session, as plain data for its template.

Unlike the couple's handout it shows everything the therapist needs in the room: the
safety flag, goals, every plan item with its start time, the cautions from each
exercise's snapshot, and what the previous session left to follow up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from sqlalchemy import select

from therapy import pdf, timeutil
from therapy.extensions import db
from therapy.handouts.services import chosen_steps, paper_of, snapshot_text, snapshot_texts
from therapy.library import steps
from therapy.models import SessionStatus, TherapySession, User
from therapy.models.library import VARIANT_LABELS

AGENDA_STYLESHEET = "css/agenda.css"


@dataclass(frozen=True)
class AgendaItem:
    """One exercise of the plan, in order, with when it starts in the session."""

    position: int  # 1, 2, …
    title: str
    practice_name: str
    summary: str
    minutes: int
    starts: str  # "14:35", or "0:35" when the session is not scheduled; "" for homework
    homework: bool
    note: str  # the note for the couple
    cautions: tuple[str, ...]
    variant: str = ""  # which version of the steps is planned ("Session over video"), or ""
    # Steps for the therapist only, timings at the plan's minutes (never on a handout).
    therapist_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Agenda:
    """Everything the agenda prints."""

    couple_label: str
    session_number: int
    when: str  # "Wed 02 Dec 2026, 14:00 to 14:50" as shown, or "Not scheduled yet"
    minutes: int  # the session's length
    planned_minutes: int  # in-session items
    safety_concern: str  # empty unless the couple's safety flag is set
    goals: tuple[str, ...]
    focus: tuple[str, ...]
    items: tuple[AgendaItem, ...]
    previous_number: int | None
    previous_follow_up: str
    therapist_name: str
    paper: str
    # What the partners sent about the previous session's homework (ticks per day, notes).
    homework: Any = None


def clock(start: datetime | None, offset: int) -> str:
    """The wall-clock time `offset` minutes after `start`, or minutes from 0:00 without one."""
    if start is None:
        return f"{offset // 60}:{offset % 60:02d}"
    return f"{start + timedelta(minutes=offset):%H:%M}"


def previous_session(session: TherapySession) -> TherapySession | None:
    """The couple's session before this one (by number), cancelled ones left out."""
    found: TherapySession | None = db.session.scalar(
        select(TherapySession)
        .where(
            TherapySession.couple_id == session.couple_id,
            TherapySession.number < session.number,
            TherapySession.status != SessionStatus.CANCELLED.value,
        )
        .order_by(TherapySession.number.desc())
        .limit(1)
    )
    return found


def agenda_for_session(session: TherapySession, therapist: User) -> Agenda:
    """The agenda of a session: in-session items run back to back from its start."""
    couple = session.couple
    start = timeutil.to_local(session.starts_at) if session.starts_at else None
    items = []
    elapsed = 0
    for position, item in enumerate(session.items, 1):
        snapshot = item.snapshot
        items.append(
            AgendaItem(
                position=position,
                title=snapshot_text(snapshot, "title"),
                practice_name=snapshot_text(snapshot, "practice_name"),
                summary=snapshot_text(snapshot, "summary"),
                minutes=item.minutes,
                starts="" if item.homework else clock(start, elapsed),
                homework=item.homework,
                note=item.note or "",
                cautions=snapshot_texts(snapshot, "cautions"),
                variant=VARIANT_LABELS.get(item.variant, "") if item.variant else "",
                therapist_steps=steps.scaled_all(
                    steps.therapist_steps(chosen_steps(snapshot, item.variant)),
                    item.minutes,
                    own if isinstance(own := snapshot.get("minutes"), int) else None,
                ),
            )
        )
        if not item.homework:
            elapsed += item.minutes
    if start is None:
        when = "Not scheduled yet"
    else:
        when = f"{start:%a %d %b %Y}, {start:%H:%M}–{clock(start, session.minutes)}"
    previous = previous_session(session)
    safety = ""
    if couple.safety_flag:
        safety = couple.safety_reason or "A safety concern is flagged for this couple."
    return Agenda(
        couple_label=couple.label,
        session_number=session.number,
        when=when,
        minutes=session.minutes,
        planned_minutes=elapsed,
        safety_concern=safety,
        goals=tuple(goal.text for goal in couple.goals),
        focus=tuple(practice.name for practice in session.focus),
        items=tuple(items),
        previous_number=previous.number if previous else None,
        previous_follow_up=previous.notes_follow_up if previous else "",
        therapist_name=therapist.display_name,
        paper=paper_of(therapist),
        homework=_homework_before(session),
    )


def _homework_before(session: TherapySession) -> Any:
    from therapy.week.services import homework_before

    hw = homework_before(session)
    return hw if hw is not None and hw.anything else None


def agenda_html(agenda: Agenda) -> str:
    """The standalone document the agenda PDF is made from."""
    return render_template("handouts/agenda_document.html", agenda=agenda)


def agenda_page(agenda: Agenda, *, session_id: int, plan_url: str) -> str:
    """The same agenda inside the app's layout, printable from the browser."""
    return render_template(
        "handouts/agenda.html", agenda=agenda, session_id=session_id, plan_url=plan_url
    )


def agenda_pdf(agenda: Agenda) -> bytes:
    """The therapist's agenda as a PDF."""
    return pdf.render_pdf(agenda_html(agenda), paper=agenda.paper, stylesheets=[AGENDA_STYLESHEET])
