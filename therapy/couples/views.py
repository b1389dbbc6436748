"""The caseload, a couple's profile, and adding, editing, archiving and restoring couples."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from therapy import timeutil
from therapy.admin import services as reassignments
from therapy.couples import services
from therapy.couples.forms import CaseloadFilterForm, CoupleForm, EditCoupleForm
from therapy.models import Couple
from therapy.pagination import page_number
from therapy.parsing import parse_id
from therapy.safety import services as safety

bp = Blueprint("couples", __name__, url_prefix="/couples")


@bp.app_context_processor
def couple_labels() -> dict[str, object]:
    return {"couple_status_labels": services.STATUS_LABELS}


@bp.get("")
@login_required
def index() -> str:
    tags = services.owner_tags(current_user)
    form = CaseloadFilterForm(formdata=request.args)
    form.tag.choices = [SelectChoice("", "Any tag")] + [
        SelectChoice(str(tag.id), tag.name) for tag in tags
    ]
    form.validate()

    def value(field: str, default: str = "") -> str:
        # A filter that does not validate (an unknown tag, a made-up sort) is left out.
        bound = form[field]
        return default if bound.errors else (bound.data or default)

    query = services.CaseloadQuery(
        text=value("q"),
        status=value("status"),
        tag_id=parse_id(value("tag")),
        archived=request.args.get("archived") == "1",
        sort=value("sort", "label"),
        page=page_number(request.args.get("page")),
    )
    page = services.caseload(current_user, query)
    return render_template(
        "couples/index.html",
        form=form,
        query=query,
        page=page,
        sorts=services.SORTS,
        status_labels=services.STATUS_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response:
    form = CoupleForm()
    if form.validate_on_submit():
        couple = services.create_couple(current_user, form.to_data())
        flash(f"{couple.label} is in your caseload now.", "success")
        return redirect(url_for("couples.profile", couple_id=couple.id))
    if not form.is_submitted():
        form.started_on.data = timeutil.local_today()
    form.add_blank_goal_rows()
    return render_template("couples/new.html", form=form)


@bp.get("/<int:couple_id>")
@login_required
def profile(couple_id: int) -> str:
    couple = services.get_couple_or_404(couple_id)
    services.record_view(couple)
    return render_template(
        "couples/profile.html",
        couple=couple,
        timeline=services.timeline(couple),
        reassigned=reassignments.reassignment_notice(couple, current_user),
        status_labels=services.STATUS_LABELS,
        living_labels=services.LIVING_LABELS,
        safety=safety.couple_safety(couple),
        question=safety.SAFETY_QUESTION,
    )


@bp.route("/<int:couple_id>/edit", methods=["GET", "POST"])
@login_required
def edit(couple_id: int) -> str | Response | tuple[str, int]:
    couple = services.get_couple_or_404(couple_id)
    if couple.is_archived:
        flash("This couple is archived. Restore them to edit their record.", "info")
        return redirect(url_for("couples.profile", couple_id=couple.id))
    if request.method == "POST":
        form = EditCoupleForm()
    else:
        form = EditCoupleForm.from_data(services.data_from_couple(couple))
        form.set_version(couple.version)
    if form.validate_on_submit():
        try:
            services.update_couple(couple, form.to_data(), expected_version=form.version.data or "")
        except services.EditConflict:
            return conflict(couple, form)
        flash(f"Saved the changes to {couple.label}.", "success")
        return redirect(url_for("couples.profile", couple_id=couple.id))
    form.add_blank_goal_rows()
    return render_template("couples/edit.html", form=form, couple=couple)


def conflict(couple: Couple, form: EditCoupleForm) -> tuple[str, int]:
    """Both versions side by side, and the typed one ready to save over the current one."""
    rows = services.compare(services.data_from_couple(couple), form.to_data())
    form.set_version(couple.version)
    form.add_blank_goal_rows()
    page = render_template("couples/conflict.html", couple=couple, form=form, rows=rows)
    return page, 409


@bp.post("/<int:couple_id>/archive")
@login_required
def archive(couple_id: int) -> Response:
    couple = services.get_couple_or_404(couple_id)
    try:
        changed = services.archive_couple(couple)
    except services.EditConflict:
        flash("This record changed a moment ago. Check it, then archive it again.", "warning")
        return redirect(url_for("couples.profile", couple_id=couple.id))
    if changed:
        flash(f"{couple.label} is archived. Find them under Archived to restore them.", "success")
    return redirect(url_for("couples.index"))


@bp.post("/<int:couple_id>/restore")
@login_required
def restore(couple_id: int) -> Response:
    couple = services.get_couple_or_404(couple_id)
    try:
        changed = services.restore_couple(couple)
    except services.EditConflict:
        flash("This record changed a moment ago. Check it, then restore it again.", "warning")
        return redirect(url_for("couples.profile", couple_id=couple.id))
    if changed:
        flash(f"{couple.label} is back in your caseload.", "success")
    return redirect(url_for("couples.profile", couple_id=couple.id))
