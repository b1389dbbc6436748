"""Handouts: built from sessions and exercises as plain data, rendered to HTML and PDF."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from flask import copy_current_request_context, current_app, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from therapy import pdf, timeutil
from therapy.couples.access import Need, couple_access, works_with
from therapy.extensions import db
from therapy.handouts.data import (
    TRACKING_CHOICES,
    CheckInLink,
    Handout,
    HandoutItem,
    Paper,
    Role,
)
from therapy.library import catalog, steps
from therapy.models import Couple, Exercise, PracticeKind, SessionStatus, TherapySession, User
from therapy.pdf import fonts
from therapy.safety.services import help_now
from therapy.sessions.services import get_session_or_404, snapshot_of

STYLESHEET = "css/handout.css"
# Each partner's check-in link on a page of its own (shared with the link card).
LINK_STYLESHEET = "css/printed_link.css"
TRACKED_DAYS = 7

# A "word" longer than this gets invisible break opportunities (U+200B). WeasyPrint
# breaks an overlong word in time quadratic in its length (20,000 characters: 10 s);
# with break points every 30 characters it stays linear (0.8 s).
LONG_WORD = re.compile(r"\S{31,}")
ZERO_WIDTH_SPACE = "\u200b"
# The tracking grid's name column holds about 18 Latin letters (9 wide CJK ones).
GRID_NAME_WIDTH = 18
T = TypeVar("T")


@dataclass(frozen=True)
class TrackingDay:
    label: str  # "Wed 3", or "Day 3" on a handout without a date


def format_day(value: date | None) -> str:
    """'Tuesday 2 December 2025': spelled out, so no reader mixes up day and month."""
    if value is None:
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}"


def tracking_days(session_date: date | None) -> list[TrackingDay]:
    """The seven days after the session, for the tick grid; numbered when there is no date."""
    if session_date is None:
        return [TrackingDay(f"Day {offset}") for offset in range(1, TRACKED_DAYS + 1)]
    days = (session_date + timedelta(days=offset) for offset in range(1, TRACKED_DAYS + 1))
    return [TrackingDay(f"{day:%a} {day.day}") for day in days]


def grid_name(name: str) -> str:
    """A first name cut to fit the tracking grid's name column (wide letters count twice)."""
    used = 0
    for index, char in enumerate(name):
        used += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > GRID_NAME_WIDTH:
            return name[: max(index - 1, 1)] + "…"
    return name


def soften(text: str) -> str:
    """`text` with a break opportunity every 30 characters inside overlong words."""
    return LONG_WORD.sub(
        lambda word: ZERO_WIDTH_SPACE.join(
            word[0][start : start + 30] for start in range(0, len(word[0]), 30)
        ),
        text,
    )


def softened(value: T) -> T:
    """A copy of the plain data with every text softened (check-in URLs stay exact)."""
    result: Any = value
    if isinstance(value, str):
        result = soften(value)
    elif isinstance(value, tuple | list):
        result = type(value)(softened(item) for item in value)
    elif is_dataclass(value) and not isinstance(value, type | CheckInLink):
        changes = {field.name: softened(getattr(value, field.name)) for field in fields(value)}
        result = replace(value, **changes)
    return result


def context(handout: Handout) -> dict[str, object]:
    """What the handout templates receive: the plain data and a few derived strings."""
    return {
        "handout": softened(handout),
        "session_day": format_day(handout.session_date),
        "next_session_day": format_day(handout.next_session_date),
        "tracking_days": tracking_days(handout.session_date),
        "grid_names": [grid_name(handout.partner_a), grid_name(handout.partner_b)],
    }


def handout_html(handout: Handout) -> str:
    """The standalone HTML document the PDF is made from."""
    return render_template("handouts/handout.html", **context(handout))


def preview_html(handout: Handout, *, session_id: int | None = None, plan_url: str = "") -> str:
    """The same handout inside the app's page layout (needs a request context), with a
    warning when a name has characters no installed font prints."""
    names = (handout.partner_a, handout.partner_b, handout.therapist_name)
    return render_template(
        "handouts/preview.html",
        session_id=session_id,
        plan_url=plan_url,
        missing_fonts=fonts.missing_fonts(names),
        **context(handout),
    )


