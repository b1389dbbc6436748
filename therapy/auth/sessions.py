"""Login sessions: starting, ending, and the idle and absolute timeouts."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from markupsafe import escape
from werkzeug.wrappers import Response

from therapy import pagecache
from therapy.extensions import db, login_manager
from therapy.models import User

# Endpoints that never need the signed-in user loaded.
ANONYMOUS_ENDPOINTS = frozenset({"static"})
# Endpoints a page's script calls on its own (not the therapist's doing): they check the
# timeouts but do not count as activity, or an open tab would keep itself signed in.
PASSIVE_ENDPOINTS = frozenset({"auth.session_status"})
# Activity moves the idle clock in the cookie at most once a minute: writing it on every
# request re-signed and re-sent the session cookie with every page. The idle limit then
# holds to within a minute, always on the early side (the stored time is never later
# than the real last activity). "Stay signed in" always writes it.
TOUCH_EVERY_SECONDS = 60


def now() -> float:
    """Seconds since the epoch; one place for tests to move time."""
    return time.time()


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    """The user named by the cookie, if the cookie's session token is still theirs."""
    user_id, _, token = cookie_id.partition(".")
    if not user_id.isdigit() or not token:
        return None
    user = pagecache.load_user(int(user_id))  # with the data version, in one query
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


def touch() -> None:
    """Count this request as the therapist's activity: the idle timeout starts again."""
    session["seen_at"] = int(now())


def _return_path() -> str | None:
    """Where to come back to after signing in.

    For a GET, the page asked for. For a POST (a form saved after the session ended), the
    page that held the form, from a same-origin Referer: the browser kept what was typed
    there, and puts it back when that page shows again.
    """
    from therapy.auth.services import safe_next

    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.headers.get("Referer", ""))
    if referrer.scheme not in ("http", "https") or referrer.netloc != request.host:
        return None
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    if referrer.path == url_for("auth.login"):
        return None
    return safe_next(path)


def _limits() -> tuple[float, float]:
    config = current_app.config
    return (
        config["SESSION_IDLE_TIMEOUT"].total_seconds(),
        config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds(),
    )


def seconds_left() -> tuple[int, str]:
    """Seconds until this login session ends, and which limit ends it ("idle"/"absolute")."""
    idle, absolute = _limits()
    stamp = now()
    idle_left = int(session.get("seen_at", 0) + idle - stamp)
    absolute_left = int(session.get("login_at", 0) + absolute - stamp)
    if absolute_left < idle_left:
        return max(absolute_left, 0), "absolute"
    return max(idle_left, 0), "idle"


def timing() -> dict[str, Any]:
    """What the page's script needs to warn before the idle limit (see static/js/session.js)."""
    left, limit = seconds_left()
    return {
        "seconds_left": left,
        "limit": limit,
        "idle_seconds": int(_limits()[0]),
        "absolute_seconds": int(_limits()[1]),
        "warning_seconds": int(current_app.config["SESSION_IDLE_WARNING"].total_seconds()),
    }


def _from_script() -> bool:
    """Requests made by htmx or by our own fetch() calls, which cannot follow a sign-in page."""
    return request.headers.get("HX-Request") == "true" or (
        request.accept_mimetypes.best == "application/json"
    )


def _sign_in_again(message: str, *, ended_now: bool) -> Response:
    """Send a visitor to sign in and back; a script gets a 401 it can explain instead."""
    if ended_now or not _from_script():
        # A tab polling after a sign-out elsewhere should not pile messages on the login page.
        flash(message, "info")
    login = url_for("auth.login", next=_return_path())
    if not _from_script():
        return redirect(login)
    if request.headers.get("HX-Request") == "true":
        # htmx keeps the region as it was on a 4xx; static/js/session.js shows the message.
        response = Response(
            f'<p class="flash flash-info" role="alert">{escape(message)} '
            f'<a href="{escape(login)}">Sign in again</a></p>',
            status=401,
            mimetype="text/html",
        )
    else:
        response = jsonify(signed_in=False, login=login)
        response.status_code = 401
    return response


def _expired() -> str | None:
    stamp = now()
    login_at = session.get("login_at")
    seen_at = session.get("seen_at")
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return "Please sign in again."
    idle, absolute = _limits()
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
        return _sign_in_again(reason, ended_now=True)
    if request.endpoint not in PASSIVE_ENDPOINTS and _touch_due():
        touch()
    return None


def _touch_due() -> bool:
    return now() - session.get("seen_at", 0) >= TOUCH_EVERY_SECONDS


# Pages an anonymous visitor may post to: a stale form there is just a stale form.
ANONYMOUS_FORMS = frozenset({"auth.login", "auth.setup"})


def needs_sign_in() -> bool:
    """True when this request is for a therapist's page and nobody is signed in."""
    if request.blueprint == "partner" or request.endpoint in ANONYMOUS_FORMS:
        return False
    return not current_user.is_authenticated


@login_manager.unauthorized_handler
def unauthorized() -> Response:
    """Send an anonymous visitor to sign in, or to first-run setup when no account exists."""
    from therapy.auth.services import has_accounts

    if not has_accounts():
        return redirect(url_for("auth.setup"))
    return _sign_in_again("Please sign in to continue.", ended_now=False)


def init_app(app: Flask) -> None:
    # Our per-user token replaces Flask-Login's IP/user-agent fingerprint in the cookie.
    login_manager.session_protection = None
    app.before_request(enforce_timeouts)

    @app.context_processor
    def session_timing() -> dict[str, Any]:
        # Handouts are also rendered outside any request (batches, tests): no user there.
        user = current_user if has_request_context() else None
        signed_in = user is not None and user.is_authenticated and "seen_at" in session
        return {"session_timing": timing() if signed_in else None}
