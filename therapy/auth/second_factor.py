"""The step between a correct password and a signed-in session.

After the password, nobody is signed in yet: the session holds only a "pending" note
(the account id, its session token, the time, where to go next, and whether the account
must first set up a factor). Flask-Login still sees an anonymous visitor, so every page
that needs a therapist refuses as it always did; on top of that, `guard` sends every
request but the few second-factor pages and sign-out back to the second-factor page.
The note lasts ten minutes and dies with the account's session token (a password change
or reset, an administrator's removal of factors, deactivation).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from therapy.auth import factors, sessions
from therapy.extensions import db
from therapy.models import User

PENDING_KEY = "pending_sign_in"
PENDING_SECONDS = 600
# What a visitor between password and second factor may reach.
VERIFY_ENDPOINTS = frozenset(
    {"factors.challenge", "factors.passkey_options", "factors.passkey_verify"}
)
ENROL_ENDPOINTS = frozenset(
    {
        "factors.enrol",
        "factors.totp_setup",
        "factors.totp_confirm",
        "factors.passkey_register_options",
        "factors.passkey_register",
    }
)
ALWAYS_ENDPOINTS = frozenset({"static", "auth.logout"})


def after_password(user: User, target: str | None) -> Response:
    """Sign in at once, or ask for the second factor, or for setting one up first."""
    if factors.has_second_factor(user):
        return _begin(user, target, enrol=False)
    if factors.second_factor_required():
        return _begin(user, target, enrol=True)
    sessions.start(user)
    return redirect(target or url_for("main.dashboard"))


def _begin(user: User, target: str | None, *, enrol: bool) -> Response:
    session.clear()
    session[PENDING_KEY] = {
        "user": user.id,
        "token": user.session_token,
        "at": int(sessions.now()),
        "next": target or "",
        "enrol": enrol,
    }
    return redirect(url_for("factors.enrol" if enrol else "factors.challenge"))


def _note() -> dict[str, Any] | None:
    note = session.get(PENDING_KEY)
    if not isinstance(note, dict) or not isinstance(note.get("at"), int):
        return None
    if sessions.now() - note["at"] > PENDING_SECONDS:
        return None
    return note


def pending_user_id() -> int | None:
    """The id in the pending note, if any (a rate-limit key; not a proof of anything)."""
    user_id = (_note() or {}).get("user")
    return user_id if isinstance(user_id, int) else None


def pending_user(*, enrol: bool) -> User | None:
    """The account waiting for its second factor (enrol=False) or to set one up (True)."""
    note = _note()
    if note is None or bool(note.get("enrol")) is not enrol:
        return None
    user_id = note.get("user")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or not user.holds_token(str(note.get("token", ""))):
        return None
    return user


def finish(user: User) -> str:
    """Second factor given (or first one set up): sign in; returns where to go next."""
    note = _note() or {}
    from therapy.auth.services import safe_next

    target = safe_next(note.get("next")) or url_for("main.dashboard")
    sessions.start(user)
    return target


def cancel() -> None:
    session.pop(PENDING_KEY, None)


def _from_script() -> bool:
    return request.headers.get("HX-Request") == "true" or (
        request.accept_mimetypes.best == "application/json"
    )


def guard() -> Response | None:
    """Between password and second factor, only the second-factor pages can be reached."""
    if PENDING_KEY not in session or current_user.is_authenticated:
        return None
    endpoint = request.endpoint or ""
    if endpoint in ALWAYS_ENDPOINTS:
        return None
    note = _note()
    if note is None:
        session.pop(PENDING_KEY, None)
        flash("That took too long. Please sign in again.", "info")
        target = url_for("auth.login")
    else:
        allowed = ENROL_ENDPOINTS if note.get("enrol") else VERIFY_ENDPOINTS
        if endpoint in allowed:
            return None
        target = url_for("factors.enrol" if note.get("enrol") else "factors.challenge")
    if _from_script():
        response = jsonify(signed_in=False, login=target)
        response.status_code = 401
        return response
    return redirect(target)


def init_app(app: Flask) -> None:
    app.before_request(guard)
