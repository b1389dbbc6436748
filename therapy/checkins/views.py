"""The therapist's side of check-ins: enter, view, edit, review; partner links; scores."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from therapy import audit, pdf
from therapy.checkins import services
from therapy.checkins.forms import (
    CheckInForm,
    checkin_form,
    initial_data,
    score_entry_form,
)
from therapy.checkins.links import LinkForm, PrintCardForm
from therapy.couples import access
from therapy.couples.access import Need
from therapy.couples.services import get_couple_or_404
from therapy.extensions import db
from therapy.measures import services as measures
from therapy.measures.definitions import ScoreError
from therapy.models import CheckIn, Couple

bp = Blueprint("checkins", __name__)


def _partners(couple: Couple) -> list[tuple[str, str]]:
    return [(p.role, p.first_name) for p in couple.partners]


def _page(template: str, couple: Couple, form: CheckInForm, **extra: object) -> str:
    return render_template(template, couple=couple, form=form, **extra)


@bp.route("/couples/<int:couple_id>/checkins/new", methods=["GET", "POST"])
@login_required
def new(couple_id: int) -> str | Response:
    couple = get_couple_or_404(couple_id)
    form = checkin_form(
        practices=services.practices(),
        questions=services.homework_questions(couple),
        measures=measures.measures(),
        partners=_partners(couple),
    )
    if not form.is_submitted():
        form["on_date"].data = form.today
    if form.validate_on_submit():
        try:
            checkin = services.create_checkin(
                couple, form["partner"].data, form.to_data(), user=current_user
            )
        except ScoreError as exc:
            flash(str(exc), "error")
        else:
            name = services.partner_name(couple, checkin.partner_role)
            flash(f"Saved {name}'s check-in.", "success")
            return redirect(url_for("checkins.show", checkin_id=checkin.id))
    return _page("checkins/new.html", couple, form)


@bp.get("/checkins/<int:checkin_id>")
@login_required
def show(checkin_id: int) -> str:
    checkin = services.get_checkin_or_404(checkin_id)
    couple = get_couple_or_404(checkin.couple_id)
    audit.record("checkin.view", record_type="checkin", record_id=checkin.id)
    db.session.commit()
    return render_template(
        "checkins/show.html",
        couple=couple,
        checkin=checkin,
        name=services.partner_name(couple, checkin.partner_role),
        sent_at=services.sent_at(checkin),
        how=services.current_version_how(checkin),
        earlier=services.earlier_versions(checkin),
        hide_private=not access.may_see_private(couple),
        unread=week_unread(checkin),
    )


def week_unread(checkin: CheckIn) -> bool:
    """A check-in a partner sent that the therapist has neither reviewed nor marked read."""
    from therapy.week.services import read_ids

    return (
        checkin.entered_by == "partner"
        and checkin.reviewed_at is None
        and checkin.id not in read_ids("checkin", [checkin.id])
    )


def _edit_form(couple: Couple, checkin: CheckIn) -> CheckInForm:
    return checkin_form(
        practices=services.practices(),
        questions=services.homework_questions(couple, checkin),
        data=None if request.method == "POST" else initial_data(checkin),
        answered=[rating.question for rating in checkin.ratings],
    )


@bp.route("/checkins/<int:checkin_id>/edit", methods=["GET", "POST"])
@login_required
def edit(checkin_id: int) -> str | Response | tuple[str, int]:
    checkin = services.get_checkin_or_404(checkin_id)
    # Even to open the form: it shows every answer, private ones too, to change them.
    couple = get_couple_or_404(checkin.couple_id, Need.EDIT)
    form = _edit_form(couple, checkin)
    if form.validate_on_submit():
        try:
            services.update_checkin(
                checkin, form.to_data(), expected_version=form.version.data or "", user=current_user
            )
        except services.EditConflict:
            db.session.refresh(checkin)
            form.version.data = str(checkin.version)
            message = (
                "This check-in changed since you opened it (the partner may have sent changes). "
                "Your typed answers are below; check them and save again to replace it."
            )
            page = _page("checkins/edit.html", couple, form, checkin=checkin, conflict=message)
            return page, 409
        flash("Saved the changes to this check-in.", "success")
        return redirect(url_for("checkins.show", checkin_id=checkin.id))
    return _page("checkins/edit.html", couple, form, checkin=checkin, conflict=None)


@bp.post("/checkins/<int:checkin_id>/review")
@login_required
def review(checkin_id: int) -> Response:
    checkin = services.get_checkin_or_404(checkin_id)
    try:
        if services.mark_reviewed(checkin):
            flash("Marked as reviewed. The partner can no longer change it.", "success")
    except services.EditConflict:
        flash(
            "This check-in changed a moment ago. Read it again, then mark it reviewed.", "warning"
        )
    return redirect(url_for("checkins.show", checkin_id=checkin.id))


# --- partner links ---------------------------------------------------------------------


def _links_page(couple: Couple, form: LinkForm) -> str:
    return render_template(
        "checkins/links.html",
        couple=couple,
        form=form,
        links=services.links_by_partner(couple),
        names=dict(_partners(couple)),
    )


@bp.route("/couples/<int:couple_id>/links", methods=["GET", "POST"])
@login_required
def links(couple_id: int) -> str | tuple[str, int]:
    couple = get_couple_or_404(couple_id)
    form = LinkForm.for_couple(_partners(couple))
    if couple.is_archived:
        return _links_page(couple, form)
    if form.validate_on_submit():
        role = form.partner.data or ""
        link, token = services.create_link(
            couple, role, days=form.days.data or services.LINK_DAYS_DEFAULT, user=current_user
        )
        url = services.link_url(token)
        # Shown once, in the answer to this POST: the token is in no URL and is not stored.
        return render_template(
            "checkins/link_created.html",
            couple=couple,
            link=link,
            url=url,
            token=token,
            qr=services.qr_data_url(url),
            name=services.partner_name(couple, role),
            card=PrintCardForm(token=token),
        )
    return _links_page(couple, form)


@bp.post("/links/<int:link_id>/revoke")
@login_required
def revoke(link_id: int) -> Response:
    link = services.get_link_or_404(link_id)
    if services.revoke_link(link):
        flash("The link is closed. It no longer opens the check-in form.", "success")
    return redirect(url_for("checkins.links", couple_id=link.couple_id))


@bp.post("/couples/<int:couple_id>/links/card.pdf")
@login_required
def link_card(couple_id: int) -> Response | tuple[str, int]:
    """A one-off printable card with the QR code of a link just created (token posted back)."""
    couple = get_couple_or_404(couple_id)
    form = PrintCardForm()
    link = services.find_live_link(form.token.data or "") if form.validate_on_submit() else None
    if link is None or link.couple_id != couple.id:
        flash("That link is closed or not this couple's. Create a new one to print it.", "warning")
        return redirect(url_for("checkins.links", couple_id=couple.id))
    printed = services.printed_link(couple, link, form.token.data or "")
    html = render_template("checkins/card.html", link=printed, therapist=current_user.display_name)
    # The card carries a live token: never cached (in this process or in Redis).
    body = pdf.render_pdf(
        html,
        paper=current_user.paper_size,
        stylesheets=["css/report.css", "css/printed_link.css"],
        cache=False,
    )
    audit.record("link.print", record_type="checkin_link", record_id=link.id)
    db.session.commit()
    response = make_response(body)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = 'attachment; filename="check-in-link.pdf"'
    return response


# --- measure scores on their own ---------------------------------------------------------


@bp.route("/couples/<int:couple_id>/scores/new", methods=["GET", "POST"])
@login_required
def new_score(couple_id: int) -> str | Response:
    couple = get_couple_or_404(couple_id)
    available = measures.measures()
    wanted = request.args.get("measure", "")
    stored = next((m for m in available if m.slug == wanted), available[0])
    form = score_entry_form(stored, _partners(couple))
    if not form.is_submitted():
        form.on_date.data = form.today
    if form.validate_on_submit():
        score = measures.new_score(
            couple,
            form["partner"].data,
            stored,
            form.on_date.data or form.today,
            form.item_scores(),
            current_user,
        )
        db.session.flush()
        audit.record("measure.score", record_type="measure_score", record_id=score.id)
        db.session.commit()
        name = services.partner_name(couple, score.partner_role)
        flash(f"Saved {name}'s {stored.measure.short_name}: {score.total:g}.", "success")
        return redirect(url_for("progress.show", couple_id=couple.id))
    return render_template(
        "checkins/score_new.html", couple=couple, form=form, stored=stored, available=available
    )