def handout_pdf(handout: Handout) -> bytes:
    """The couple's handout as a PDF; one with check-in links carries live tokens, so it
    is never cached (in this process or in Redis)."""
    if handout.check_in_links:
        return pdf.render_pdf(
            handout_html(handout),
            paper=handout.paper,
            stylesheets=[STYLESHEET, LINK_STYLESHEET],
            cache=False,
        )
    return pdf.render_pdf(handout_html(handout), paper=handout.paper, stylesheets=[STYLESHEET])


def prepare_handout_pdf(handout: Handout) -> threading.Thread:
    """Render the handout's PDF in the background: Print right after is a cache hit."""
    return pdf.render_pdf_later(
        handout_html(handout), paper=handout.paper, stylesheets=[STYLESHEET]
    )


AHEAD_THREAD = "tandem-handout-ahead"


def prepare_session_handout(session_id: int) -> threading.Thread | None:
    """After a plan is saved or a session marked held: make the session's handout PDF in
    the background, so Print is a cache hit. Nothing of it delays the response.

    The thread loads the session afresh (scoped to the signed-in therapist, in a copy of
    this request's context) once the plan is committed. It makes the plain handout only:
    one with check-in links carries live tokens and is never cached, so never made ahead.
    """
    if not current_app.config["PDF_RENDER_AHEAD"]:
        return None

    @copy_current_request_context
    def prepare() -> None:
        try:
            handout = handout_for_session(get_session_or_404(session_id), current_user)
            if handout.items:
                handout_pdf(handout)
        except Exception:  # Print renders again and says what went wrong
            logging.getLogger(__name__).info("Making a handout ahead failed", exc_info=True)

    thread = threading.Thread(target=prepare, name=AHEAD_THREAD, daemon=True)
    thread.start()
    return thread


def handouts_pdf(handouts: Sequence[Handout], paper: str | None = None) -> bytes:
    """Several handouts in one PDF ("this week's handouts"), each with its own page numbers.

    One paper size for the whole print run: `paper`, else the first handout's.
    """
    if not handouts:
        raise ValueError("no handouts to print")
    documents = [handout_html(handout) for handout in handouts]
    config = current_app.config
    return pdf.render_pdf(
        documents,
        paper=paper or handouts[0].paper,
        stylesheets=[STYLESHEET],
        max_pages=min(config["PDF_BATCH_MAX_PAGES"], config["PDF_MAX_PAGES"] * len(handouts)),
    )


# --- from the database to plain data ----------------------------------------------------


def snapshot_text(snapshot: Mapping[str, Any], key: str) -> str:
    """A text field of a plan item's snapshot ('' when missing or not text)."""
    value = snapshot.get(key)
    return value if isinstance(value, str) else ""


