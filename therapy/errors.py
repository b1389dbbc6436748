"""Error pages: a plain message, never a traceback."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from therapy.extensions import db

MESSAGES = {
    400: (
        "The request was not understood",
        "Something in the request was missing or malformed. Go back, reload the page and "
        "try again.",
    ),
    403: ("Not allowed", "You do not have permission to do that."),
    404: ("Page not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "That page cannot be used this way."),
    413: ("Too large", "What you sent is larger than Tandem accepts. Shorten it and try again."),
    429: (
        "Too many attempts",
        "There have been too many attempts. Wait 15 minutes, then try again.",
    ),
    500: (
        "Something went wrong",
        "Tandem could not finish that. Nothing was saved from this request. "
        "Try again; if it keeps happening, tell your administrator.",
    ),
}


def render_error(
    code: int, title: str | None = None, message: str | None = None
) -> tuple[str, int]:
    default_title, default_message = MESSAGES.get(code, MESSAGES[500])
    title, message = title or default_title, message or default_message
    try:
        page = render_template("errors/error.html", code=code, title=title, message=message)
    except Exception:
        page = str(escape(f"{title}. {message}"))
    return page, code


# How long a browser (or a person) should wait before trying again while the database is
# away: a restart or fail-over usually takes seconds.
RETRY_AFTER_SECONDS = 30
# Form fields never shown back: secrets, and the page's own bookkeeping.
UNSHOWN_FIELDS = ("csrf", "password", "token", "totp", "secret", "code")
BOOKKEEPING_FIELDS = {"version", "order", "order-was", "picker", "move", "remove", "action", "save"}


def typed_fields(form: MultiDict[str, str] | None) -> list[tuple[str, str]]:
    """What a person typed into the form that could not be saved, to copy it to safety."""
    shown = []
    for name, value in form.items(multi=True) if form is not None else []:
        lowered = name.lower()
        if (
            not value.strip()
            or lowered in BOOKKEEPING_FIELDS
            or lowered.endswith(("-was", "_was"))
            or any(word in lowered for word in UNSHOWN_FIELDS)
        ):
            continue
        shown.append((name.replace("_", " ").replace("-", " ").capitalize(), value))
    return shown


def database_unavailable() -> tuple[str, int, dict[str, str]]:
    """503 with Retry-After, and the submitted text shown again: nothing typed is lost.

    The page is rendered without the signed-in user or a CSRF token, since either would
    need the database (or the session) this request could not reach.
    """
    try:
        typed = typed_fields(request.form if request.method == "POST" else None)
    except Exception:  # a body that cannot be parsed shows nothing rather than failing again
        typed = []
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    try:
        # Straight from the Jinja environment: render_template would run the context
        # processors, and Flask-Login's loads the signed-in user from the database.
        template = current_app.jinja_env.get_template("errors/unavailable.html")
        page = template.render(typed=typed, retry_after=RETRY_AFTER_SECONDS)
    except Exception:
        page = str(escape("The database is not reachable just now. Try again in a minute."))
    return page, 503, headers


# What SQLite says when the file cannot be reached or written just now.
SQLITE_AWAY = ("database is locked", "unable to open database", "disk i/o error")


def database_is_away(error: Exception) -> bool:
    """True for a connection that failed or timed out; False for a mistake in a statement."""
    if not isinstance(error, OperationalError):
        return True
    if error.connection_invalidated:
        return True
    if db.engine.dialect.name != "sqlite":
        # psycopg raises OperationalError for connection and server failures only;
        # statement mistakes are ProgrammingError or DataError.
        return True
    return str(error.orig).lower().startswith(SQLITE_AWAY)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int] | Response:
        from therapy.auth.sessions import needs_sign_in, unauthorized

        if needs_sign_in():
            # Signed out in another tab: the token died with the session. Say so, and
            # come back to the form's page after signing in (its drafts are kept there).
            return unauthorized()
        return render_error(
            400,
            "This form has expired",
            "The form was missing its security token or it came from another "
            "site. Go back, reload the page and submit it again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return render_error(error.code or 500)

    # OperationalError covers a refused or dropped connection (and SQLite's "database is
    # locked" after busy_timeout): both mean "try again shortly", not a bug. SQLite also
    # raises it for mistakes such as a missing table: those stay server errors.
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def unavailable(error: Exception) -> tuple[str, int, dict[str, str]] | tuple[str, int]:
        if not database_is_away(error):
            return server_error(error)
        try:
            db.session.rollback()
        except Exception:  # the connection is gone; the pool will replace it
            app.logger.debug("Rollback failed after a lost connection", exc_info=True)
        app.logger.error("Database unavailable: %s", type(error).__name__)
        return database_unavailable()

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        app.logger.exception("Unhandled error")
        return render_error(500)
