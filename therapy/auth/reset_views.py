"""Password reset pages: opening a reset link, choosing the new password, asking by email."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from therapy.auth import resets, sessions
from therapy.auth.factor_forms import NewPasswordForm, ResetRequestForm
from therapy.auth.passwords import password_problem
from therapy.extensions import limiter

bp = Blueprint("reset", __name__, url_prefix="/reset")

RESET_KEY = "password_reset"


def _closed() -> tuple[str, int]:
    return render_template("auth/reset_closed.html", email_resets=resets.mail_configured()), 404


@bp.get("/<token>")
@limiter.limit("30 per 15 minutes", deduct_when=lambda r: r.status_code == 404, scope="reset-link")
def open_link(token: str) -> Response | tuple[str, int]:
    """Swap the token in the address for a note in the session; nothing is used up yet."""
    if len(token) > 100 or resets.find_live(token) is None:
        return _closed()
    if current_user.is_authenticated:
        # Someone else may be signed in on this computer: the new password is not theirs.
        sessions.end(None)
    session[RESET_KEY] = resets.token_hash(token)
    return redirect(url_for("reset.new_password"))


@bp.route("/password", methods=["GET", "POST"])
def new_password() -> str | Response | tuple[str, int]:
    digest = session.get(RESET_KEY)
    reset = resets.find_live(digest, hashed=True) if isinstance(digest, str) else None
    user = resets.account_of(reset) if reset else None
    if reset is None or user is None:
        session.pop(RESET_KEY, None)
        return _closed()
    form = NewPasswordForm()
    if form.validate_on_submit():
        password = form.password.data or ""
        problem = password_problem(password, [user.email, user.display_name])
        if problem:
            form.password.errors = [problem]
        elif resets.use(reset, password) is None:
            session.pop(RESET_KEY, None)
            return _closed()
        else:
            session.clear()
            flash(
                "Your password is changed and every session is signed out. Sign in with it now.",
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, email=user.email)


@bp.route("/request", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"], scope="reset-request")
def request_link() -> str | Response:
    """Ask for a reset link by email; the answer is the same whether or not the address
    has an account."""
    if not resets.mail_configured():
        abort(404)
    form = ResetRequestForm()
    if form.validate_on_submit():
        resets.request_by_email(form.email.data or "")
        flash(
            "If that address belongs to an account here, a reset link is on its way. "
            "It works once, for one hour. Check your spam folder too.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)
