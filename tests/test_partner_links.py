"""Partner links: hashed tokens, the cookie swap, only the partner's own form, closing."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from tests.progress_helpers import add_checkin, create_link, held_session, rating_form
from therapy.extensions import db
from therapy.models import AuditEvent, CheckIn, CheckInLink, Couple, utcnow

SECRETS = (
    "Presenting-concern-SECRET",
    "Goal-SECRET",
    "Session-note-SECRET",
    "Follow-up-SECRET",
    "Other-partner-text-SECRET",
)


@pytest.fixture
def couple(app, therapist, make_couple, library):
    from therapy.couples.services import GoalData

    couple_id = make_couple(
        therapist,
        "Zoë",
        "Łukasz",
        label="The Martin-Nowak household",
        presenting_concerns=SECRETS[0],
        goals=(GoalData(SECRETS[1]),),
    )
    return couple_id


def partner(app):
    """A fresh browser: no therapist cookies."""
    return app.test_client()


def open_link(client, token):
    return client.get(f"/c/{token}")


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action)))


def checkins(app) -> list[CheckIn]:
    with app.app_context():
        rows = list(db.session.scalars(select(CheckIn)))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_creating_a_link_shows_it_once_and_stores_only_its_hash(app, logged_in, couple):
    page = logged_in.post(f"/couples/{couple}/links", data={"partner": "a", "days": "7"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", html)
    assert 'src="data:image/svg+xml;base64,' in html and "QR code of Zoë" in html
    assert page.headers["Cache-Control"] == "no-store"
    again = logged_in.get(f"/couples/{couple}/links").get_data(as_text=True)
    assert token not in again and "Waiting" in again
    with app.app_context():
        import hashlib

        link = db.session.scalars(select(CheckInLink)).one()
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert (link.partner_role, link.purpose) == ("a", "checkin")
        assert timedelta(days=6, hours=23) < link.expires_at - link.created_at <= timedelta(days=7)
        # A full dump of the database: the token appears in no table and no column.
        for table in db.metadata.sorted_tables:
            columns = [column.name for column in table.columns]
            for row in db.session.execute(select(table)):
                for column, value in zip(columns, row, strict=True):
                    assert token not in str(value), (table.name, column)
    assert "link.create" in actions(app)


@pytest.mark.parametrize("days", ["0", "31", "seven", ""])
def test_link_expiry_must_be_1_to_30_days(app, logged_in, couple, days):
    page = logged_in.post(f"/couples/{couple}/links", data={"partner": "a", "days": days})
    assert "from 1 to 30" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(CheckInLink)).all() == []


def test_opening_swaps_the_token_for_a_cookie_and_never_uses_the_link_up(app, couple):
    token = create_link(app, couple, "a")
    client = partner(app)
    for _ in range(3):  # link scanners and previews open it too
        response = open_link(client, token)
        assert response.status_code == 302
        assert response.headers["Location"] == "/c/"
    cookie = response.headers["Set-Cookie"]
    assert "tandem_checkin=" in cookie and token not in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/c" in cookie
    assert "Max-Age=7200" in cookie
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = client.get("/c/")
    assert page.status_code == 200 and token not in page.get_data(as_text=True)
    with app.app_context():
        link = db.session.scalars(select(CheckInLink)).one()
        assert link.used_at is None and link.checkin is None
    assert "link.use" not in actions(app)


def test_the_page_shows_only_this_partners_name_and_homework(app, couple, make_couple, therapist):
    held_session(app, couple)
    with app.app_context():
        from therapy.models import TherapySession

        session = db.session.scalars(select(TherapySession)).one()
        session.notes_happened, session.notes_follow_up = SECRETS[2], SECRETS[3]
        db.session.commit()
    add_checkin(app, couple, "b", date.today(), 3, went_well=SECRETS[4])
    other = make_couple(therapist, "Other", "Person")
    client = partner(app)
    open_link(client, create_link(app, couple, "a"))
    page = client.get("/c/").get_data(as_text=True)
    assert "Hi Zoë, how was your week?" in page and "The daily download" in page
    for hidden in (*SECRETS, "Łukasz", "Martin-Nowak", "Dr. First", "Other", "Sign out"):
        assert hidden not in page, hidden
    # Changing ids in the URL or posting extra fields reaches nothing else.
    for url in (f"/c/?couple_id={other}", "/c/?partner=b", "/c/?checkin_id=1"):
        shown = client.get(url).get_data(as_text=True)
        assert "Zoë" in shown and "Łukasz" not in shown and SECRETS[4] not in shown


def test_submitting_creates_then_revises_the_same_checkin_until_reviewed(
    app, couple, make_couple, therapist
):
    held_session(app, couple)
    other = make_couple(therapist, "Other", "Person")
    client = partner(app)
    open_link(client, create_link(app, couple, "a"))
    form = rating_form(app, 6, hw_0_done="fully", hw_0_helpful="2", went_well="Walks")
    form.update(
        {"couple_id": str(other), "partner": "b", "checkin_id": "999", "on_date": "2020-01-01"}
    )
    response = client.post("/c/", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/c/thanks"
    assert "Your answers are with your therapist" in client.get("/c/thanks").get_data(as_text=True)
    (first,) = checkins(app)
    assert (first.couple_id, first.partner_role, first.entered_by) == (couple, "a", "partner")
    assert first.on_date == date.today()
    page = client.get("/c/").get_data(as_text=True)
    assert "Your check-in was sent on" in page and "your therapist sees every version" in page
    assert "Walks" not in page and "Send again" in page
    form["went_well"] = "Walks and a film"
    assert client.post("/c/", data=form).status_code == 302
    (second,) = checkins(app)
    assert second.id == first.id and second.went_well == "Walks and a film"
    with app.app_context():
        link = db.session.scalars(select(CheckInLink)).one()
        assert link.checkin.id == first.id and link.used_at is not None
        (kept,) = db.session.get(CheckIn, first.id).revisions
        assert kept.answers["went_well"] == "Walks" and kept.replaced_by_link_id == link.id
        db.session.get(CheckIn, first.id).reviewed_at = utcnow()
        db.session.commit()
    form["went_well"] = "Changed after review"
    reply = client.post("/c/", data=form).get_data(as_text=True)
    assert "Your answers are with your therapist" in reply and "can’t be changed" in reply
    assert "already read" in client.get("/c/").get_data(as_text=True)
    (third,) = checkins(app)
    assert third.went_well == "Walks and a film"
    assert actions(app).count("link.use") == 2


def test_a_partners_bad_input_is_explained_and_kept(app, couple):
    client = partner(app)
    open_link(client, create_link(app, couple, "b"))
    form = rating_form(app, 12, went_well="Keep me", was_hard="x" * 2001)
    response = client.post("/c/", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a number from 0 to 10." in page and "under 2,000 characters" in page
    assert "Keep me" in page
    assert checkins(app) == []


@pytest.mark.parametrize("blank", ["\r\n", " ", "\t"])
def test_an_optional_choice_sent_as_whitespace_is_refused_not_a_server_error(app, couple, blank):
    # Radio buttons never send whitespace; a hand-made post did, and was a 500 (found by
    # the route fuzz): the optional "how helpful" question took it as an answer.
    held_session(app, couple)
    client = partner(app)
    open_link(client, create_link(app, couple, "a"))
    form = rating_form(app, 6, hw_0_done="partly", hw_0_helpful=blank, went_well="Keep me")
    response = client.post("/c/", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose how helpful it was, or leave it empty." in page and "Keep me" in page
    assert checkins(app) == []


CSRF_META = re.compile(r'<meta name="csrf-token" content="[^"]*">')


def closed_page(response) -> tuple[int, str]:
    """Status and body, less the per-browser CSRF token every page carries."""
    return response.status_code, CSRF_META.sub("", response.get_data(as_text=True))


def test_unknown_revoked_and_expired_links_get_the_same_kind_page(app, logged_in, couple):
    revoked = create_link(app, couple, "a")
    with app.app_context():
        link = db.session.scalars(select(CheckInLink)).one()
    assert logged_in.post(f"/links/{link.id}/revoke").status_code == 302
    expired = create_link(app, couple, "b", days=1)
    client = partner(app)
    unknown = closed_page(open_link(client, "A" * 43))
    assert unknown[0] == 404 and "This link does not work" in unknown[1]
    assert closed_page(open_link(client, revoked)) == unknown
    assert closed_page(open_link(client, "not-a-token")) == unknown
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1)):
        assert closed_page(open_link(partner(app), expired)) == unknown
    assert "Couple" not in unknown[1] and "Zoë" not in unknown[1]
    assert "link.revoke" in actions(app)


def test_a_post_replayed_after_revocation_is_refused_and_changes_nothing(app, logged_in, couple):
    client = partner(app)
    open_link(client, create_link(app, couple, "a"))
    form = rating_form(app, 4, went_well="First")
    assert client.post("/c/", data=form).status_code == 302
    with app.app_context():
        link = db.session.scalars(select(CheckInLink)).one()
    logged_in.post(f"/links/{link.id}/revoke")
    form["went_well"] = "Replayed"
    response = client.post("/c/", data=form)
    assert response.status_code == 403
    assert "Nothing you sent was saved" in response.get_data(as_text=True)
    (checkin,) = checkins(app)
    assert checkin.went_well == "First"


def test_the_cookie_expires_after_two_hours(app, couple):
    client = partner(app)
    open_link(client, create_link(app, couple, "a"))
    assert client.get("/c/").status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=2, minutes=1)):
        response = client.get("/c/")
        assert response.status_code == 404
        assert "This link does not work" in response.get_data(as_text=True)


def test_a_forged_cookie_opens_nothing(app, couple):
    create_link(app, couple, "a")
    client = partner(app)
    client.set_cookie("tandem_checkin", "1", path="/c")
    assert client.get("/c/").status_code == 404


def test_guessing_tokens_is_rate_limited(make_app, couple):
    app = make_app(CHECKIN_LINK_LIMIT="5 per minute")
    client = app.test_client()
    codes = [open_link(client, f"{n:043d}").status_code for n in range(7)]
    assert codes[:5] == [404] * 5 and codes[5:] == [429, 429]


def test_a_new_link_closes_the_partners_older_one(app, logged_in, couple):
    first = create_link(app, couple, "a")
    second = create_link(app, couple, "a")
    other_partner = create_link(app, couple, "b")
    assert open_link(partner(app), first).status_code == 404
    assert open_link(partner(app), second).status_code == 302
    assert open_link(partner(app), other_partner).status_code == 302
    page = logged_in.get(f"/couples/{couple}/links").get_data(as_text=True)
    assert "Revoked" in page and page.count("Waiting since") == 2


def test_link_states_are_shown_per_partner(app, logged_in, couple):
    used = create_link(app, couple, "a")
    client = partner(app)
    open_link(client, used)
    client.post("/c/", data=rating_form(app, 5))
    create_link(app, couple, "b", days=1)
    with app.app_context():
        link = db.session.scalars(select(CheckInLink).where(CheckInLink.partner_role == "b")).one()
        link.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = logged_in.get(f"/couples/{couple}/links").get_data(as_text=True)
    assert "badge-link-expired" in page and "Expired" in page
    assert "badge-link-used" in page and "See the check-in" in page


def test_an_archived_couples_link_stops_working(app, couple):
    token = create_link(app, couple, "a")
    with app.app_context():
        db.session.get(Couple, couple).archived_at = utcnow()
        db.session.commit()
    assert open_link(partner(app), token).status_code == 404


def test_handout_links_print_only_live_links_whose_token_is_in_hand(
    app, couple, make_couple, therapist
):
    from therapy.checkins.services import handout_links, issue_handout_links

    other = make_couple(therapist, "Other", "Person")
    token = create_link(app, couple, "a")
    foreign = create_link(app, other, "b")
    with app.test_request_context():
        couple_row = db.session.get(Couple, couple)
        assert handout_links(couple_row) == []
        (printed,) = handout_links(couple_row, {"a": token, "b": foreign})
        assert printed.partner == "Zoë" and printed.short_url.endswith(f"/c/{token}")
        assert printed.qr_image.startswith("data:image/svg+xml;base64,")
        fresh = issue_handout_links(couple_row)
        assert [link.partner for link in fresh] == ["Zoë", "Łukasz"]
    assert open_link(partner(app), token).status_code == 404  # replaced by the fresh one


def test_the_link_card_prints_the_qr_code_once_posted_back(app, logged_in, couple):
    html = logged_in.post(f"/couples/{couple}/links", data={"partner": "b", "days": "3"})
    (token,) = re.findall(r"/c/([A-Za-z0-9_-]{43})", html.get_data(as_text=True))
    response = logged_in.post(f"/couples/{couple}/links/card.pdf", data={"token": token})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Łukasz" not in response.headers["Content-Disposition"]
    refused = logged_in.post(f"/couples/{couple}/links/card.pdf", data={"token": "B" * 43})
    assert refused.status_code == 302
