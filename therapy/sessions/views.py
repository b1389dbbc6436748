"""Session pages: create a session, build its plan, record notes afterwards."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from therapy import pagecache, timeutil
from therapy.couples.services import get_couple_or_404
from therapy.extensions import db
from therapy.handouts.services import prepare_session_handout
from therapy.library import services as library
from therapy.library.forms import LibrarySearchForm, practice_options
from therapy.models import Couple, Exercise, PlanTemplate, SessionStatus, TherapySession, utcnow
from therapy.models.library import VARIANT_LABELS
from therapy.parsing import parse_id, parse_int
from therapy.sessions import services
from therapy.sessions.forms import NewSessionForm, NotesForm, SessionForm, TemplateForm

bp = Blueprint("sessions", __name__)
PICKER_SIZE = 12
PICKER_ARGS = ("q", "practice", "minutes", "setting", "who")
STATUS_LABELS = {"draft": "Draft", "planned": "Planned", "held": "Held", "cancelled": "Cancelled"}


@bp.before_request
@login_required
def require_login() -> None:
    """Every session page is for signed-in therapists."""


def _status_choices(new: bool) -> list[Any]:
    statuses = ["planned", "draft"] if new else list(STATUS_LABELS)
    return [SelectChoice(s, STATUS_LABELS[s]) for s in statuses]


def _focus_choices() -> list[Any]:
    return [SelectChoice(p.id, p.name) for p in library.practices() if not p.is_situation]


def _my_templates() -> list[PlanTemplate]:
    """The signed-in therapist's saved plan templates, by name."""
    return list(
        db.session.scalars(
            select(PlanTemplate)
            .where(PlanTemplate.owner_id == current_user.id)
            .order_by(PlanTemplate.name)
        )
    )


def _starts_at(form: SessionForm) -> datetime | None:
    if form.date.data is None:
        return None
    wall = datetime.combine(form.date.data, form.time.data or datetime.min.time())
    return timeutil.from_local(wall)


@bp.route("/couples/<int:couple_id>/sessions/new", methods=["GET", "POST"])
def new(couple_id: int) -> str | Response:
    couple = get_couple_or_404(couple_id)
    form = NewSessionForm()
    if request.method == "GET":
        form.minutes.data = couple.default_session_minutes
        form.date.data, form.time.data = suggested_start(timeutil.to_local(utcnow()))
    form.status.choices = _status_choices(new=True)
    form.focus.choices = _focus_choices()
    templates = _my_templates()
    form.start_from.choices = [
        SelectChoice("blank", "An empty plan"),
        SelectChoice("previous", "The previous session's plan"),
    ] + [SelectChoice(f"template:{t.id}", f"Template: {t.name}") for t in templates]
    if form.validate_on_submit():
        focus = [p for p in library.practices() if p.id in (form.focus.data or [])]
        session = services.create_session(
            couple,
            starts_at=_starts_at(form),
            minutes=form.minutes.data,
            focus=focus,
            status=form.status.data or "planned",
        )
        added = _start_from(session, form.start_from.data or "blank")
        flash(
            f"Session {session.number} is created"
            + (f" with {added} exercises to start from." if added else "."),
            "success",
        )
        return redirect(url_for("sessions.builder", session_id=session.id))
    return render_template("sessions/new.html", form=form, couple=couple)


# New sessions are suggested within working hours, in the therapist's own zone.
DAY_STARTS, DAY_ENDS = 9, 18


def suggested_start(now: datetime) -> tuple[date, time]:
    """A week from `now` (local) at the next full hour: the usual rhythm, easy to change;
    before the working day its start, after it the next day's start."""
    soon = now + timedelta(days=7, hours=1)
    if soon.hour < DAY_STARTS:
        return soon.date(), time(DAY_STARTS)
    if soon.hour >= DAY_ENDS:
        return soon.date() + timedelta(days=1), time(DAY_STARTS)
    return soon.date(), time(soon.hour)


def _visible_exercises(ids: list[int]) -> dict[int, Exercise]:
    if not ids:
        return {}
    rows = db.session.scalars(select(Exercise).where(Exercise.id.in_(ids), library.visible_to_me()))
    return {exercise.id: exercise for exercise in rows}


def _start_from(session: TherapySession, source: str) -> int:
    specs: list[dict[str, Any]] = []
    if source == "previous":
        previous = services.previous_session(session)
        specs = services.plan_as_specs(previous) if previous else []
    elif source.startswith("template:") and (template_id := parse_id(source[9:])):
        template = db.session.scalar(
            select(PlanTemplate).where(
                PlanTemplate.id == template_id, PlanTemplate.owner_id == current_user.id
            )
        )
        specs = list(template.items) if template else []
    exercises = _visible_exercises([int(s["exercise_id"]) for s in specs if s.get("exercise_id")])
    return services.copy_plan(session, specs, exercises) if specs else 0