def snapshot_texts(snapshot: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """A list field of a snapshot (steps, prompts, cautions) as a tuple of texts."""
    values = snapshot.get(key)
    if not isinstance(values, list | tuple):
        return ()
    return tuple(value for value in values if isinstance(value, str))


def chosen_steps(snapshot: Mapping[str, Any], variant: str = "") -> Any:
    """The steps that print: the chosen variant's, else the usual ones (as stored: the
    caller keeps the couple's and scales their timings)."""
    variants = snapshot.get("variants")
    if variant and isinstance(variants, Mapping):
        chosen = variants.get(variant)
        if isinstance(chosen, list) and chosen:
            return chosen
    return snapshot.get("steps")


# A shared handout never names the situation an exercise comes from ("One partner is not
# open to it" labels one partner to the other): this heading stands in for it.
SITUATION_HEADING = "For the two of you"


def is_situation(snapshot: Mapping[str, Any]) -> bool:
    """Whether a plan item's exercise comes from a situation rather than a practice
    (snapshots from before the kind was kept are looked up by the practice's slug)."""
    kind = snapshot.get("practice_kind")
    if isinstance(kind, str):
        return kind == PracticeKind.SITUATION.value
    slug = snapshot_text(snapshot, "practice_slug")
    return slug in {p.slug for p in catalog.load() if p.kind == PracticeKind.SITUATION.value}


PAUSE_PLAN = "conflict-pause-plan"
PAUSE_NOTE = (
    "Your pause word is the word or sign you chose together in your pause plan. "
    "Either of you can say it to stop, take a break apart, and come back when calm."
)


def requires_of(snapshot: Mapping[str, Any]) -> tuple[str, ...]:
    """The exercise's prerequisites as planned; older snapshots ask the library data."""
    if "requires" in snapshot:
        return snapshot_texts(snapshot, "requires")
    key = snapshot.get("key")
    from therapy.library import catalog

    found = next((e for p in catalog.load() for e in p.exercises if e.key == key), None)
    return found.requires if found is not None else ()


def item_from_snapshot(
    snapshot: Mapping[str, Any],
    *,
    note: str = "",
    minutes: int | None = None,
    variant: str = "",
    days: int | None = None,
) -> HandoutItem:
    """One homework exercise as printed: the snapshot's text (with the chosen version of
    the steps), never its cautions, lineage nor a therapist step; timings follow the
    plan's minutes; a situation's name never shows."""
    tracking = snapshot_text(snapshot, "tracking")
    roles = snapshot.get("roles")
    planned = snapshot.get("minutes")
    own = planned if isinstance(planned, int) else None
    shown = minutes if minutes is not None else own
    situation = is_situation(snapshot)
    return HandoutItem(
        title=snapshot_text(snapshot, "title"),
        practice_name=SITUATION_HEADING if situation else snapshot_text(snapshot, "practice_name"),
        practice_idea="" if situation else snapshot_text(snapshot, "practice_idea"),
        summary=snapshot_text(snapshot, "summary"),
        why=snapshot_text(snapshot, "why"),
        steps=steps.scaled_all(steps.couple_steps(chosen_steps(snapshot, variant)), shown, own),
        roles=tuple(
            Role(str(role.get("name", "")), steps.scaled(str(role.get("does", "")), shown, own))
            for role in (roles if isinstance(roles, list) else [])
            if isinstance(role, Mapping)
        ),
        note=note,
        tracking=tracking if tracking in TRACKING_CHOICES else "none",  # type: ignore[arg-type]
        prompts=snapshot_texts(snapshot, "prompts"),
        minutes=shown,
        when=steps.scaled(snapshot_text(snapshot, "timing"), shown, own),
        stop_safely=snapshot_text(snapshot, "stop_safely"),
        format=snapshot_text(snapshot, "format"),
        who=snapshot_text(snapshot, "who"),
        days=days,
        # Structured: the exercise requires the pause plan, so it uses the pause word.
        pause_note=PAUSE_NOTE if PAUSE_PLAN in requires_of(snapshot) else "",
    )


def local_date(moment: datetime | None) -> date | None:
    """The calendar day of a UTC moment in the therapist's time zone."""
    return timeutil.to_local(moment).date() if moment is not None else None


def next_session_dates(sessions: Iterable[TherapySession]) -> dict[int, date | None]:
    """For each session, the date of the couple's next non-cancelled session after it.

    After it means later in time; for a session not scheduled yet, the earliest scheduled
    session with a higher number. One query for any number of sessions.
    """
    sessions = list(sessions)
    couple_ids = {session.couple_id for session in sessions}
    if not couple_ids:
        return {}
    rows = db.session.execute(
        select(TherapySession.couple_id, TherapySession.number, TherapySession.starts_at)
        .where(
            TherapySession.couple_id.in_(couple_ids),
            TherapySession.status != SessionStatus.CANCELLED.value,
            TherapySession.starts_at.is_not(None),
        )
        .order_by(TherapySession.starts_at)
    ).all()
    found: dict[int, date | None] = {}
    for session in sessions:
        later: list[datetime] = []
        for couple_id, number, starts_at in rows:
            if couple_id != session.couple_id or number == session.number or starts_at is None:
                continue
            after = (
                starts_at > session.starts_at
                if session.starts_at is not None
                else number > session.number
            )
            if after:
                later.append(starts_at)
        found[session.id] = local_date(min(later, default=None))
    return found


def paper_of(therapist: User) -> Paper:
    """The therapist's handout paper (A4 unless they chose US Letter)."""
    return "Letter" if therapist.paper_size == "Letter" else "A4"


def _first_names(couple: Couple) -> tuple[str, str]:
    a, b = couple.partner_a, couple.partner_b
    return (a.first_name if a else ""), (b.first_name if b else "")


def _session_handout(
    session: TherapySession, therapist: User, next_session_date: date | None
) -> Handout:
    partner_a, partner_b = _first_names(session.couple)
    return Handout(
        partner_a=partner_a,
        partner_b=partner_b,
        session_date=local_date(session.starts_at),
        next_session_date=next_session_date,
        therapist_name=therapist.display_name,
        items=tuple(
            item_from_snapshot(
                item.snapshot,
                note=item.note or "",
                minutes=item.minutes,
                variant=item.variant,
                days=item.days_per_week,
            )
            for item in session.homework
        ),
        paper=paper_of(therapist),
        help_now=help_now(),
    )


def handout_for_session(session: TherapySession, therapist: User) -> Handout:
    """The couple's handout for a session: its homework in plan order, from the snapshots.

    A session not scheduled yet prints a line for the date. Check-in links are left for
    the check-in feature to fill in.
    """
    return _session_handout(session, therapist, next_session_dates([session])[session.id])


def handout_for_exercise(exercise: Exercise, therapist: User) -> Handout:
    """One library exercise as a generic handout: lines for names and dates, no note."""
    return Handout(
        partner_a="",
        partner_b="",
        session_date=None,
        therapist_name=therapist.display_name,
        items=(item_from_snapshot(snapshot_of(exercise)),),
        paper=paper_of(therapist),
        help_now=help_now(),
    )


# --- this week's handouts ---------------------------------------------------------------

MAX_WEEK_DAYS = 31


@dataclass(frozen=True)
class WeekSession:
    """A session in the chosen days, as the form page lists it."""

    session_id: int
    couple_label: str
    number: int
    starts_at: datetime
    homework: int  # how many homework exercises


@dataclass
class Week:
    """The therapist's sessions in a date range: those with homework print, in date order."""

    first: date
    last: date
    printed: list[WeekSession] = field(default_factory=list)
    skipped: list[WeekSession] = field(default_factory=list)
    handouts: list[Handout] = field(default_factory=list)


def _start_of(day: date) -> datetime:
    return timeutil.from_local(datetime.combine(day, time.min))


def week(therapist: User, first: date, last: date) -> Week:
    """Every non-cancelled session from `first` to `last` of the therapist's own couples
    and those they are co-therapist for (each shared couple is checked and its access
    audited as when it is opened).

    A fixed number of queries: the sessions with couples, partners and plans, and the next
    session dates; and one for each shared couple.
    """
    sessions = list(
        db.session.scalars(
            select(TherapySession)
            .join(Couple, Couple.id == TherapySession.couple_id)
            .where(
                works_with(therapist.id),
                TherapySession.status != SessionStatus.CANCELLED.value,
                TherapySession.starts_at >= _start_of(first),
                TherapySession.starts_at < _start_of(last + timedelta(days=1)),
            )
            .order_by(TherapySession.starts_at, TherapySession.id)
            .options(selectinload(TherapySession.couple).selectinload(Couple.partners))
        )
    )
    for couple_id in sorted({s.couple_id for s in sessions if s.couple.owner_id != therapist.id}):
        couple_access(couple_id, Need.READ, page=False)
    result = Week(first, last)
    with_homework = [session for session in sessions if session.homework]
    next_dates = next_session_dates(with_homework)
    for session in sessions:
        row = WeekSession(
            session.id,
            session.couple.label,
            session.number,
            session.starts_at or _start_of(first),  # always set: the query asked for dates
            len(session.homework),
        )
        if session.homework:
            result.printed.append(row)
            result.handouts.append(_session_handout(session, therapist, next_dates[session.id]))
        else:
            result.skipped.append(row)
    return result
