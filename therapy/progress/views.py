"""The progress page and the progress report PDF."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from therapy import audit, pagecache, pdf, timeutil
from therapy.couples import access
from therapy.couples.services import get_couple_or_404
from therapy.extensions import db
from therapy.models import Couple
from therapy.progress import services
from therapy.progress.forms import (
    CoupleViewMeasuresForm,
    RangeForm,
    ReportForm,
    couple_view_measures_form,
)
from therapy.week import services as week

bp = Blueprint("progress", __name__, url_prefix="/couples/<int:couple_id>")
# The legend swatches are shared with the progress page; the rest is the report's own.
REPORT_STYLESHEETS = ["css/chart-legend.css", "css/report.css"]


@bp.get("/progress")
@login_required
def show(couple_id: int) -> str:
    couple = get_couple_or_404(couple_id)
    # A supervisor the owner did not allow private answers sees the couple view only.
    restricted = not access.may_see_private(couple)
    content = pagecache.part(
        "progress",
        (couple.id, restricted, request.query_string),
        lambda: _progress_content(couple, restricted),
        user=current_user,
    )
    return render_template("progress/show.html", couple=couple, content=content)


def _progress_content(couple: Couple, restricted: bool) -> Markup:
    form = RangeForm(formdata=request.args)
    form.validate()
    start, end = form.period(services.default_range(timeutil.local_today()))
    if not form.errors:
        form.start.data, form.end.data = start, end
    couple_view = request.args.get("view") == "couple" or restricted
    progress = services.build(couple, start, end, couple_view=couple_view)
    report = ReportForm(formdata=None, start=start, end=end)
    return pagecache.rendered(
        "progress/_show_content.html",
        couple=couple,
        progress=progress,
        form=form,
        report=report,
        restricted=restricted,
        week_homework=week.recent_homework(couple, couple_view=couple_view),
        measures_form=_measures_form(couple, progress.names),
    )


def _measures_form(couple: Couple, names: dict[str, str]) -> CoupleViewMeasuresForm:
    return couple_view_measures_form(
        names, formdata=None, shown=couple.couple_view_measures or "none"
    )


@bp.post("/progress/couple-view-measures")
@login_required
def couple_view_measures(couple_id: int) -> Response:
    couple = get_couple_or_404(couple_id)
    names = {p.role: p.first_name for p in couple.partners}
    form = couple_view_measures_form(names)
    if couple.is_archived:
        flash("This couple is archived. Restore them to change what the couple view shows.", "info")
    elif form.validate_on_submit():
        services.set_couple_view_measures(couple, form.shown.data)
        flash(
            "The couple view and the report for the couple leave measures out."
            if form.shown.data == "none"
            else "Saved: the couple view and the report for the couple show the scores you chose.",
            "success",
        )
    else:
        flash("Choose whose scores to show, or none.", "error")
    return redirect(url_for("progress.show", couple_id=couple.id) + "#couple-view-measures")


def _report_refused(couple: Couple, form: ReportForm, problem: str = "") -> tuple[str, int]:
    """The progress page again, the report form as typed, and what went wrong."""
    start, end = form.period(services.default_range(timeutil.local_today()))
    restricted = not access.may_see_private(couple)
    progress = services.build(couple, start, end, couple_view=restricted)
    # Made afresh, never kept: it holds what was typed.
    content = pagecache.rendered(
        "progress/_show_content.html",
        couple=couple,
        progress=progress,
        restricted=restricted,
        form=RangeForm(formdata=None, start=start, end=end),
        report=form,
        report_problem=problem,
        measures_form=_measures_form(couple, progress.names),
    )
    page = render_template("progress/show.html", couple=couple, content=content)
    return page, 422


@bp.post("/report.pdf")
@login_required
def report(couple_id: int) -> Response | tuple[str, int]:
    # Printing reads and changes nothing (the summary is not stored): a supervisor may.
    couple = get_couple_or_404(couple_id, access.Need.READ)
    form = ReportForm()
    if not form.validate_on_submit():
        return _report_refused(couple, form)
    start, end = form.period(services.default_range(timeutil.local_today()))
    # A supervisor the owner did not allow private answers prints what their page shows.
    restricted = not access.may_see_private(couple)
    for_couple = bool(form.for_couple.data)
    progress = services.build(couple, start, end, couple_view=for_couple or restricted)
    html = render_template(
        "progress/report.html",
        progress=progress,
        label=couple.label,
        therapist=current_user.display_name,
        summary=(form.summary.data or "").strip(),
        printed_on=timeutil.local_today(),
        for_couple=for_couple,
        restricted=restricted and not for_couple,
    )
    try:
        body = pdf.render_pdf(html, paper=current_user.paper_size, stylesheets=REPORT_STYLESHEETS)
    except pdf.PdfError:
        return _report_refused(
            couple,
            form,
            "This report is too long to print in one go. Choose a shorter period and try again.",
        )
    audit.record("report.export", record_type="couple", record_id=couple.id)
    db.session.commit()
    response = make_response(body)
    response.headers["Content-Type"] = "application/pdf"
    name = f"progress-report-{couple.id}-{end:%Y-%m-%d}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
