"""Error pages: a plain message, never a traceback."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

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


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            "This form has expired",
            "The form was missing its security token or it came from another "
            "site. Go back, reload the page and submit it again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        app.logger.exception("Unhandled error")
        return render_error(500)
