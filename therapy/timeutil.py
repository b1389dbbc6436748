"""Times in the therapist's own zone: stored in UTC, shown and entered locally."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, g, has_request_context
from flask_login import current_user


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone(name: str | None = None) -> ZoneInfo:
    """The named zone, else the signed-in therapist's, else UTC."""
    if name is None:
        # Flask-Login keeps the request's user in g once loaded: read there, a page with a
        # long timeline (a zone for every date on it) spent 14 % of its time going through
        # the current_user proxy. Before it is loaded, the proxy loads it.
        user = g.get("_login_user") if has_request_context() else None
        if user is None:
            user = current_user
        if user and user.is_authenticated:
            name = user.timezone
    return _zone(name or "UTC")


def to_local(moment: datetime, name: str | None = None) -> datetime:
    """A UTC moment as wall-clock time in the therapist's zone."""
    return moment.astimezone(zone(name))


def from_local(wall_clock: datetime, name: str | None = None) -> datetime:
    """A wall-clock time typed by the therapist, as an aware UTC moment."""
    return wall_clock.replace(tzinfo=zone(name)).astimezone(UTC)


def local_today(name: str | None = None) -> date:
    return datetime.now(zone(name)).date()


def format_datetime(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = to_local(moment)
    return f"{local:%a %d %b %Y}, {local:%H:%M}"


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return f"{value:%d %b %Y}"


def init_app(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")