# --- the plan builder ----------------------------------------------------------------------


def _picker(session: TherapySession, couple: Couple, safety: Any, have: set[str]) -> dict[str, Any]:
    all_practices = library.practices()
    form = LibrarySearchForm(request.args)
    form.practice.choices = practice_options(all_practices, blank="All practices and situations")
    query = library.LibraryQuery(starred_first=True)
    if form.validate():
        query = library.LibraryQuery(
            text=form.q.data or "",
            practice=form.practice.data or "",
            max_minutes=parse_int(form.minutes.data, maximum=240),
            setting=form.setting.data or "",
            who=form.who.data or "",
            starred_first=True,
        )
    results = db.session.scalars(library.library_statement(query).limit(PICKER_SIZE)).all()
    suggested = services.suggestions(session, couple, safety=safety, have=have)
    shown = [e.id for e in results] + [s.exercise.id for s in suggested]
    return {
        "picker_form": form,
        "results": results,
        "suggested": suggested,
        "safety_state": safety,
        "stars": library.starred_ids(shown),
        "searching": bool(
            query.text or query.practice or query.max_minutes or query.setting or query.who
        ),
    }


def render_builder(
    session: TherapySession, *, status: int = 200, kept: bool = False, **extra: Any
) -> tuple[str, int]:
    """The plan builder. `kept`: a plain GET, whose content may come from this worker's
    kept parts (therapy/pagecache.py); a refused save's page, with what was typed, never.
    """

    def content() -> Markup:
        return _builder_content(session, **extra)

    if kept:
        key = (session.id, request.query_string)
        body = pagecache.part("plan", key, content, user=current_user)
    else:
        body = content()
    page = render_template(
        "sessions/builder.html",
        session=session,
        couple=session.couple,
        content=body,
        own_flash=True,
    )
    return page, status


def _builder_content(session: TherapySession, **extra: Any) -> Markup:
    couple = session.couple
    details = SessionForm(formdata=None, obj=session)
    details.status.choices = _status_choices(new=False)
    details.focus.choices = _focus_choices()
    details.focus.data = [p.id for p in session.focus]
    if session.starts_at:
        local = timeutil.to_local(session.starts_at)
        details.date.data, details.time.data = local.date(), local.time()
    templates = _my_templates()
    # After a refused save the items show in the order that page asked for.
    place = {item_id: n for n, item_id in enumerate(extra.pop("order", None) or [])}
    # After a failed check, the record of what the posting page showed travels on.
    details_shown = extra.pop("details_shown", None) or services.details_of(session).values()
    # What the couple's safety and earlier plans say, read once for the whole page.
    safety = services.safety_context(couple)
    have = services.done_keys(session)
    context = {
        "session": session,
        "plan_items": sorted(session.items, key=lambda item: place.get(item.id, len(place))),
        "shown": {item.id: services.shown_values(item) for item in session.items},
        "variant_labels": VARIANT_LABELS,
        "details_shown": details_shown,
        "couple": couple,
        "details": details,
        "templates": templates,
        "has_previous": services.has_previous_plan(session),
        "do_first": services.missing_prerequisites(session, have),
        "item_tags": services.item_tags,
        "item_warnings": services.plan_warnings(session, safety),
        "template_form": TemplateForm(formdata=None),
        "picker_query": "&".join(
            f"{key}={quote(value)}"
            for key, value in request.args.items(multi=True)
            if key in PICKER_ARGS
        )[:2000],
        **_picker(session, couple, safety, have),
        **extra,
    }
    return pagecache.rendered("sessions/_builder_content.html", **context)


def _back(session: TherapySession, moved: str = "", added: int | None = None) -> Response:
    """Back to the builder, keeping the picker's search (and where focus should land)."""
    # The picker's query string comes back from the form: rebuild it from its own
    # arguments, so nothing else (a line break, a header) reaches the Location.
    picker = parse_qsl(request.form.get("picker", "")[:2000])
    args = [(key, value) for key, value in picker if key in PICKER_ARGS]
    if moved:
        args.append(("moved", moved))
    if added:
        args.append(("added", str(added)))
    target = url_for("sessions.builder", session_id=session.id)
    return redirect(f"{target}?{urlencode(args)}" if args else target)


