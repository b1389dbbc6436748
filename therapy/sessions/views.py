"""Session pages: create a session, build its plan, record notes afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from therapy import timeutil
from therapy.couples.services import get_couple_or_404
from therapy.extensions import db
from therapy.library import services as library
from therapy.library.forms import LibrarySearchForm, practice_options
from therapy.models import Couple, Exercise, PlanTemplate, SessionStatus, TherapySession, utcnow
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
        # A week from now at the next full hour: the usual rhythm, easy to change.
        soon = timeutil.to_local(utcnow()) + timedelta(days=7, hours=1)
        form.date.data, form.time.data = (
            soon.date(),
            soon.time().replace(minute=0, second=0, microsecond=0),
        )
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


def _picker(session: TherapySession, couple: Couple) -> dict[str, Any]:
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
    suggested = services.suggestions(session, couple)
    shown = [e.id for e in results] + [s.exercise.id for s in suggested]
    return {
        "picker_form": form,
        "results": results,
        "suggested": suggested,
        "stars": library.starred_ids(shown),
        "searching": bool(
            query.text or query.practice or query.max_minutes or query.setting or query.who
        ),
    }


def render_builder(session: TherapySession, *, status: int = 200, **extra: Any) -> tuple[str, int]:
    couple = session.couple
    details = SessionForm(formdata=None, obj=session)
    details.status.choices = _status_choices(new=False)
    details.focus.choices = _focus_choices()
    details.focus.data = [p.id for p in session.focus]
    if session.starts_at:
        local = timeutil.to_local(session.starts_at)
        details.date.data, details.time.data = local.date(), local.time()
    templates = _my_templates()
    context = {
        "session": session,
        "couple": couple,
        "details": details,
        "templates": templates,
        "has_previous": services.has_previous_plan(session),
        "template_form": TemplateForm(formdata=None),
        "picker_query": "&".join(
            f"{key}={quote(value)}"
            for key, value in request.args.items(multi=True)
            if key in PICKER_ARGS
        )[:2000],
        "own_flash": True,
        **_picker(session, couple),
        **extra,
    }
    return render_template("sessions/builder.html", **context), status


def _back(session: TherapySession, moved: str = "") -> Response:
    """Back to the builder, keeping the picker's search (and where focus should land)."""
    # The picker's query string comes back from the form: rebuild it from its own
    # arguments, so nothing else (a line break, a header) reaches the Location.
    picker = parse_qsl(request.form.get("picker", "")[:2000])
    args = [(key, value) for key, value in picker if key in PICKER_ARGS]
    if moved:
        args.append(("moved", moved))
    target = url_for("sessions.builder", session_id=session.id)
    return redirect(f"{target}?{urlencode(args)}" if args else target)


@bp.get("/sessions/<int:session_id>")
def builder(session_id: int) -> tuple[str, int]:
    # After Move up/down, keep keyboard focus on the same button of the moved exercise.
    item_raw, _, direction = request.args.get("moved", "").partition("-")
    moved = parse_id(item_raw)
    return render_builder(
        services.get_session_or_404(session_id),
        moved=moved,
        move_dir=direction if direction in ("up", "down") else None,
    )


@bp.post("/sessions/<int:session_id>/plan")
def save_plan(session_id: int) -> Response | tuple[str, int]:
    session = services.get_session_or_404(session_id)
    try:
        change = services.parse_plan_form(request.form)
        result = services.apply_plan_change(session, change)
    except services.PlanError as error:
        db.session.rollback()
        return render_builder(session, status=422, plan_error=str(error))
    except StaleDataError:
        db.session.rollback()
        return render_builder(
            services.get_session_or_404(session_id),
            status=422,
            plan_error="Someone saved this plan at the same moment. "
            "Your changes were not saved; please make them again.",
        )
    if result.errors:
        db.session.rollback()
        return render_builder(
            session,
            status=422,
            item_errors=result.errors,
            typed=change.edits,
            plan_error="Some exercises need a fix; nothing was saved yet.",
        )
    if result.merged:
        flash(
            "This plan was changed in another tab or window. Both sets of changes are "
            "kept; check the order below.",
            "warning",
        )
    if result.dropped:
        flash(
            "An exercise you edited had been removed in another tab, so that edit was dropped.",
            "warning",
        )
    if change.remove is not None:
        flash("Removed from the plan.", "success")
    elif change.move is None:
        flash("The plan is saved.", "success")
    else:
        item_id, position = change.move
        before = change.order.index(item_id) if item_id in change.order else position
        return _back(session, moved=f"{item_id}-{'up' if position < before else 'down'}")
    return _back(session)


@bp.post("/sessions/<int:session_id>/items")
def add_item(session_id: int) -> Response | tuple[str, int]:
    session = services.get_session_or_404(session_id)
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
        services.add_item(session, exercise)
    except ValueError as error:
        return render_builder(session, status=422, plan_error=str(error))
    services.touch(session)
    db.session.commit()
    flash(f"Added “{exercise.title}”.", "success")
    return _back(session)


@bp.post("/sessions/<int:session_id>/details")
def details(session_id: int) -> Response | tuple[str, int]:
    session = services.get_session_or_404(session_id)
    form = SessionForm()
    form.status.choices = _status_choices(new=False)
    form.focus.choices = _focus_choices()
    if not form.validate_on_submit():
        return render_builder(session, status=422, details_form=form, details_open=True)
    session.starts_at = _starts_at(form)
    session.minutes = form.minutes.data or session.minutes
    session.status = form.status.data or session.status
    session.focus = [p for p in library.practices() if p.id in (form.focus.data or [])]
    services.touch(session)
    db.session.commit()
    flash("The session details are saved.", "success")
    return _back(session)


@bp.post("/sessions/<int:session_id>/start-from")
def start_from(session_id: int) -> Response:
    session = services.get_session_or_404(session_id)
    added = _start_from(session, request.form.get("source", ""))
    if added:
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
def notes(session_id: int) -> str | Response:
    session = services.get_session_or_404(session_id)
    couple = session.couple
    form = NotesForm(obj=session if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = str(session.version)
    stale = False
    if form.validate_on_submit():
        stale = form.version.data != str(session.version)
        if not stale:
            happened = (form.notes_happened.data or "").strip()
            follow_up = (form.notes_follow_up.data or "").strip()
            if request.form.get("action") == "held":
                services.mark_held(session, happened=happened, follow_up=follow_up)
                flash(
                    f"Session {session.number} is marked held. Its homework is now the "
                    "couple's until the next session.",
                    "success",
                )
            else:
                session.notes_happened, session.notes_follow_up = happened, follow_up
                services.touch(session)
                db.session.commit()
                flash("The notes are saved.", "success")
            return redirect(url_for("sessions.notes", session_id=session.id))
        form.version.data = str(session.version)
    return render_template(
        "sessions/notes.html",
        form=form,
        session=session,
        couple=couple,
        stale=stale,
        statuses=STATUS_LABELS,
        held=SessionStatus.HELD.value,
    )
