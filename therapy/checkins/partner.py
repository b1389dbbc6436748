"""The partner's check-in page: no login, only their own form, reached through a link.

`/c/<token>` checks the token and swaps it for a short-lived signed cookie (path /c),
then redirects to `/c/`, so the token leaves the address bar, history and logs at once.
Opening a link never uses it up; only sending the form does. Unknown, revoked and
expired links all get the same page, so the answer tells a guesser nothing.

Whoever holds a link may not be the partner it was printed for, so the form is always
blank: answers already sent, private or not, are never shown here. Sending again makes
a new version; the therapist sees every one (see services.save_from_link).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from therapy import timeutil
from therapy.checkins import services
from therapy.checkins.forms import CheckInForm, checkin_form
from therapy.extensions import db, limiter
from therapy.measures import services as measures
from therapy.models import CheckIn, CheckInLink, Couple, User
from therapy.week import services as week

bp = Blueprint("partner", __name__, url_prefix="/c")

COOKIE_NAME = "tandem_checkin"
COOKIE_PATH = "/c"
COOKIE_LIFETIME = timedelta(hours=2)
# Failed look-ups per client address; a real partner opens their link once or twice.
DEFAULT_GUESS_LIMIT = "20 per 15 minutes"


@bp.context_processor
def week_batch() -> dict[str, object]:
    """A new id for each showing of the week form: its no-JavaScript post saves once."""
    import secrets

    return {"week_batch": lambda: secrets.token_urlsafe(12)}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="tandem-checkin-link")


def _guess_limit() -> str:
    return str(current_app.config.get("CHECKIN_LINK_LIMIT", DEFAULT_GUESS_LIMIT))


def closed(status: int = 404) -> tuple[str, int]:
    """The one page for a link that does not open anything, whatever the reason."""
    page = render_template("checkins/partner_closed.html", posted=request.method == "POST")
    return page, status


def _link_from_cookie() -> CheckInLink | None:
    raw = request.cookies.get(COOKIE_NAME, "")
    if not raw:
        return None
    try:
        link_id = _serializer().loads(raw, max_age=int(COOKIE_LIFETIME.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(link_id, int):
        return None
    link = db.session.get(CheckInLink, link_id)
    return link if link is not None and services.link_is_live(link) else None


@bp.get("/<token>")
@limiter.limit(_guess_limit, deduct_when=lambda r: r.status_code == 404, scope="checkin-link")
def open_link(token: str) -> Response | tuple[str, int]:
    link = services.find_live_link(token)
    if link is None:
        return closed()
    response = redirect(url_for("partner.form"))
    response.set_cookie(
        COOKIE_NAME,
        _serializer().dumps(link.id),
        max_age=int(COOKIE_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )
    return response


def _form(couple: Couple, checkin: CheckIn | None) -> CheckInForm:
    # Never filled in from the saved check-in: only what this request posted, if anything.
    return checkin_form(
        practices=services.practices(),
        questions=services.homework_questions(couple, checkin),
        audience="partner",
        with_date=False,
        # Only measures whose file records the permission to show partners the wording.
        measures=[m for m in measures.measures() if m.measure.self_report],
    )


def _page(
    form: CheckInForm, couple: Couple, link: CheckInLink, status: int = 200
) -> tuple[str, int]:
    """The form page; a 409 says the send was not saved and shows what was typed."""
    # Only this partner's first name, this week's homework titles and when the link was
    # last used to send: nothing else about the couple, the other partner, the answers
    # already sent or the therapist's notes reaches this template.
    checkin = services.partner_checkin(link)
    page = render_template(
        "checkins/partner_form.html",
        week=week.partner_week(link, current_app.config["SECRET_KEY"]),
        form=form,
        first_name=services.partner_name(couple, link.partner_role),
        sent_at=services.sent_at(checkin) if checkin is not None else None,
        not_saved=status == 409,
    )
    return page, status


@bp.route("/", methods=["GET", "POST"])
def form() -> tuple[str, int] | Response:
    link = _link_from_cookie()
    if link is None:
        return closed(403 if request.method == "POST" else 404)
    couple = db.session.get(Couple, link.couple_id)
    if couple is None:
        return closed()
    checkin = services.partner_checkin(link)
    if checkin is not None and checkin.reviewed_at is not None:
        return _reviewed(link)
    form = _form(couple, checkin)
    if request.method == "GET" or not form.validate_on_submit():
        return _page(form, couple, link, 200 if request.method == "GET" else 422)
    owner = db.session.get(User, couple.owner_id)
    today = timeutil.local_today(owner.timezone if owner else None)
    try:
        services.save_from_link(link, form.to_data(on_date=today))
    except services.AlreadyReviewed:
        return _reviewed(link)
    except services.EditConflict:
        form.version.data = ""
        return _page(form, couple, link, 409)
    return redirect(url_for("partner.thanks"))


@bp.get("/thanks")
def thanks() -> tuple[str, int]:
    if _link_from_cookie() is None:
        return closed()
    return render_template("checkins/partner_thanks.html"), 200


def _reviewed(link: CheckInLink) -> tuple[str, int]:
    """The check-in is read and closed; the week's homework can still be sent."""
    page = render_template(
        "checkins/partner_reviewed.html",
        week=week.partner_week(link, current_app.config["SECRET_KEY"]),
    )
    return page, 200


# --- the week's homework: ticks and short answers ------------------------------------------


@bp.post("/week/send")
def week_send() -> tuple[Response, int]:
    """What the week page's script sends: a list of ticks and notes, each with the id the
    browser made for it. Answers which ids are saved (new or already), so the browser
    drops them from its queue; a resend never makes a second row."""
    link = _link_from_cookie()
    if link is None:
        return jsonify(error="closed"), 403
    payload = request.get_json(silent=True)
    submissions = payload.get("submissions") if isinstance(payload, dict) else None
    if not isinstance(submissions, list):
        return jsonify(error="submissions must be a list"), 400
    try:
        result = week.save_replies(link, submissions)
    except week.ReplyRefused as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(saved=result.saved, refused=result.refused), 200


@bp.post("/week")
def week_form() -> Response | tuple[str, int]:
    """The same without JavaScript: the week form posted whole. Its hidden `batch` id
    (new on every page) makes a double click save once."""
    link = _link_from_cookie()
    if link is None:
        return closed(403)
    batch = request.form.get("batch", "")
    if not week.CLIENT_ID.match(batch) or len(batch) > 40:
        return closed(400)
    submissions: list[dict[str, object]] = []
    for item in week.partner_week(link, current_app.config["SECRET_KEY"]).items:
        days = [
            day.number
            for day in item.days
            if request.form.get(f"tick-{item.plan_item_id}-{day.number}")
        ]
        if days:
            submissions.append(
                {
                    "id": f"{batch}-t{item.plan_item_id}",
                    "kind": "ticks",
                    "item": item.plan_item_id,
                    "days": days,
                }
            )
        for index, _ in enumerate(item.content.prompts):
            text = request.form.get(f"note-{item.plan_item_id}-{index}", "").strip()
            if text:
                submissions.append(
                    {
                        "id": f"{batch}-n{item.plan_item_id}-{index}",
                        "kind": "note",
                        "item": item.plan_item_id,
                        "prompt": index,
                        "text": text,
                        "private": bool(request.form.get(f"private-{item.plan_item_id}-{index}")),
                    }
                )
    week.save_replies(link, submissions)
    return redirect(url_for("partner.form", sent="week") + "#week")