@bp.get("/sessions/<int:session_id>")
def builder(session_id: int) -> tuple[str, int]:
    # After Move up/down, keep keyboard focus on the same button of the moved exercise.
    item_raw, _, direction = request.args.get("moved", "").partition("-")
    moved = parse_id(item_raw)
    return render_builder(
        services.get_session_or_404(session_id, lazy=True),
        kept=True,
        moved=moved,
        move_dir=direction if direction in ("up", "down") else None,
        # After "Add", focus goes to the new exercise's minutes, not the top of the page.
        added=parse_id(request.args.get("added")),
    )


@bp.post("/sessions/<int:session_id>/plan")
def save_plan(session_id: int) -> Response | tuple[str, int]:
    session = services.get_session_or_404(session_id, for_update=True)
    try:
        change = services.parse_plan_form(request.form)
    except services.PlanError as error:
        return render_builder(session, status=422, plan_error=str(error))
    try:
        result = services.apply_plan_change(session, change)
    except services.PlanError as error:
        return render_builder(
            session,
            status=422,
            plan_error=str(error),
            typed=services.typed_view(session, change),
        )
    if result.errors or result.conflicts:
        return _plan_refused(session, change, result)
    prepare_session_handout(session.id)
    _flash_plan_saved(change, result)
    if change.move is not None and change.remove is None:
        item_id, position = change.move
        before = change.order.index(item_id) if item_id in change.order else position
        return _back(session, moved=f"{item_id}-{'up' if position < before else 'down'}")
    return _back(session)


def _plan_refused(
    session: TherapySession, change: services.PlanChange, result: services.PlanResult
) -> tuple[str, int]:
    """The builder again, nothing saved, with what was typed where it was typed."""
    typed = services.typed_view(session, change)
    db.session.rollback()
    if result.errors:
        return render_builder(
            session,
            status=422,
            item_errors=result.errors,
            typed=typed,
            plan_error="Some exercises need a fix; nothing was saved yet.",
        )
    return render_builder(
        session, status=409, typed=typed, conflicts=result.conflicts, order=result.order
    )


def _flash_plan_saved(change: services.PlanChange, result: services.PlanResult) -> None:
    """Say what happened, and no more than happened."""
    if result.others_kept:
        flash(
            "This plan was changed in another tab or window since you opened it. "
            + (
                "Your changes are saved, and the other changes are kept as well."
                if result.saved_mine
                else "You had nothing new to save; the plan is shown as it is saved now."
            ),
            "warning",
        )
    if result.removed_elsewhere:
        flash(
            f"{result.removed_elsewhere} exercise(s) you saw had been removed in another tab "
            "and stay removed.",
            "warning",
        )
    if change.remove is not None:
        flash("Removed from the plan.", "success")
    elif change.move is None and not result.others_kept:
        flash("The plan is saved.", "success")


@bp.post("/sessions/<int:session_id>/items")
def add_item(session_id: int) -> Response | tuple[str, int]:
    session = services.get_session_or_404(session_id, for_update=True)
    exercise_id = parse_id(request.form.get("exercise_id"))
    exercise = _visible_exercises([exercise_id]).get(exercise_id) if exercise_id else None
    if exercise is None or exercise.archived_at is not None:
        return render_builder(
            session,
            status=422,
            plan_error="That exercise is not in your library; nothing was added.",
        )
    couple = session.couple
    warning = services.safety_warning(couple, exercise)
    if warning is not None and request.form.get("confirm") != "yes":
        return render_builder(session, safety=warning, pending=exercise)
    try:
        item = services.add_item(session, exercise)
    except ValueError as error:
        return render_builder(session, status=422, plan_error=str(error))
    services.touch(session)
    db.session.commit()
    prepare_session_handout(session.id)
    flash(f"Added “{exercise.title}”.", "success")
    return _back(session, added=item.id)


@bp.post("/sessions/<int:session_id>/details")
def details(session_id: int) -> Response | tuple[str, int]:
    session = services.get_session_or_404(session_id, for_update=True)
    form = SessionForm()
    form.status.choices = _status_choices(new=False)
    form.focus.choices = _focus_choices()
    # What the page showed; a failed check shows the form again with the same record.
    shown = _details_shown(request.form)
    if not form.validate_on_submit():
        return render_builder(
            session, status=422, details_form=form, details_open=True, details_shown=shown
        )
    typed = services.Details(
        starts_at=_starts_at(form),
        minutes=form.minutes.data or session.minutes,
        status=form.status.data or session.status,
        focus=tuple(p for p in library.practices() if p.id in (form.focus.data or [])),
    )
    becomes_held = typed.status == SessionStatus.HELD.value != session.status
    future = _held_ahead(typed.starts_at) if becomes_held else None
    if future is not None:
        return render_builder(
            session, details_form=form, details_open=True, details_shown=shown, future=future
        )
    result = services.save_details(session, typed, shown)
    if result.conflicts:
        db.session.rollback()
        _show_saved_details(form, session, result.unchanged)
        return render_builder(
            session, status=409, details_form=form, details_open=True, conflicts=result.conflicts
        )
    prepare_session_handout(session.id)  # its date prints on the handout
    flash("The session details are saved.", "success")
    return _back(session)


