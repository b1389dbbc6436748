"""The therapist's side of the couple's week: sending links, the schedule, the messages
and the outbox, and what partners sent that is not read yet."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from therapy import audit, mail
from therapy.couples.services import MAX_ID, get_couple_or_404
from therapy.extensions import db
from therapy.models import OutgoingMessage
from therapy.week import sending
from therapy.week import services as week

bp = Blueprint("week", __name__)

STATE_LABELS = {
    "queued": "Waiting to be sent",
    "sending": "Being sent",
    "sent": "Sent",
    "failed": "Not sent: gave up after several tries",
    "uncertain": "May not have arrived",
}


def _safe_next(default: str) -> str:
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else default


@bp.get("/couples/<int:couple_id>/week")
@login_required
def couple(couple_id: int) -> str:
    couple = get_couple_or_404(couple_id)
    messages = mail.messages_for([couple.id])
    return render_template(
        "week/couple.html",
        couple=couple,
        schedule=sending.schedule_of(couple),
        messages=messages,
        outbox=mail.outbox_entries(messages) if mail.uses_outbox() else [],
        uses_outbox=mail.uses_outbox(),
        states=STATE_LABELS,
        names={p.role: p.first_name for p in couple.partners},
        homework=week.recent_homework(couple, limit=1),
        unread=[e for e in week.inbox(current_user) if e.couple_id == couple.id],
    )


@bp.post("/couples/<int:couple_id>/week/send")
@login_required
def send(couple_id: int) -> Response:
    couple = get_couple_or_404(couple_id)
    if couple.is_archived:
        flash("This couple is archived: restore it to send links.", "warning")
        return redirect(url_for("week.couple", couple_id=couple.id))
    names = sending.send_links_now(couple, current_user)
    shared = [
        p.first_name for p in couple.partners if p.email and sending.shares_address(couple, p)
    ]
    if shared:
        flash(
            f"{' and '.join(shared)} have the same email address. Each partner's link must "
            "go to an address only they read, so Tandem sent neither. Add each partner's own "
            "address, or give the links by hand.",
            "warning",
        )
    elif names:
        where = "the outbox below" if mail.uses_outbox() else "their email"
        flash(
            f"Each partner's own link is on its way to {where}: {' and '.join(names)}. "
            "Tandem sends within a minute.",
            "success",
        )
    else:
        flash("No partner has an email address on file. Add one on the couple's page.", "warning")
    return redirect(url_for("week.couple", couple_id=couple.id))


@bp.post("/couples/<int:couple_id>/week/schedule")
@login_required
def schedule(couple_id: int) -> Response:
    couple = get_couple_or_404(couple_id)
    if request.form.get("stop"):
        sending.stop_schedule(couple)
        flash("Tandem no longer sends this couple's links on a schedule.", "success")
        return redirect(url_for("week.couple", couple_id=couple.id))
    raw = request.form.get("checkin_days_before", "2").strip()
    days = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 2 else -1
    if not 0 <= days <= 14:
        flash("Enter a number of days from 0 to 14 for the check-in reminder.", "error")
        return redirect(url_for("week.couple", couple_id=couple.id))
    sending.save_schedule(
        couple,
        week_after_session=bool(request.form.get("week_after_session")),
        checkin_days_before=days,
        reminder=bool(request.form.get("reminder_if_unanswered")),
    )
    audit.record("schedule.edit", record_type="couple", record_id=couple.id)
    db.session.commit()
    flash("Saved the schedule.", "success")
    return redirect(url_for("week.couple", couple_id=couple.id))


@bp.post("/messages/<int:message_id>/again")
@login_required
def again(message_id: int) -> Response:
    row = db.session.get(OutgoingMessage, message_id) if 0 < message_id <= MAX_ID else None
    if row is None or row.couple_id is None:
        return redirect(url_for("main.dashboard"))
    couple = get_couple_or_404(row.couple_id)
    if mail.send_again(row):
        flash("It will be sent again within a minute.", "success")
    else:
        flash("That message cannot be sent again: send a new link instead.", "warning")
    return redirect(url_for("week.couple", couple_id=couple.id))


@bp.get("/inbox")
@login_required
def inbox() -> str:
    entries = week.inbox(current_user)
    couple_ids = {e.couple_id for e in entries} | set(week.owner_couple_ids(current_user))
    return render_template(
        "week/inbox.html",
        entries=entries,
        problems=mail.problems_for(couple_ids),
        states=STATE_LABELS,
    )


@bp.post("/inbox/read")
@login_required
def mark_read() -> Response:
    back = _safe_next(url_for("week.inbox"))
    if request.form.get("all"):
        raw_couple = request.form.get("couple_id", "")
        couple_id = int(raw_couple) if raw_couple.isascii() and raw_couple.isdigit() else None
        if couple_id is not None:
            get_couple_or_404(couple_id)
        count = week.mark_all_read(current_user, couple_id)
    else:
        raw = request.form.get("record_id", "")
        record_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
        count = week.mark_read(current_user, request.form.get("kind", ""), [record_id])
    flash(f"Marked {count} as read." if count != 1 else "Marked as read.", "success")
    return redirect(back)


@bp.get("/outbox")
@login_required
def outbox() -> str:
    messages = mail.messages_for(week.owner_couple_ids(current_user), limit=100)
    return render_template(
        "week/outbox.html",
        entries=mail.outbox_entries(messages),
        uses_outbox=mail.uses_outbox(),
        states=STATE_LABELS,
    )
