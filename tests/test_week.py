"""A partner's week page through their link: homework, ticks per day, short answers
(private ones stay private), idempotent sends; what the therapist sees of it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.progress_helpers import create_link, held_session
from therapy.extensions import db
from therapy.models import HomeworkReply, TherapySession, utcnow

PRIVATE_TEXT = "Sometimes I wonder if he still wants this"
SHARED_TEXT = "We laughed about the dishes"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def setup(app, therapist, make_couple, library):
    couple_id = make_couple(therapist, "Zoë", "Łukasz", label="Nowak-Smith")
    items = held_session(app, couple_id)
    return couple_id, items[0]


def partner(app, couple_id, role):
    """A fresh browser for one partner, opened through their link."""
    client = app.test_client()
    token = create_link(app, couple_id, role)
    assert client.get(f"/c/{token}").status_code == 302
    page = client.get("/c/").get_data(as_text=True)
    return client, page


def send(client, page, submissions):
    token = CSRF.search(page).group(1)
    return client.post(
        "/c/week/send",
        json={"submissions": submissions},
        headers={"X-CSRFToken": token},
        csrf=False,
    )


def replies(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(HomeworkReply))


def test_week_page_shows_the_homework_with_a_box_per_day_and_the_prompts(app, setup):
    couple_id, item_id = setup
    _, page = partner(app, couple_id, "a")
    assert "Hi Zoë" in page and "Your homework this week" in page
    assert "Daily download" in page or "download" in page.lower()
    # Daily tracking: seven day boxes, named by date after the session.
    assert len(re.findall(rf'name="tick-{item_id}-\d"', page)) == 7
    assert re.search(rf'<textarea id="note-{item_id}-0"', page)
    assert "Keep this private" in page
    # Nothing of the other partner, nor the couple's label.
    assert "Łukasz" not in page and "Nowak-Smith" not in page
    # The check-in comes at the end of the same page.
    assert page.index("Your homework this week") < page.index("your check-in")


def test_ticks_and_a_private_note_are_saved_once_however_often_they_are_resent(app, setup):
    couple_id, item_id = setup
    client, page = partner(app, couple_id, "a")
    batch = [
        {"id": "tick-0001-aaaa", "kind": "ticks", "item": item_id, "days": [1, 2, 3]},
        {
            "id": "note-0001-aaaa",
            "kind": "note",
            "item": item_id,
            "prompt": 0,
            "text": PRIVATE_TEXT,
            "private": True,
        },
    ]
    first = send(client, page, batch)
    assert first.status_code == 200
    assert sorted(first.get_json()["saved"]) == ["note-0001-aaaa", "tick-0001-aaaa"]
    # The phone lost the answer and sends it all again (twice): still two rows.
    for _ in range(2):
        again = send(client, page, batch)
        assert sorted(again.get_json()["saved"]) == ["note-0001-aaaa", "tick-0001-aaaa"]
    assert replies(app) == 2
    with app.app_context():
        note = db.session.scalars(select(HomeworkReply).where(HomeworkReply.kind == "note")).one()
        assert note.private and note.text == PRIVATE_TEXT and note.partner_role == "a"


def test_the_other_partner_sees_nothing_of_it(app, setup):
    couple_id, item_id = setup
    client, page = partner(app, couple_id, "a")
    send(
        client,
        page,
        [
            {"id": "tick-0002-aaaa", "kind": "ticks", "item": item_id, "days": [1, 2, 3]},
            {
                "id": "note-0002-a",
                "kind": "note",
                "item": item_id,
                "prompt": 0,
                "text": PRIVATE_TEXT,
                "private": True,
            },
            {
                "id": "note-0003-a",
                "kind": "note",
                "item": item_id,
                "prompt": 0,
                "text": SHARED_TEXT,
                "private": False,
            },
        ],
    )
    other, other_page = partner(app, couple_id, "b")
    assert "Hi Łukasz" in other_page
    for text in (PRIVATE_TEXT, SHARED_TEXT, "Zoë"):
        assert text not in other_page
    assert " checked" not in other_page.split('id="week"')[1].split("</form>")[0]
    # Nor does the partner who sent it see it again (whoever holds the link may not be them).
    _, again = partner(app, couple_id, "a")
    assert PRIVATE_TEXT not in again and SHARED_TEXT not in again
    # An id the other partner already used cannot be claimed or overwritten.
    taken = send(
        other,
        other_page,
        [
            {
                "id": "note-0002-a",
                "kind": "note",
                "item": item_id,
                "prompt": 0,
                "text": "mine now",
                "private": False,
            }
        ],
    )
    assert taken.get_json()["refused"] == {"note-0002-a": "this id is taken"}
    assert replies(app) == 3


def test_sends_about_other_couples_homework_or_unknown_prompts_are_refused(
    app, setup, therapist, make_couple
):
    couple_id, item_id = setup
    other_couple = make_couple(therapist, "Ada", "Ben")
    other_item = held_session(app, other_couple)[0]
    client, page = partner(app, couple_id, "a")
    result = send(
        client,
        page,
        [
            {"id": "other-couple-1", "kind": "ticks", "item": other_item, "days": [1]},
            {"id": "bad-day-00001", "kind": "ticks", "item": item_id, "days": [9]},
            {"id": "bad-prompt-01", "kind": "note", "item": item_id, "prompt": 99, "text": "x"},
            {
                "id": "too-long-0001",
                "kind": "note",
                "item": item_id,
                "prompt": 0,
                "text": "x" * 2001,
            },
            {"id": "x", "kind": "ticks", "item": item_id, "days": [1]},
        ],
    ).get_json()
    assert result["saved"] == []
    assert set(result["refused"]) == {
        "other-couple-1",
        "bad-day-00001",
        "bad-prompt-01",
        "too-long-0001",
        "x",
    }
    assert replies(app) == 0


def test_without_the_link_cookie_nothing_is_saved(app, setup):
    _, item_id = setup
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = send(
        client, page, [{"id": "tick-0009-aaaa", "kind": "ticks", "item": item_id, "days": [1]}]
    )
    assert response.status_code == 403
    assert replies(app) == 0


def test_the_form_posted_without_javascript_saves_once(app, setup):
    couple_id, item_id = setup
    client, page = partner(app, couple_id, "a")
    token = CSRF.search(page).group(1)
    batch = re.search(r'name="batch" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": token,
        "batch": batch,
        f"tick-{item_id}-1": "1",
        f"tick-{item_id}-4": "1",
        f"note-{item_id}-0": SHARED_TEXT,
    }
    for _ in range(2):  # a double click
        response = client.post("/c/week", data=form, csrf=False)
        assert response.status_code == 302
    assert replies(app) == 2
    assert "Sent to your therapist" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_the_therapist_sees_ticks_per_day_private_marked_and_an_unread_count(app, setup, logged_in):
    couple_id, item_id = setup
    client, page = partner(app, couple_id, "a")
    send(
        client,
        page,
        [
            {"id": "tick-0003-aaaa", "kind": "ticks", "item": item_id, "days": [1, 3]},
            {"id": "tick-0004-aaaa", "kind": "ticks", "item": item_id, "days": [3, 5]},
            {
                "id": "note-0004-a",
                "kind": "note",
                "item": item_id,
                "prompt": 0,
                "text": PRIVATE_TEXT,
                "private": True,
            },
        ],
    )
    dashboard = logged_in.get("/").get_data(as_text=True)
    assert "Not read yet:</strong> 0 check-ins and 1 homework note" in dashboard
    assert "1 homework note not read yet." in dashboard
    progress = logged_in.get(f"/couples/{couple_id}/progress").get_data(as_text=True)
    assert "Homework day by day" in progress and "3 of 7" in progress  # days 1, 3, 5
    assert PRIVATE_TEXT in progress
    section = progress.split("Homework day by day")[1]
    assert "badge-private" in section.split(PRIVATE_TEXT)[0].rsplit("<li>", 1)[1]
    # The couple view (shown to the couple) leaves the private note out entirely.
    couple_view = logged_in.get(f"/couples/{couple_id}/progress?view=couple").get_data(as_text=True)
    assert PRIVATE_TEXT not in couple_view and "3 of 7" in couple_view
    # The next session's agenda.
    with app.app_context():
        couple_session = db.session.scalars(
            select(TherapySession).where(TherapySession.couple_id == couple_id)
        ).one()
        from therapy.sessions import services as sessions

        following = sessions.create_session(
            couple_session.couple, starts_at=utcnow() + timedelta(days=4)
        )
        db.session.commit()
        following_id = following.id
    agenda = logged_in.get(f"/sessions/{following_id}/agenda").get_data(as_text=True)
    assert "Homework since session 1" in agenda and "Zoë: 3 of 7 days" in agenda
    assert f"Zoë (private): “{PRIVATE_TEXT}”" in agenda
    # Marked read: the count goes.
    with app.app_context():
        note_id = db.session.scalar(select(HomeworkReply.id).where(HomeworkReply.kind == "note"))
    logged_in.post("/inbox/read", data={"kind": "note", "record_id": str(note_id)})
    assert "Nothing unread" in logged_in.get("/").get_data(as_text=True)


def test_mark_all_read_and_another_therapist_cannot_mark(app, setup, logged_in, make_user):
    couple_id, item_id = setup
    client, page = partner(app, couple_id, "a")
    send(
        client,
        page,
        [
            {
                "id": f"note-10{i}-a",
                "kind": "note",
                "item": item_id,
                "prompt": 0,
                "text": f"note {i}",
                "private": False,
            }
            for i in range(3)
        ],
    )
    other = app.test_client()
    stranger = make_user("stranger@example.com")
    other.post("/login", data={"email": stranger.email, "password": stranger.password})
    other.post("/inbox/read", data={"all": "1"})
    with app.app_context():
        ids = db.session.scalars(select(HomeworkReply.id)).all()
    for note_id in ids:
        other.post("/inbox/read", data={"kind": "note", "record_id": str(note_id)})
    assert "0 check-ins and 3 homework notes" in logged_in.get("/").get_data(as_text=True)
    inbox = logged_in.get("/inbox").get_data(as_text=True)
    assert inbox.count("homework note") == 3
    logged_in.post("/inbox/read", data={"all": "1"})
    assert "Nothing unread" in logged_in.get("/").get_data(as_text=True)


def test_a_partners_check_in_is_unread_until_marked_read_on_its_page(app, setup, logged_in):
    from tests.progress_helpers import rating_form

    couple_id, _ = setup
    client, _ = partner(app, couple_id, "a")
    form = rating_form(app, 6, hw_0_done="fully", hw_0_helpful="2", went_well="Walks")
    assert client.post("/c/", data=form).status_code == 302
    assert "1 check-in and 0 homework notes" in logged_in.get("/").get_data(as_text=True)
    with app.app_context():
        from therapy.models import CheckIn

        checkin_id = db.session.scalar(select(CheckIn.id))
    page = logged_in.get(f"/checkins/{checkin_id}").get_data(as_text=True)
    assert "Mark read" in page
    logged_in.post("/inbox/read", data={"kind": "checkin", "record_id": str(checkin_id)})
    assert "Nothing unread" in logged_in.get("/").get_data(as_text=True)
    assert "Mark read" not in logged_in.get(f"/checkins/{checkin_id}").get_data(as_text=True)