def _details_shown(posted: Any) -> dict[str, str] | None:
    names = {name: f"details-{name}-was" for name in services.DETAIL_FIELDS}
    if not all(key in posted for key in names.values()):
        return None
    return {name: posted.get(key, "") for name, key in names.items()}


def _show_saved_details(form: SessionForm, session: TherapySession, unchanged: set[str]) -> None:
    """After a conflict, fields this page did not change show what is saved now."""
    if "when" in unchanged:
        local = timeutil.to_local(session.starts_at) if session.starts_at else None
        form.date.data, form.time.data = (local.date(), local.time()) if local else (None, None)
    if "minutes" in unchanged:
        form.minutes.data = session.minutes
    if "status" in unchanged:
        form.status.data = session.status
    if "focus" in unchanged:
        form.focus.data = [p.id for p in session.focus]


@bp.post("/sessions/<int:session_id>/start-from")
def start_from(session_id: int) -> Response:
    session = services.get_session_or_404(session_id, for_update=True)
    added = _start_from(session, request.form.get("source", ""))
    if added:
        prepare_session_handout(session.id)
        flash(f"Added {added} exercises.", "success")
    else:
        flash("There was nothing to add from there.", "info")
    return _back(session)


@bp.post("/sessions/<int:session_id>/template")
def save_template(session_id: int) -> Response | tuple[str, int]:
    session = services.get_session_or_404(session_id)
    form = TemplateForm()
    if not form.validate_on_submit():
        return render_builder(session, status=422, template_form=form)
    specs = services.plan_as_specs(session)
    if not specs:
        return render_builder(
            session, status=422, plan_error="Add exercises before saving the plan as a template."
        )
    name = (form.name.data or "").strip()
    template = db.session.scalar(
        select(PlanTemplate).where(
            PlanTemplate.owner_id == current_user.id, PlanTemplate.name == name
        )
    )
    if template is None:
        template = PlanTemplate(owner_id=current_user.id, name=name)
        db.session.add(template)
    template.items = specs
    db.session.commit()
    flash(f"Saved as the template “{name}”.", "success")
    return _back(session)


@bp.route("/sessions/<int:session_id>/notes", methods=["GET", "POST"])
def notes(session_id: int) -> str | Response | tuple[str, int]:
    writing = request.method == "POST"
    session = services.get_session_or_404(session_id, for_update=writing)
    form = NotesForm(obj=None if writing else session)
    if not writing:
        form.set_shown(session)
    conflicts: list[Any] = []
    future: datetime | None = None
    if form.validate_on_submit():
        held = request.form.get("action") == "held"
        future = _held_ahead(session.starts_at) if held else None
        # Marking held a session that has not happened yet is most likely a slip: ask
        # first and save nothing meanwhile (the typed notes are shown again, not lost).
        if future is None:
            result = services.save_notes(
                session, form.typed(), form.shown(), version=form.version.data or "", held=held
            )
            if not result.conflicts:
                if held:
                    prepare_session_handout(session.id)
                _flash_notes_saved(session, result, held=held)
                return redirect(url_for("sessions.notes", session_id=session.id))
            conflicts = result.conflicts
            form.show(result.show)
            form.set_shown(session)
    page = render_template(
        "sessions/notes.html",
        form=form,
        session=session,
        couple=session.couple,
        conflicts=conflicts,
        statuses=STATUS_LABELS,
        held=SessionStatus.HELD.value,
        future=future,
    )
    return (page, 409) if conflicts else page


def _held_ahead(starts_at: datetime | None) -> datetime | None:
    """The session's date when it is still to come and the form has not confirmed it."""
    if starts_at is None or starts_at <= utcnow() or request.form.get("confirm_future") == "yes":
        return None
    return starts_at


def _flash_notes_saved(
    session: TherapySession, result: services.NotesResult, *, held: bool
) -> None:
    if result.others_kept:
        flash(
            "These notes were changed in another tab or window since you opened them; "
            f"the other change to “{' and '.join(result.others_kept)}” is kept.",
            "warning",
        )
    if held:
        flash(
            f"Session {session.number} is marked held. Its homework is now the "
            "couple's until the next session.",
            "success",
        )
    else:
        flash("The notes are saved.", "success")
