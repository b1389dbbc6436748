"""The caseload, a couple's profile, and adding, editing, archiving and restoring couples."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from therapy import audit, pagecache, timeutil
from therapy.admin import services as reassignments
from therapy.couples import access, services, sharing
from therapy.couples.access import Need
from therapy.couples.forms import (
    CaseloadFilterForm,
    CoupleForm,
    DeleteCoupleForm,
    EditCoupleForm,
    ExportForm,
    ShareForm,
)
from therapy.extensions import db
from therapy.models import Couple, User
from therapy.pagination import page_number
from therapy.parsing import parse_id
from therapy.safety import services as safety

bp = Blueprint("couples", __name__, url_prefix="/couples")


@bp.app_context_processor
def couple_labels() -> dict[str, object]:
    # `couple_access`: the signed-in therapist's standing with this page's couple (owner,
    # co-therapist or supervisor), read from the database by this very request.
    return {"couple_status_labels": services.STATUS_LABELS, "couple_access": access.current()}


bp.after_app_request(access.write_shared_audit)


@bp.get("")
@login_required
def index() -> str:
    archived = request.args.get("archived") == "1"
    # The whole list, made again only when the data changed, the minute turned, or other
    # filters are asked for (therapy/pagecache.py).
    content = pagecache.part(
        "caseload", (request.query_string,), _caseload_content, user=current_user
    )
    return render_template(
        "couples/index.html",
        content=content,
        heading="Archived couples" if archived else "Couples",
    )


def _caseload_content() -> Markup:
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
    return pagecache.rendered(
        "couples/_caseload.html",
        form=form,
        query=query,
        page=page,
        shared=sharing.shared_with(current_user, query),
        role_labels=access.ROLE_LABELS,
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
    content = pagecache.part(
        "couple", (couple.id,), lambda: _profile_content(couple), user=current_user
    )
    page = render_template("couples/profile.html", couple=couple, content=content)
    # Every visit is in the audit trail, whether the content was kept or not. (After the
    # page: the commit expires the couple, which the page would then load again.)
    pagecache.note_view(couple.id)  # the dashboard's "Recently viewed" is made again
    services.record_view(couple)
    return page


def _profile_content(couple: Couple) -> Markup:
    return pagecache.rendered(
        "couples/_profile_content.html",
        couple=couple,
        timeline=services.timeline(couple),
        reassigned=reassignments.reassignment_notice(couple, current_user),
        status_labels=services.STATUS_LABELS,
        living_labels=services.LIVING_LABELS,
        export_form=ExportForm(formdata=None),
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


# --- sharing ---------------------------------------------------------------------------


def _share_form(couple_id: int) -> ShareForm:
    form = ShareForm()
    couple = services.get_couple_or_404(couple_id, Need.OWN)
    form.user_id.choices = [
        SelectChoice(user.id, f"{user.display_name} ({user.email})")
        for user in sharing.share_choices(couple)
    ]
    return form


def _sharing_page(couple_id: int, form: ShareForm, status: int = 200) -> tuple[str, int]:
    couple = services.get_couple_or_404(couple_id, Need.OWN)
    page = render_template(
        "couples/sharing.html",
        couple=couple,
        form=form,
        shares=sharing.shares_of(couple),
        role_labels=access.ROLE_LABELS,
    )
    return page, status


@bp.get("/<int:couple_id>/sharing")
@login_required
def sharing_page(couple_id: int) -> tuple[str, int]:
    return _sharing_page(couple_id, _share_form(couple_id))


@bp.post("/<int:couple_id>/sharing")
@login_required
def share(couple_id: int) -> Response | tuple[str, int]:
    couple = services.get_couple_or_404(couple_id, Need.OWN)
    form = _share_form(couple_id)
    if form.validate_on_submit():
        try:
            _, user = sharing.share_couple(
                couple,
                form.user_id.data or 0,
                form.role.data or "",
                private_answers=bool(form.private_answers.data),
                by=current_user._get_current_object(),
            )
        except sharing.ShareRefused as refused:
            form.user_id.errors = [str(refused)]
        else:
            flash(f"{couple.label} is shared with {user.display_name}.", "success")
            return redirect(url_for("couples.sharing_page", couple_id=couple.id))
    return _sharing_page(couple_id, form, 422)


@bp.post("/<int:couple_id>/sharing/revoke")
@login_required
def revoke_share(couple_id: int) -> Response:
    couple = services.get_couple_or_404(couple_id, Need.OWN)
    share_id = parse_id(request.form.get("share_id")) or 0
    user = sharing.revoke_share(couple, share_id, by=current_user._get_current_object())
    if user is not None:
        flash(f"{user.display_name} can no longer open {couple.label}.", "success")
    return redirect(url_for("couples.sharing_page", couple_id=couple.id))


# --- records requests and deleting ----------------------------------------------------


@bp.post("/<int:couple_id>/export")
@login_required
def export(couple_id: int) -> Response | tuple[str, int]:
    """The couple's complete record as a ZIP download (a records request)."""
    from therapy.records import export as records

    couple = services.get_couple_or_404(couple_id, Need.EDIT)
    form = ExportForm()
    if not form.validate_on_submit():
        flash("Choose which private answers to leave out, then try again.", "error")
        return redirect(url_for("couples.profile", couple_id=couple.id))
    leave_out = form.leave_out.data or None
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    records.write_zip(
        couple,
        spool,
        therapist=db.session.get(User, couple.owner_id) or current_user._get_current_object(),
        leave_out_private_of=leave_out,
    )
    audit.record(
        "couple.export" if leave_out is None else f"couple.export.without_{leave_out}",
        record_type="couple",
        record_id=couple.id,
    )
    db.session.commit()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            while block := spool.read(64 * 1024):
                yield block
        finally:
            spool.close()

    response = Response(chunks(), mimetype="application/zip")
    response.call_on_close(spool.close)
    response.headers["Content-Disposition"] = f'attachment; filename="{records.zip_name(couple)}"'
    return response


@bp.route("/<int:couple_id>/delete", methods=["GET", "POST"])
@login_required
def delete(couple_id: int) -> str | Response | tuple[str, int]:
    """Delete an archived couple for good, after the label is typed again."""
    from therapy.records.delete import DeleteRefused, delete_couple

    couple = services.get_couple_or_404(couple_id, Need.OWN)
    if not couple.is_archived:
        flash("Archive this couple first; only archived couples can be deleted.", "info")
        return redirect(url_for("couples.profile", couple_id=couple.id))
    form = DeleteCoupleForm()
    if form.validate_on_submit():
        label = couple.label
        try:
            delete_couple(
                couple, typed=form.confirm.data or "", actor=current_user._get_current_object()
            )
        except DeleteRefused as refused:
            form.confirm.errors = [str(refused)]
        else:
            flash(f"{label} and everything recorded about them is deleted.", "success")
            return redirect(url_for("couples.index", archived=1))
    status = 422 if form.is_submitted() else 200
    return render_template("couples/delete.html", couple=couple, form=form), status
