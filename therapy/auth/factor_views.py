"""Second-factor pages: giving one at sign-in, setting one up, removing one.

The setup pages serve two visitors: a signed-in therapist adding a factor from the
account page, and someone between password and sign-in whose practice requires a second
factor they do not have yet (second_factor.pending_user(enrol=True)). Someone asked for
their existing factor can never reach them: that would let a stolen password add its own.
"""

from __future__ import annotations

import json

import click
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from therapy import audit
from therapy.auth import factors, second_factor
from therapy.auth.factor_forms import CodeForm, PasswordConfirmForm, TotpConfirmForm
from therapy.auth.passwords import verify_password
from therapy.checkins.services import qr_data_url
from therapy.extensions import db, limiter, login_manager
from therapy.models import User

# cli_group=None: the command below is `flask remove-second-factors`, beside the others.
bp = Blueprint("factors", __name__, cli_group=None)

# A credential JSON from the browser is a few kilobytes at most.
CREDENTIAL_MAX = 16 * 1024


def _pending_key() -> str:
    return f"user:{second_factor.pending_user_id() or 'none'}"


# --- At sign-in ---------------------------------------------------------------------------


def _challenged() -> User:
    user = second_factor.pending_user(enrol=False)
    if user is None:
        abort(login_manager.unauthorized())
    return user


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_SECOND_FACTOR"],
    methods=["POST"],
    key_func=_pending_key,
    deduct_when=lambda response: response.status_code != 302,
    scope="second-factor",
)
def challenge() -> str | Response:
    user = _challenged()
    form = CodeForm()
    if form.validate_on_submit():
        code = form.code.data or ""
        app = factors.totp_factor(user)
        if factors.looks_like_recovery_code(code):
            ok, how = factors.check_recovery_code(user, code), "recovery code"
        else:
            ok, how = app is not None and factors.check_totp(app, code), "app"
        if ok:
            return _signed_in(user, how)
        _failed_attempt(user)
        form.code.errors = ["That code did not work. Codes from the app work once each."]
    has_app = factors.totp_factor(user) is not None
    if not has_app:
        form.code.description = "One of the recovery codes you saved when you added a passkey."
    return render_template(
        "auth/second_factor.html",
        form=form,
        has_app=has_app,
        has_passkeys=bool(factors.passkeys(user)),
        passkeys_possible=factors.passkeys_possible(),
    )


def _failed_attempt(user: User) -> None:
    audit.record("login.second_factor_failed", record_type="user", record_id=user.id, actor=user)
    db.session.commit()


def _signed_in(user: User, how: str) -> Response:
    audit.record("login.second_factor", record_type="user", record_id=user.id, actor=user)
    db.session.commit()
    target = second_factor.finish(user)
    if how == "recovery code":
        left = factors.recovery_codes_left(user)
        flash(
            f"You used a recovery code; {left} left. Make new ones on your account page "
            "if you are running low.",
            "warning",
        )
    return redirect(target)


@bp.post("/login/second-factor/passkey/options")
def passkey_options() -> Response:
    user = _challenged()
    return Response(factors.authentication_options(user), mimetype="application/json")


@bp.post("/login/second-factor/passkey")
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_SECOND_FACTOR"],
    key_func=_pending_key,
    deduct_when=lambda response: response.status_code != 200,
    scope="second-factor",
)
def passkey_verify() -> Response | tuple[Response, int]:
    user = _challenged()
    credential = request.get_data(as_text=True)
    if len(credential) > CREDENTIAL_MAX or not factors.check_passkey(user, credential):
        _failed_attempt(user)
        return jsonify(ok=False, message="That passkey did not work. Please try again."), 400
    audit.record("login.second_factor", record_type="user", record_id=user.id, actor=user)
    db.session.commit()
    return jsonify(ok=True, next=second_factor.finish(user))


# --- Setting a factor up -------------------------------------------------------------------


def _enrolling() -> User:
    """The signed-in therapist, or the account that must set up a factor to sign in."""
    if current_user.is_authenticated:
        user: User = current_user._get_current_object()
        return user
    user_or_none = second_factor.pending_user(enrol=True)
    if user_or_none is None:
        abort(login_manager.unauthorized())
    return user_or_none


def _enrolling_now() -> bool:
    return not current_user.is_authenticated


@bp.get("/account/two-factor")
def enrol() -> str:
    user = _enrolling()
    return render_template(
        "auth/enrol.html",
        user=user,
        required_now=_enrolling_now(),
        has_app=factors.totp_factor(user) is not None,
        passkeys_possible=factors.passkeys_possible(),
    )


