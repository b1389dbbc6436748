"""The library: browse, search, read, star, copy and edit exercises."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from therapy.extensions import db
from therapy.library import services
from therapy.library import steps as step_lines
from therapy.library.forms import ExerciseForm, LibrarySearchForm, practice_options
from therapy.models import Exercise, Practice
from therapy.models.library import VARIANT_LABELS
from therapy.pagination import page_number
from therapy.parsing import parse_int
from therapy.text import lines

bp = Blueprint("exercises", __name__, url_prefix="/exercises")
PER_PAGE = 24


@bp.before_request
@login_required
def require_login() -> None:
    """Every library page is for signed-in therapists."""


def _search_form(all_practices: list[Practice]) -> LibrarySearchForm:
    form = LibrarySearchForm(request.args)
    form.practice.choices = practice_options(all_practices, blank="All practices and situations")
    return form


@bp.get("/")
def index() -> str:
    all_practices = services.practices()
    form = _search_form(all_practices)
    query = services.LibraryQuery()
    if form.validate():
        query = services.LibraryQuery(
            text=form.q.data or "",
            practice=form.practice.data or "",
            max_minutes=parse_int(form.minutes.data, maximum=240),
            setting=form.setting.data or "",
            who=form.who.data or "",
            starred_only=bool(form.starred.data),
            archived=bool(form.archived.data),
        )
    page = db.paginate(
        services.library_statement(query),
        # Read here, not by Flask-SQLAlchemy: it takes any integer, and a page number near
        # 2**63 made an OFFSET past PostgreSQL's bigint (a 500, found by the route fuzz).
        page=page_number(request.args.get("page")),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    stars = services.starred_ids([exercise.id for exercise in page.items])
    current = next((p for p in all_practices if p.slug == query.practice), None)
    return render_template(
        "exercises/index.html",
        form=form,
        page=page,
        stars=stars,
        query=query,
        practices=all_practices,
        current_practice=current,
    )


@bp.get("/<int:exercise_id>")
def show(exercise_id: int) -> str:
    exercise = services.get_exercise_or_404(exercise_id)
    return render_template(
        "exercises/show.html",
        exercise=exercise,
        starred=services.is_starred(exercise),
        variant_labels=VARIANT_LABELS,
        do_first=services.prerequisites(exercise),
    )


@bp.post("/<int:exercise_id>/star")
def star(exercise_id: int) -> Response:
    exercise = services.get_exercise_or_404(exercise_id)
    starred = request.form.get("starred") == "1"
    services.set_star(exercise, starred)
    flash(f"“{exercise.title}” is {'starred' if starred else 'no longer starred'}.", "success")
    return redirect(_back_to(url_for("exercises.show", exercise_id=exercise.id)))


def _back_to(default: str) -> str:
    from therapy.auth.services import safe_next

    return safe_next(request.form.get("next")) or default


@bp.post("/<int:exercise_id>/copy")
def copy(exercise_id: int) -> Response:
    source = services.get_exercise_or_404(exercise_id)
    exercise = services.copy_exercise(source)
    flash(
        "This is your own copy. Change anything you like; the original stays as it was.", "success"
    )
    return redirect(url_for("exercises.edit", exercise_id=exercise.id))


def _form(exercise: Exercise | None = None) -> ExerciseForm:
    form = ExerciseForm()
    if exercise is not None and request.method == "GET":
        form = ExerciseForm(obj=exercise)
        form.steps.data = "\n".join(step_lines.to_lines(exercise.steps))
        form.prompts.data = "\n".join(exercise.prompts)
        form.cautions.data = "\n".join(exercise.cautions)
        form.apart_steps.data = "\n".join(step_lines.to_lines(exercise.apart_steps))
        form.aloud_steps.data = "\n".join(step_lines.to_lines(exercise.aloud_steps))
        form.video_steps.data = "\n".join(step_lines.to_lines(exercise.video_steps))
        for kind in ("control", "touch", "betrayal"):
            form[f"involves_{kind}"].data = kind in (exercise.sensitive or [])
        for entry, role in zip(form.roles, [*exercise.roles, {}, {}, {}], strict=False):
            entry.form.name.data = role.get("name", "")
            entry.form.does.data = role.get("does", "")
        form.version.data = str(exercise.version)
    form.practice_id.choices = practice_options(services.practices())
    return form


def _content(form: ExerciseForm) -> services.ExerciseContent:
    return services.ExerciseContent(
        practice_id=form.practice_id.data,
        title=form.title.data.strip(),
        summary=form.summary.data.strip(),
        why=form.why.data.strip(),
        timing=(form.timing.data or "").strip(),
        minutes=form.minutes.data,
        setting=form.setting.data,
        who=form.who.data,
        format=form.format.data,
        tracking=form.tracking.data,
        involves_conflict=bool(form.involves_conflict.data),
        involves_vulnerability=bool(form.involves_vulnerability.data),
        sensitive=form.risk_tags(),
        steps=step_lines.from_lines(lines(form.steps.data)),
        roles=form.roles_data(),
        stop_safely=(form.stop_safely.data or "").strip(),
        prompts=lines(form.prompts.data),
        cautions=lines(form.cautions.data),
        lineage=(form.lineage.data or "").strip(),
        apart_steps=step_lines.from_lines(lines(form.apart_steps.data)),
        aloud_steps=step_lines.from_lines(lines(form.aloud_steps.data)),
        video_steps=step_lines.from_lines(lines(form.video_steps.data)),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response:
    form = _form()
    if form.validate_on_submit():
        exercise = services.create_custom(_content(form))
        flash("Your exercise is saved. Only you can see it.", "success")
        return redirect(url_for("exercises.show", exercise_id=exercise.id))
    return render_template("exercises/form.html", form=form, exercise=None)


@bp.route("/<int:exercise_id>/edit", methods=["GET", "POST"])
def edit(exercise_id: int) -> str | Response:
    exercise = services.get_custom_exercise_or_404(exercise_id)
    form = _form(exercise)
    stale = False
    if form.validate_on_submit():
        stale = form.version.data != str(exercise.version)
        if not stale:
            try:
                services.update_custom(exercise, _content(form))
            except StaleDataError:
                db.session.rollback()
                stale = True
                exercise = services.get_custom_exercise_or_404(exercise_id)
            else:
                flash("Your changes are saved.", "success")
                return redirect(url_for("exercises.show", exercise_id=exercise.id))
        # Keep what was typed; the next save goes over the version now saved.
        form.version.data = str(exercise.version)
    return render_template("exercises/form.html", form=form, exercise=exercise, stale=stale)


@bp.post("/<int:exercise_id>/archive")
def archive(exercise_id: int) -> Response:
    exercise = services.get_custom_exercise_or_404(exercise_id)
    services.set_archived(exercise, True)
    flash(
        "Archived. It no longer shows in the library; find it under “My archived exercises”.",
        "success",
    )
    return redirect(url_for("exercises.show", exercise_id=exercise.id))


@bp.post("/<int:exercise_id>/restore")
def restore(exercise_id: int) -> Response:
    exercise = services.get_custom_exercise_or_404(exercise_id)
    if exercise.archived_at is None:
        abort(404)
    services.set_archived(exercise, False)
    flash("Restored to the library.", "success")
    return redirect(url_for("exercises.show", exercise_id=exercise.id))
