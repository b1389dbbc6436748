"""Administration pages: therapist accounts, couples by therapist, the audit log.

Every URL here is a 404 for anyone but an administrator, as if it did not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from therapy.admin import services
from therapy.admin.forms import AuditFilterForm, NewTherapistForm, ReassignForm
from therapy.auth import factors, resets
from therapy.auth import services as accounts
from therapy.auth.factor_forms import RequireSecondFactorForm
from therapy.extensions import login_manager
from therapy.pagination import page_number
from therapy.parsing import parse_id

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def administrators_only() -> Response | None:
    if not current_user.is_authenticated:
        response: Response = login_manager.unauthorized()
        return response
    if not current_user.is_admin:
        abort(404)
    return None


def _therapists_page(form: NewTherapistForm) -> str:
    required = factors.second_factor_required()
    return render_template(
        "admin/therapists.html",
        rows=services.therapists(),
        form=form,
        factor_counts=factors.factor_counts(),
        second_factor_required=required,
        require_form=RequireSecondFactorForm(formdata=None, require=required),
    )


@bp.get("/therapists")
def therapists() -> str:
    form = NewTherapistForm()
    # The administrator's own zone until the browser fills in its own.
    form.timezone.data = current_user.timezone
    return _therapists_page(form)


@bp.post("/therapists")
def create_therapist() -> str | Response:
    form = NewTherapistForm()
    form.timezone.render_kw = {}  # shown again after a mistake: keep the zone as chosen
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data or "",
                form.display_name.data or "",
                form.password.data or "",
                timezone=form.timezone.data or "",
            )
        except accounts.AccountExists:
            form.email.errors = ["An account with this email already exists."]
        else:
            flash(f"Created an account for {user.display_name}.", "success")
            return redirect(url_for("admin.therapists"))
    return _therapists_page(form)


def _set_active(user_id: int, active: bool) -> Response:
    user = services.get_user(user_id)
    if user is None:
        abort(404)
    if user.id == current_user.id:
        flash("You cannot deactivate your own account here.", "error")
    elif user.active != active:
        accounts.set_active(user, active)
        if active:
            flash(f"{user.display_name} can sign in again.", "success")
        else:
            flash(f"{user.display_name} is deactivated and signed out everywhere.", "success")
    return redirect(url_for("admin.therapists"))


@bp.post("/therapists/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Response:
    return _set_active(user_id, False)


@bp.post("/therapists/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Response:
    return _set_active(user_id, True)


@bp.post("/practice/second-factor")
def require_second_factor() -> Response:
    form = RequireSecondFactorForm()
    if form.validate_on_submit():
        required = bool(form.require.data)
        if required != factors.second_factor_required():
            factors.set_second_factor_required(required, current_user._get_current_object())
        flash(
            "Everyone now needs a second factor. Those without one set it up at their next sign-in."
            if required
            else "A second factor is now each person's choice.",
            "success",
        )
    return redirect(url_for("admin.therapists"))


@bp.post("/therapists/<int:user_id>/factors/remove")
def remove_factors(user_id: int) -> Response:
    """For someone who lost their phone and recovery codes (audited)."""
    user = services.get_user(user_id)
    if user is None:
        abort(404)
    factors.remove_all_factors(user, current_user._get_current_object())
    then = (
        "They set up a new one at their next sign-in."
        if factors.second_factor_required()
        else "They can sign in with their password alone."
    )
    flash(f"{user.display_name}'s second factors are removed. {then}", "success")
    return redirect(url_for("admin.therapists"))


@bp.post("/therapists/<int:user_id>/reset-link")
def reset_link(user_id: int) -> str:
    """A one-time password reset link, shown this once, to hand over in person or by phone."""
    user = services.get_user(user_id)
    if user is None or not user.active:
        abort(404)
    link = resets.issue_by_admin(user, current_user._get_current_object())
    minutes = int(resets.LIFETIME.total_seconds() // 60)
    return render_template("admin/reset_link.html", user=user, link=link, minutes=minutes)


@bp.get("/couples")
def couples() -> str:
    owner_id = parse_id(request.args.get("owner"))
    page = services.practice_couples(owner_id=owner_id, page=page_number(request.args.get("page")))
    return render_template(
        "admin/couples.html",
        page=page,
        owner=services.get_user(owner_id) if owner_id else None,
    )


def _back(raw: str | None) -> str:
    """Where to return after reassigning: a couples list of this section, else the list."""
    raw = raw or ""
    target = accounts.safe_next(raw) if raw.startswith("/admin/couples") else None
    return target or url_for("admin.couples")


@bp.route("/couples/<int:couple_id>/reassign", methods=["GET", "POST"])
def reassign(couple_id: int) -> str | Response:
    couple = services.couple_listing(couple_id)
    if couple is None:
        abort(404)
    admin = current_user._get_current_object()
    form = ReassignForm(back=request.args.get("back", ""))
    form.owner_id.choices = [
        SelectChoice(str(user.id), user.display_name)
        for user in services.reassignment_choices(couple, admin)
    ]
    if form.validate_on_submit():
        try:
            moved, owner = services.reassign_couple(
                couple.id, form.owner_id.data or 0, reason=form.reason.data or "", admin=admin
            )
        except services.ReassignRefused as refused:
            form.owner_id.errors = [str(refused)]
        else:
            flash(f"{moved.label} is now with {owner.display_name}.", "success")
            return redirect(_back(form.back.data))
    return render_template(
        "admin/reassign.html", couple=couple, form=form, back=_back(form.back.data)
    )


@bp.get("/audit")
def audit_log() -> str:
    people = services.everyone()
    form = AuditFilterForm(formdata=request.args)
    form.actor.choices = [SelectChoice("", "Anyone")] + [
        SelectChoice(str(user.id), user.display_name) for user in people
    ]
    form.action.choices = [SelectChoice("", "Any action")] + [
        SelectChoice(action) for action in services.audit_actions()
    ]
    form.validate()

    def ok(field: str) -> bool:
        return not form[field].errors

    actor = form.actor.data if ok("actor") else ""
    query = services.AuditQuery(
        actor_id=parse_id(actor),
        action=(form.action.data or "") if ok("action") else "",
        since=form.since.data if ok("since") else None,
        until=form.until.data if ok("until") else None,
        page=page_number(request.args.get("page")),
    )
    return render_template("admin/audit.html", form=form, page=services.audit_log(query))