def _totp_page(user: User, form: TotpConfirmForm) -> str:
    factor = factors.start_totp(user)
    secret = factors.totp_secret(factor) or ""
    uri = factors.provisioning_uri(user, secret)
    return render_template(
        "auth/totp_setup.html",
        form=form,
        qr=qr_data_url(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        required_now=_enrolling_now(),
    )


@bp.get("/account/two-factor/app")
def totp_setup() -> str | Response:
    user = _enrolling()
    if factors.totp_factor(user) is not None:
        flash("An authenticator app is already set up.", "info")
        return redirect(url_for("auth.account"))
    return _totp_page(user, TotpConfirmForm())


@bp.post("/account/two-factor/app")
def totp_confirm() -> str | Response:
    user = _enrolling()
    form = TotpConfirmForm()
    if form.validate_on_submit():
        try:
            codes = factors.confirm_totp(user, form.code.data or "")
        except factors.FactorError as error:
            form.code.errors = [str(error)]
        else:
            return _factor_added(user, codes, "Your authenticator app is set up.")
    if factors.totp_factor(user) is not None:
        return redirect(url_for("auth.account"))
    return _totp_page(user, form)


def _factor_added(user: User, codes: list[str] | None, message: str) -> str | Response:
    target = second_factor.finish(user) if _enrolling_now() else url_for("auth.account")
    if codes:
        return render_template("auth/recovery_codes.html", codes=codes, next=target)
    flash(message, "success")
    return redirect(target)


@bp.post("/account/passkeys/options")
def passkey_register_options() -> Response:
    user = _enrolling()
    if not factors.passkeys_possible():
        abort(400)
    return Response(factors.registration_options(user), mimetype="application/json")


@bp.post("/account/passkeys")
def passkey_register() -> Response | tuple[Response, int]:
    user = _enrolling()
    raw = request.get_data(as_text=True)
    try:
        if len(raw) > CREDENTIAL_MAX:
            raise factors.FactorError("The passkey could not be added. Please try again.")
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise factors.FactorError("The passkey could not be added. Please try again.")
        factors.register_passkey(
            user, json.dumps(data.get("credential")), str(data.get("name") or "")
        )
    except (factors.FactorError, ValueError) as error:
        message = str(error) if isinstance(error, factors.FactorError) else "Please try again."
        return jsonify(ok=False, message=message), 400
    codes = factors.new_recovery_codes(user) if factors.recovery_codes_left(user) == 0 else None
    db.session.commit()
    target = second_factor.finish(user) if _enrolling_now() else url_for("auth.account")
    if not codes:
        flash("Your passkey is added.", "success")
    return jsonify(ok=True, next=target, codes=codes)


# --- From the account page -----------------------------------------------------------------


def _password_confirmed(form: PasswordConfirmForm) -> bool:
    if not form.validate_on_submit():
        flash("Type your password to confirm.", "error")
        return False
    if not verify_password(current_user.password_hash, form.password.data or ""):
        flash("That is not your password; nothing was changed.", "error")
        return False
    return True


def _may_remove_one(user: User) -> bool:
    """A required second factor cannot remove its last method."""
    count = (factors.totp_factor(user) is not None) + len(factors.passkeys(user))
    if count <= 1 and factors.second_factor_required():
        flash(
            "Your practice requires a second factor. Add another method before removing this one.",
            "error",
        )
        return False
    return True


def _password_limit() -> str:
    return f"user:{current_user.id}"


# Each of these checks the password: together they allow as many tries as changing it.
PASSWORD_CHECKS = limiter.shared_limit(
    "20 per 15 minutes", key_func=_password_limit, scope="factor-password"
)


@bp.post("/account/two-factor/app/remove")
@login_required
@PASSWORD_CHECKS
def totp_remove() -> Response:
    user: User = current_user._get_current_object()
    if _password_confirmed(PasswordConfirmForm()) and _may_remove_one(user):
        factors.remove_totp(user)
        flash("Your authenticator app is removed.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/passkeys/<int:passkey_id>/remove")
@login_required
@PASSWORD_CHECKS
def passkey_remove(passkey_id: int) -> Response:
    user: User = current_user._get_current_object()
    if _password_confirmed(PasswordConfirmForm()) and _may_remove_one(user):
        if factors.remove_passkey(user, passkey_id):
            flash("The passkey is removed.", "success")
        else:
            abort(404)
    return redirect(url_for("auth.account"))


@bp.post("/account/recovery-codes")
@login_required
@PASSWORD_CHECKS
def recovery_new() -> str | Response:
    user: User = current_user._get_current_object()
    if not factors.has_second_factor(user):
        abort(404)
    if not _password_confirmed(PasswordConfirmForm()):
        return redirect(url_for("auth.account"))
    codes = factors.new_recovery_codes(user)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, next=url_for("auth.account"))


@bp.cli.command("remove-second-factors")
@click.argument("email")
@click.confirmation_option(prompt="Remove every second factor of this account?")
def remove_second_factors_command(email: str) -> None:
    """For a practice whose only administrator lost every factor (audited as "cli")."""
    from therapy.auth.services import find_user

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email}.")
    factors.remove_all_factors(user, None)
    click.echo(f"Second factors removed for {user.email}; every session of it is signed out.")
