"""Login sessions: starting, ending, and the idle and absolute timeouts."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from therapy.extensions import db, login_manager
from therapy.models import User

# Endpoints that never need the signed-in user loaded.
ANONYMOUS_ENDPOINTS = frozenset({"static"})


def now() -> float:
    """Seconds since the epoch; one place for tests to move time."""
    return time.time()


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    """The user named by the cookie, if the cookie's session token is still theirs."""
    user_id, _, token = cookie_id.partition(".")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or not user.holds_token(token):
        return None
    return user


def start(user: User) -> None:
    """Sign the user in on this browser, with fresh timestamps and CSRF token."""
    session.clear()
    login_user(user, remember=False)
    # Flask-Login's fingerprint of address and browser is not needed with per-user tokens.
    session.pop("_id", None)
    stamp = int(now())
    session["login_at"] = stamp
    session["seen_at"] = stamp


def end(user: User | None) -> None:
    """Sign out here and, by rotating the user's token, everywhere else too."""
    if user is not None:
        user.end_all_sessions()
        db.session.commit()
    logout_user()
    session.clear()


def _return_path() -> str | None:
    """Where to come back to after signing in: the page asked for, if it was a plain GET."""
    if request.method != "GET":
        return None
    return request.full_path.rstrip("?")


def _expired() -> str | None:
    stamp = now()
    login_at = session.get("login_at")
    seen_at = session.get("seen_at")
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return "Please sign in again."
    absolute = current_app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds()
    idle = current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    if stamp - login_at > absolute:
        return (
            f"You were signed out after {absolute / 3600:g} hours signed in. Please sign in again."
        )
    if stamp - seen_at > idle:
        return f"You were signed out after {idle / 60:g} minutes without activity."
    return None


def enforce_timeouts() -> Response | None:
    """End a login session that has been idle or alive too long."""
    if request.endpoint in ANONYMOUS_ENDPOINTS or not current_user.is_authenticated:
        return None
    reason = _expired()
    if reason is not None:
        logout_user()
        session.clear()
        flash(reason, "info")
        return redirect(url_for("auth.login", next=_return_path()))
    session["seen_at"] = int(now())
    return None


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    """Send an anonymous visitor to sign in, or to first-run setup when no account exists."""
    from therapy.auth.services import has_accounts

    if not has_accounts():
        return redirect(url_for("auth.setup"))
    flash("Please sign in to continue.", "info")
    return redirect(url_for("auth.login", next=_return_path()))


def init_app(app: Flask) -> None:
    # Our per-user token replaces Flask-Login's IP/user-agent fingerprint in the cookie.
    login_manager.session_protection = None
    app.before_request(enforce_timeouts)
