"""The dashboard and the page chrome every template shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import login_required

bp = Blueprint("main", __name__)

# Label, endpoint, and the endpoint prefix that marks the item current.
NAVIGATION = (
    ("Dashboard", "main.dashboard", "main."),
    ("Couples", "couples.index", "couples."),
    ("Exercises", "exercises.index", "exercises."),
    ("Account", "auth.account", "auth.account"),
)


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    current: bool


@bp.app_context_processor
def navigation() -> dict[str, object]:
    def nav_items() -> list[NavItem]:
        endpoint = request.endpoint or ""
        return [
            NavItem(label, target, endpoint.startswith(prefix))
            for label, target, prefix in NAVIGATION
            if target in current_app.view_functions
        ]

    def url_with(**changes: object) -> str:
        """This page's URL with some query arguments changed (for pagers and sorting)."""
        values: dict[str, Any] = {**request.args.to_dict(), **(request.view_args or {})}
        values.update({key: str(value) for key, value in changes.items()})
        return url_for(request.endpoint or "main.dashboard", **values)

    return {"nav_items": nav_items, "url_with": url_with}


@bp.get("/")
@login_required
def dashboard() -> str:
    return render_template("main/dashboard.html")
