"""The therapist's time zone: taken at setup and account creation (checked against the
zones Python knows), used for a new session's suggested time and for the demo's sessions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD
from tests.test_admin import admin, admin_client  # noqa: F401 (fixtures used below)
from tests.test_auth import setup_form
from therapy import demo
from therapy.extensions import db
from therapy.models import TherapySession, User
from therapy.timeutil import to_local


def zone_of(app, email: str) -> str | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return user.timezone if user else None


def test_setup_keeps_the_zone_the_browser_sent(app, client):
    page = client.get("/setup").get_data(as_text=True)
    assert 'data-browser-zone="fill"' in page and 'name="timezone"' in page
    response = client.post("/setup", data=setup_form(timezone="America/Los_Angeles"))
    assert response.status_code == 302
    assert zone_of(app, "ada@example.com") == "America/Los_Angeles"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "x" * 300])
def test_setup_refuses_a_zone_python_does_not_know(app, client, zone):
    response = client.post("/setup", data=setup_form(timezone=zone))
    assert response.status_code == 200
    assert "Choose a time zone from the list." in response.get_data(as_text=True)
    assert zone_of(app, "ada@example.com") is None


def test_setup_without_a_zone_uses_the_servers_default(app, client):
    assert client.post("/setup", data=setup_form()).status_code == 302
    assert zone_of(app, "ada@example.com") == app.config["DEFAULT_TIMEZONE"]


def test_an_admin_creates_an_account_in_a_zone(app, admin_client):  # noqa: F811
    page = admin_client.get("/admin/therapists").get_data(as_text=True)
    assert 'data-browser-zone="fill"' in page
    form = {
        "display_name": "Dr. New",
        "email": "new@example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
    }
    response = admin_client.post("/admin/therapists", data={**form, "timezone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert zone_of(app, "new@example.com") == "Asia/Tokyo"
    response = admin_client.post(
        "/admin/therapists", data={**form, "email": "n2@example.com", "timezone": "Nowhere"}
    )
    assert "Choose a time zone from the list." in response.get_data(as_text=True)
    assert zone_of(app, "n2@example.com") is None


def set_zone(app, user_id: int, zone: str) -> None:
    with app.app_context():
        db.session.get(User, user_id).timezone = zone
        db.session.commit()


def suggested(client, couple_id: int) -> tuple[str, str]:
    page = client.get(f"/couples/{couple_id}/sessions/new").get_data(as_text=True)
    day = re.search(r'id="date"[^>]*value="([^"]*)"', page).group(1)
    hour = re.search(r'id="time"[^>]*value="([^"]*)"', page).group(1)
    return day, hour


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 07:00 in California: a week on, at the start of the working day, not 08:00.
        (datetime(2026, 3, 4, 15, 0, tzinfo=UTC), ("2026-03-11", "09:00")),
        # 10:20 there: a week on at the next full hour.
        (datetime(2026, 3, 4, 18, 20, tzinfo=UTC), ("2026-03-11", "11:00")),
        # 19:30 there (already the 5th in UTC): the next morning a week on.
        (datetime(2026, 3, 5, 3, 30, tzinfo=UTC), ("2026-03-12", "09:00")),
    ],
)
def test_a_new_session_is_suggested_at_a_working_hour_in_the_therapists_zone(
    app, client, auth, therapist, make_couple, now, expected
):
    couple = make_couple(therapist, "Zoë", "Łukasz")
    set_zone(app, therapist.id, "America/Los_Angeles")
    with time_machine.travel(now, tick=False):
        assert auth.login(therapist).status_code == 302
        assert suggested(client, couple) == expected


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo", "Europe/London"])
def test_demo_sessions_sit_at_daytime_hours_in_the_therapists_zone(app, make_app, zone):
    # (`app` empties the PostgreSQL database afterwards, for the next zone's run.)
    app = make_app(DEFAULT_TIMEZONE=zone)
    moment = datetime(2026, 3, 4, 23, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=True), app.app_context():
        demo.seed(couples=6, sessions=3)
        starts = db.session.scalars(select(TherapySession.starts_at)).all()
        statuses = db.session.scalars(select(TherapySession.status)).all()
    assert starts
    for moment in starts:
        local = to_local(moment, zone)
        assert 9 <= local.hour < 18, local
    # Each active couple has one session coming up, and none held in the future.
    assert "planned" in statuses
    with app.app_context():
        rows = db.session.execute(select(TherapySession.starts_at, TherapySession.status)).all()
    now = datetime(2026, 3, 4, 23, 0, tzinfo=UTC)
    for moment, status in rows:
        assert (status == "held") == (moment < now), (moment, status)
