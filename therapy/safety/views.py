"""The safety screen, the screening guide, marking a partner's safety answer seen, and
the practice's crisis-line settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from therapy.checkins.services import get_checkin_or_404
from therapy.couples.services import get_couple_or_404
from therapy.safety import rules, services
from therapy.safety.forms import LOGO_MAGIC, LOGO_TYPES, PracticeSettingsForm, ScreenForm
from therapy.safety.help import HelpNow

bp = Blueprint("safety", __name__)


@bp.app_template_global()
def help_now() -> HelpNow:
    """For templates/partner/_help_now.html: the practice's crisis line and contacts."""
    return services.help_now()


@bp.record_once
def _labels(state: BlueprintSetupState) -> None:
    """The risk tags' names, for every template that lists an exercise's tags."""
    state.app.jinja_env.globals["risk_tag_labels"] = rules.RISK_TAG_LABELS


@bp.route("/couples/<int:couple_id>/safety", methods=["GET", "POST"])
@login_required
def screen(couple_id: int) -> str | Response | tuple[str, int]:
    couple = get_couple_or_404(couple_id)
    current = services.latest_screen(couple.id)
    if request.method == "POST":
        form = ScreenForm()
    else:
        form = ScreenForm(obj=current)
        if current is None:
            form.pattern.data = "unclear"
            for name in ("injuries_or_threats", "substance_use", "self_harm", "children_at_home"):
                form[name].data = "unknown"
    if form.validate_on_submit():
        saved = services.save_screen(couple, form.to_data())
        flash("The safety screen is saved." if saved else "Nothing had changed.", "success")
        return redirect(url_for("couples.profile", couple_id=couple.id) + "#safety-heading")
    page = render_template(
        "safety/screen.html",
        couple=couple,
        form=form,
        history=services.history(couple.id),
        partners={p.role: p.first_name for p in couple.partners},
    )
    return (page, 422) if form.errors else page


@bp.get("/guide/screening")
@login_required
def guide() -> str:
    return render_template("safety/guide.html")


@bp.post("/checkins/<int:checkin_id>/safety-seen")
@login_required
def safety_seen(checkin_id: int) -> Response:
    checkin = get_checkin_or_404(checkin_id)
    if services.mark_safety_seen(checkin):
        flash("Marked seen. The couple stays on your safety list until you act on it.", "success")
    return redirect(url_for("couples.profile", couple_id=checkin.couple_id))


@bp.route("/admin/practice", methods=["GET", "POST"])
@login_required
def practice() -> str | Response | tuple[str, int]:
    if not current_user.is_admin:
        abort(404)
    settings = services.practice_settings()
    posted = request.method == "POST"
    form = PracticeSettingsForm() if posted else PracticeSettingsForm(obj=settings)
    logo = None
    valid = form.validate_on_submit()
    if valid:
        upload = form.logo.data
        if upload and getattr(upload, "filename", ""):
            body = upload.read()
            kind = LOGO_TYPES[upload.filename.rsplit(".", 1)[-1].lower()]
            # The name says PNG or JPEG; the bytes must too (they print in every PDF).
            if not body.startswith(LOGO_MAGIC[kind]):
                form.logo.errors = [*form.logo.errors, "This file is not a PNG or JPEG image."]
                valid = False
            else:
                logo = (body, kind)
    if valid:
        services.save_practice_settings(
            name=(form.name.data or "").strip(),
            crisis_line=(form.crisis_line.data or "").strip(),
            contact=(form.contact.data or "").strip(),
            logo=logo,
            drop_logo=bool(form.drop_logo.data),
        )
        flash("The practice details are saved. New handouts print them.", "success")
        return redirect(url_for("safety.practice"))
    page = render_template("safety/practice.html", form=form, help=services.help_now())
    return (page, 422) if form.errors else page
