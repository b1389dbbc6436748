"""The dashboard and the page chrome every template shares."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup

from therapy import pagecache
from therapy.couples import services as couples
from therapy.progress import attention
from therapy.sessions import services as sessions
from therapy.week import services as week

bp = Blueprint("main", __name__)

# Label, endpoint, and the endpoint prefix that marks the item current.
NAVIGATION = (
    ("Dashboard", "main.dashboard", "main."),
    ("Couples", "couples.index", "couples."),
    ("Exercises", "exercises.index", "exercises."),
    ("Account", "auth.account", "auth.account"),
)
# Shown to administrators only; the pages themselves are 404 for everyone else.
ADMIN_NAVIGATION = (("Admin", "admin.therapists", "admin."),)


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    current: bool


@bp.app_context_processor
def navigation() -> dict[str, object]:
    def nav_items() -> list[NavItem]:
        endpoint = request.endpoint or ""
        items = list(NAVIGATION)
        if current_user.is_authenticated and current_user.is_admin:
            items += ADMIN_NAVIGATION
        return [
            NavItem(label, target, endpoint.startswith(prefix))
            for label, target, prefix in items
            if target in current_app.view_functions
        ]

    return {"nav_items": nav_items}


@bp.get("/")
@login_required
def dashboard() -> str:
    # Made again only when the data changed or the minute turned (therapy/pagecache.py);
    # "Recently viewed" reads the audit trail, which every opened couple writes and the
    # data version leaves alone: made again when a couple is opened in this browser too.
    overview, safety, total = pagecache.part("dashboard", (), _dashboard_parts, user=current_user)
    recent = pagecache.part(
        "dashboard-recent",
        (pagecache.viewed_mark(),),
        lambda: tuple(couples.recently_viewed(current_user)),
        user=current_user,
    )
    return render_template(
        "main/dashboard.html", overview=overview, safety=safety, total=total, recent=recent
    )


def _dashboard_parts() -> tuple[Markup, Markup, int]:
    summary = couples.summary(current_user)
    upcoming = sessions.upcoming_sessions(current_user.id)
    # Counted once for every current couple: the needs-attention list reads its share.
    unread = week.unread_by_couple(week.owner_couple_ids(current_user))
    needing = attention.needing_attention(current_user, unread=unread)
    overview = pagecache.rendered(
        "main/_dashboard_overview.html",
        summary=summary,
        upcoming=upcoming,
        attention=needing[: attention.SHOWN],
        attention_more=max(0, len(needing) - attention.SHOWN),
        unread=week.total_of(unread.values()),
    )
    safety = pagecache.rendered("main/_dashboard_safety.html", summary=summary)
    return overview, safety, summary.total
