"""Sign in, sign out, first-run setup and the therapist's own account."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from therapy import audit
from therapy.auth import factors, resets, second_factor, services, sessions, throttle
from therapy.auth.forms import LoginForm, PasswordChangeForm, ProfileForm, SetupForm
from therapy.auth.passwords import verify_password
from therapy.extensions import limiter, login_manager

bp = Blueprint("auth", __name__)


def _failed(response: Response) -> bool:
    # A successful sign-in redirects; everything else counts against the limits.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT_ADDRESS"],
    methods=["POST"],
    key_func=throttle.account_address_key,
    deduct_when=_failed,
    scope="login-account-address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    methods=["POST"],
    key_func=throttle.account_key,
    deduct_when=_failed,
    scope="login-account",
)
def login() -> str | Response:
    if not services.has_accounts():
        return redirect(url_for("auth.setup"))
    target = services.safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("main.dashboard"))
    form = LoginForm(next=target or "")
    if form.validate_on_submit():
        user = services.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            # Straight in, or on to the second factor first (therapy/auth/second_factor.py).
            response = second_factor.after_password(user, services.safe_next(form.next.data))
            throttle.remember_device(response, user.email)
            return response
        form.password.errors = ["That email and password do not match an active account."]
    return render_template("auth/login.html", form=form, email_resets=resets.mail_configured())


@bp.post("/logout")
def logout() -> Response:
    if not current_user.is_authenticated:
        # Between password and second factor, signing out forgets the password step.
        if second_factor.PENDING_KEY not in session:
            return login_manager.unauthorized()
        second_factor.cancel()
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    audit.record("logout", record_type="user", record_id=current_user.id)
    sessions.end(current_user._get_current_object())
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/session")
@login_required
def session_status() -> Response:
    """How long this login session has left; asking does not count as activity."""
    return jsonify(sessions.timing())


@bp.post("/session/keep-alive")
@login_required
def keep_alive() -> Response:
    """The "Stay signed in" button: count as activity, and say how long is left now."""
    sessions.touch()
    return jsonify(sessions.timing())


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> str | Response:
    if services.has_accounts():
        abort(404)
    form = SetupForm()
    if request.method == "POST":
        form.timezone.render_kw = {}  # shown again: keep the zone as chosen
    if form.validate_on_submit():
        try:
            user = services.create_first_admin(
                form.email.data or "",
                form.display_name.data or "",
                form.password.data or "",
                timezone=form.timezone.data or "",
            )
        except services.SetupClosed:
            abort(404)
        sessions.start(user)
        flash("Welcome to Tandem. Your administrator account is ready.", "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/setup.html", form=form)


def _account_page(profile: ProfileForm, password: PasswordChangeForm) -> str:
    user = current_user._get_current_object()
    return render_template(
        "auth/account.html",
        profile=profile,
        password=password,
        app_factor=factors.totp_factor(user),
        passkeys=factors.passkeys(user),
        recovery_left=factors.recovery_codes_left(user),
        second_factor_required=factors.second_factor_required(),
    )


@bp.get("/account")
@login_required
def account() -> str:
    return _account_page(ProfileForm(obj=current_user), PasswordChangeForm())


@bp.post("/account/profile")
@login_required
def account_profile() -> str | Response:
    profile = ProfileForm()
    if profile.validate_on_submit():
        services.update_settings(
            current_user._get_current_object(),
            display_name=profile.display_name.data or "",
            timezone=profile.timezone.data or "UTC",
            paper_size=profile.paper_size.data or "A4",
        )
        flash("Your settings are saved.", "success")
        return redirect(url_for("auth.account"))
    return _account_page(profile, PasswordChangeForm(formdata=None))


@bp.post("/account/password")
@login_required
@limiter.limit(
    "20 per 15 minutes",
    key_func=lambda: f"user:{current_user.id}",
    deduct_when=_failed,
    scope="password-change",
)
def account_password() -> str | Response:
    password = PasswordChangeForm()
    if password.validate_on_submit():
        if not verify_password(current_user.password_hash, password.current_password.data or ""):
            password.current_password.errors = ["That is not your current password."]
        else:
            user = current_user._get_current_object()
            services.change_password(user, password.password.data or "")
            sessions.start(user)
            flash("Your password is changed. Every other session is signed out.", "success")
            return redirect(url_for("auth.account"))
    return _account_page(ProfileForm(formdata=None, obj=current_user), password)
