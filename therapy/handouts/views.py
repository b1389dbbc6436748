"""Handouts, agendas and the week's print run: previews and PDFs of the therapist's own.

Every session URL loads through `get_session_or_404` and every exercise through
`get_exercise_or_404`, so another therapist's ids are a 404. PDFs are sent as
attachments: the app's Content-Security-Policy (object-src 'none') stops Chrome's
built-in viewer from showing an inline PDF. File names carry dates and numbers, never
names. Every export is one audit event with the record, never the text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from therapy import audit, pdf, timeutil
from therapy.extensions import db
from therapy.handouts import agenda as agendas
from therapy.handouts import services
from therapy.handouts.forms import WeekForm
from therapy.library.services import get_exercise_or_404
from therapy.models import TherapySession
from therapy.sessions.services import get_session_or_404

bp = Blueprint("handouts", __name__)

WEEK_DAYS = 7


@bp.before_request
@login_required
def require_login() -> None:
    """Every handout, agenda and PDF is for signed-in therapists."""


def session_slug(session: TherapySession) -> str:
    """'2026-12-02-session-4' (or 'session-4' before it is scheduled): no names."""
    day = services.local_date(session.starts_at)
    return f"{day:%Y-%m-%d}-session-{session.number}" if day else f"session-{session.number}"


def plan_url(session: TherapySession) -> str:
    # The plan builder is another feature's page; its path is fixed by the design.
    return f"/sessions/{session.id}"


def export(
    render: Callable[[], bytes],
    filename: str,
    action: str,
    records: list[tuple[str, int]],
    back: tuple[str, str],
) -> Response | tuple[str, int]:
    """The PDF as a download, audited; or a page that says what to do when it cannot be made."""
    try:
        data = render()
    except pdf.PdfError as error:
        code = 422 if isinstance(error, pdf.PdfTooLarge) else 503
        page = render_template(
            "handouts/problem.html",
            title="This PDF could not be made",
            message=error.message,
            back_url=back[0],
            back_label=back[1],
        )
        return page, code
    for record_type, record_id in records:
        audit.record(action, record_type=record_type, record_id=record_id)
    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def no_homework(session: TherapySession, code: int) -> tuple[str, int]:
    return render_template(
        "handouts/no_homework.html", session_number=session.number, plan_url=plan_url(session)
    ), code


@bp.get("/sessions/<int:session_id>/handout")
def preview(session_id: int) -> str | tuple[str, int]:
    session = get_session_or_404(session_id)
    handout = services.handout_for_session(session, current_user)
    if not handout.items:
        return no_homework(session, 200)
    # While the therapist reads the preview, its PDF is made: Download is then a cache hit.
    services.prepare_handout_pdf(handout)
    return services.preview_html(handout, session_id=session.id, plan_url=plan_url(session))


@bp.get("/sessions/<int:session_id>/handout.pdf")
def handout_pdf(session_id: int) -> Response | tuple[str, int]:
    session = get_session_or_404(session_id)
    handout = services.handout_for_session(session, current_user)
    if not handout.items:
        return no_homework(session, 409)
    return export(
        lambda: services.handout_pdf(handout),
        f"handout-{session_slug(session)}.pdf",
        "handout.export",
        [("session", session.id)],
        (f"/sessions/{session.id}/handout", "Back to the handout preview"),
    )


@bp.post("/sessions/<int:session_id>/handout-with-links.pdf")
def handout_with_links_pdf(session_id: int) -> Response | tuple[str, int]:
    """The handout with a fresh check-in link (short URL and QR code) for each partner.

    Tokens are stored only as hashes, so a link can be printed only when it is made:
    this issues new links for both partners, which closes their older ones.
    """
    from dataclasses import replace

    from therapy.checkins.services import issue_handout_links
    from therapy.couples.services import get_couple_or_404

    session = get_session_or_404(session_id)
    couple = get_couple_or_404(session.couple_id)
    handout = services.handout_for_session(session, current_user)
    if not handout.items:
        return no_homework(session, 409)
    if couple.is_archived:
        abort(404)
    links = issue_handout_links(couple, user=current_user._get_current_object())
    with_links = replace(handout, check_in_links=tuple(links))
    return export(
        lambda: services.handout_pdf(with_links),
        f"handout-{session_slug(session)}-with-links.pdf",
        "handout.export",
        [("session", session.id)],
        (f"/sessions/{session.id}/handout", "Back to the handout preview"),
    )


@bp.get("/sessions/<int:session_id>/agenda")
def agenda(session_id: int) -> str:
    session = get_session_or_404(session_id)
    plan = agendas.agenda_for_session(session, current_user)
    return agendas.agenda_page(plan, session_id=session.id, plan_url=plan_url(session))


@bp.get("/sessions/<int:session_id>/agenda.pdf")
def agenda_pdf(session_id: int) -> Response | tuple[str, int]:
    session = get_session_or_404(session_id)
    plan = agendas.agenda_for_session(session, current_user)
    return export(
        lambda: agendas.agenda_pdf(plan),
        f"agenda-{session_slug(session)}.pdf",
        "agenda.export",
        [("session", session.id)],
        (f"/sessions/{session.id}/agenda", "Back to the agenda"),
    )


@bp.get("/exercises/<int:exercise_id>/handout.pdf")
def exercise_handout_pdf(exercise_id: int) -> Response | tuple[str, int]:
    exercise = get_exercise_or_404(exercise_id)
    handout = services.handout_for_exercise(exercise, current_user)
    return export(
        lambda: services.handout_pdf(handout),
        f"exercise-{exercise.id}-handout.pdf",
        "exercise_handout.export",
        [("exercise", exercise.id)],
        (f"/exercises/{exercise.id}", "Back to the exercise"),
    )


def week_form() -> tuple[WeekForm, services.Week | None]:
    """The form from the query string (the next seven days when empty), and its sessions."""
    if not request.args:
        first = timeutil.local_today()
        last = first + timedelta(days=WEEK_DAYS - 1)
        form = WeekForm(formdata=None, data={"first": first, "last": last})
        return form, services.week(current_user, first, last)
    form = WeekForm(formdata=request.args)
    if not form.validate() or form.first.data is None or form.last.data is None:
        return form, None
    return form, services.week(current_user, form.first.data, form.last.data)


@bp.get("/handouts/week")
def week() -> str:
    form, found = week_form()
    return render_template("handouts/week.html", form=form, week=found)


@bp.get("/handouts/week.pdf")
def week_pdf() -> Response | tuple[str, int]:
    form, found = week_form()
    if found is None or not found.handouts:
        return render_template("handouts/week.html", form=form, week=found), (
            400 if found is None else 409
        )
    handouts = found.handouts
    return export(
        lambda: services.handouts_pdf(handouts, paper=handouts[0].paper),
        f"handouts-{found.first:%Y-%m-%d}-to-{found.last:%Y-%m-%d}.pdf",
        "handouts_week.export",
        [("session", row.session_id) for row in found.printed],
        (request.full_path.replace("/week.pdf", "/week", 1), "Back to this week's handouts"),
    )
