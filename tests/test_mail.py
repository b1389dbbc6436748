"""Sending from Tandem, against a real SMTP server on loopback (aiosmtpd).

The right link to the right partner only, nothing clinical in any message, `send-due`
idempotent and safe to kill mid-run, an unreachable server leaves the message queued
and shown to the therapist, and the laptop outbox."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.progress_helpers import held_session
from tests.smtp_helpers import SmtpServer, free_port, running_server
from therapy import mail
from therapy.extensions import db
from therapy.models import Couple, MessageState, OutgoingMessage, User, utcnow

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"http://[^\s]+/c/([A-Za-z0-9_-]{43})")
CLINICAL = (
    "Nowak-Smith",  # the couple's label
    "Kowalski",  # last names
    "Smith",
    "affair",  # presenting concerns
    "Recent threats",  # the safety flag's reason
    "Talked about chores",  # session notes
    "Ask about nights",
    "download",  # the homework's title
    "session",  # not even that there is therapy on a date
    "therap",  # "therapy", "therapist": the name alone says who it is from
)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from running_server()


@pytest.fixture
def couple_with_emails(app, therapist, library):
    from therapy.couples import services

    with app.app_context():
        owner = db.session.get(User, therapist.id)
        owner.display_name = "Dr. Rivera"
        data = services.CoupleData(
            partner_a=services.PartnerData("Zoë", "Kowalski", email="zoe@example.com"),
            partner_b=services.PartnerData("Łukasz", "Smith", email="lukasz@example.net"),
            label="Nowak-Smith",
            presenting_concerns="An affair last year.",
            safety_flag=True,
            safety_reason="Recent threats during arguments.",
        )
        couple_id = services.create_couple(owner, data).id
    held_session(app, couple_id)
    return couple_id


def use_smtp(app, server, **extra):
    app.config.update(server.config(), **extra)


def run_send_due(app):
    result = app.test_cli_runner().invoke(args=["send-due"])
    assert result.exit_code == 0, result.output
    return result.output


def test_each_partner_gets_their_own_link_at_their_own_address_and_nothing_clinical(
    app, logged_in, couple_with_emails, smtp_server
):
    use_smtp(app, smtp_server)
    page = logged_in.post(f"/couples/{couple_with_emails}/week/send", follow_redirects=True)
    assert "on its way to their email: Zoë and Łukasz" in page.get_data(as_text=True)
    assert smtp_server.inbox.received == []  # nothing is sent during the request
    assert "sent 2" in run_send_due(app)

    received = smtp_server.inbox.received
    assert len(received) == 2
    (to_zoe,) = smtp_server.inbox.to("zoe@example.com")
    (to_lukasz,) = smtp_server.inbox.to("lukasz@example.net")
    assert to_zoe.rcpt_tos == ["zoe@example.com"] and to_lukasz.rcpt_tos == ["lukasz@example.net"]
    assert to_zoe.body.startswith("Hi Zoë,") and "Dr. Rivera" in to_zoe.body
    assert to_lukasz.body.startswith("Hi Łukasz,")
    assert to_zoe.message["Message-ID"] != to_lukasz.message["Message-ID"]
    # Each partner's link opens that partner's page, never the other's.
    for entry, mine, theirs in ((to_zoe, "Zoë", "Łukasz"), (to_lukasz, "Łukasz", "Zoë")):
        (token,) = LINK.findall(entry.body)
        partner = app.test_client()
        assert partner.get(f"/c/{token}").status_code == 302
        page = partner.get("/c/").get_data(as_text=True)
        assert f"Hi {mine}" in page and theirs not in page
        # Nothing clinical, nor the other partner, anywhere in the message.
        whole = entry.message.as_string() + entry.body
        for text in (*CLINICAL, theirs):
            assert text.lower() not in whole.lower().replace("dr. rivera", ""), text
    # Sent: the link is cut out of what the database keeps.
    with app.app_context():
        rows = db.session.scalars(select(OutgoingMessage)).all()
        assert {row.state for row in rows} == {MessageState.SENT}
        assert all(not LINK.search(row.body) for row in rows)
    # Running again sends nothing twice.
    run_send_due(app)
    assert len(smtp_server.inbox.received) == 2


def test_a_partner_without_an_address_gets_nothing_and_the_therapist_is_told(
    app, logged_in, therapist, make_couple, library
):
    couple_id = make_couple(therapist, "Ada", "Ben")
    page = logged_in.post(f"/couples/{couple_id}/week/send", follow_redirects=True)
    assert "No partner has an email address on file" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(OutgoingMessage)).all() == []


def test_an_unreachable_server_leaves_the_message_queued_and_shown(
    app, logged_in, couple_with_emails, smtp_server
):
    closed_port = free_port()  # nothing listens here
    use_smtp(app, smtp_server, SMTP_PORT=closed_port)
    logged_in.post(f"/couples/{couple_with_emails}/week/send")
    assert "to retry 2" in run_send_due(app)
    with app.app_context():
        rows = db.session.scalars(select(OutgoingMessage)).all()
        assert {row.state for row in rows} == {MessageState.QUEUED}
        assert all("could not be reached" in row.last_error for row in rows)
        assert all(row.send_after > utcnow() for row in rows)  # backed off
        assert all(LINK.search(row.body) for row in rows)  # kept whole to send later
    week = logged_in.get(f"/couples/{couple_with_emails}/week").get_data(as_text=True)
    assert "Waiting to be sent" in week and "could not be reached" in week
    assert "Trying again at" in week
    dashboard = logged_in.get("/").get_data(as_text=True)
    assert "A message to Zoë did not go" in dashboard
    # Back-off: an immediate second run does not hammer the server.
    assert "to retry 0" in run_send_due(app)
    # The server is back and the retry time has come: each goes once.
    use_smtp(app, smtp_server)
    with app.app_context():
        for row in db.session.scalars(select(OutgoingMessage)):
            row.send_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert "sent 2" in run_send_due(app)
    assert len(smtp_server.inbox.received) == 2


def test_retries_back_off_exponentially_then_give_up_visibly(app, couple_with_emails, smtp_server):
    use_smtp(app, smtp_server, SMTP_PORT=free_port(), MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_SECONDS=60)
    with app.app_context():
        mail.queue_message(
            "zoe@example.com", "Hello", "Hi", key="t:1", couple_id=couple_with_emails, commit=True
        )
        waits = []
        for _ in range(3):
            before = utcnow()
            mail.send_due(now=before)
            row = db.session.scalars(select(OutgoingMessage)).one()
            db.session.refresh(row)
            waits.append(round((row.send_after - before).total_seconds() / 60))
            row.send_after = before
            db.session.commit()
        assert waits[:2] == [1, 2]
        assert row.state == MessageState.FAILED and row.attempts == 3


def test_a_killed_send_due_resumes_without_sending_anything_twice(
    app, database_url, couple_with_emails, smtp_server, tmp_path
):
    """Five messages; the run is killed (SIGKILL) while the server holds the third. The
    next run sends the fourth and fifth; the third is never sent again by itself."""
    use_smtp(app, smtp_server)
    with app.app_context():
        for number in range(1, 6):
            mail.queue_message(
                f"p{number}@example.com",
                f"Message {number}",
                f"Hi {number}",
                key=f"kill:{number}",
                couple_id=couple_with_emails,
            )
        db.session.commit()
    holding = threading.Event()
    release = threading.Event()

    def hold_the_third(entry):
        if entry.message["Subject"] == "Message 3":
            holding.set()
            release.wait(10)

    smtp_server.inbox.before_accept = hold_the_third
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "TANDEM_SMTP_HOST": smtp_server.host,
        "TANDEM_SMTP_PORT": str(smtp_server.port),
        "TANDEM_SMTP_STARTTLS": "0",
        "TANDEM_SMTP_FROM": "tandem@practice.example",
    }
    log = tmp_path / "send-due.log"
    with log.open("wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "send-due"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert holding.wait(60), log.read_text()
        os.kill(child.pid, signal.SIGKILL)  # mid-send: the third is with the server
        child.wait(10)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    smtp_server.inbox.before_accept = None
    subjects = lambda: sorted(str(r.message["Subject"]) for r in smtp_server.inbox.received)  # noqa: E731
    assert subjects() == ["Message 1", "Message 2", "Message 3"]

    run_send_due(app)  # resumes: the others go; the third is still held by its lease
    assert subjects() == [f"Message {n}" for n in range(1, 6)]
    with app.app_context():
        states = dict(
            db.session.execute(select(OutgoingMessage.subject, OutgoingMessage.state)).all()
        )
    assert states["Message 3"] == MessageState.SENDING
    # Once the lease is over, the third is marked uncertain, never sent again by itself.
    app.config["MAIL_LEASE_SECONDS"] = 0
    with app.app_context():
        mail.send_due(now=utcnow() + timedelta(minutes=10))
        row = db.session.scalars(
            select(OutgoingMessage).where(OutgoingMessage.subject == "Message 3")
        ).one()
        assert row.state == MessageState.UNCERTAIN and row.attempts == 1
    run_send_due(app)
    ids = [str(r.message["Message-ID"]) for r in smtp_server.inbox.received]
    assert len(ids) == 5 and len(set(ids)) == 5
    assert subjects().count("Message 3") == 1


def test_an_uncertain_message_is_shown_and_can_be_sent_again_by_hand(
    app, logged_in, couple_with_emails, smtp_server
):
    use_smtp(app, smtp_server)
    logged_in.post(f"/couples/{couple_with_emails}/week/send")
    with app.app_context():
        row = db.session.scalars(select(OutgoingMessage)).first()
        row.state, row.last_error = (
            MessageState.UNCERTAIN,
            "Sending stopped part-way; it may not have arrived.",
        )
        db.session.commit()
        row_id, message_id = row.id, mail.message_id(row)
    page = logged_in.get(f"/couples/{couple_with_emails}/week").get_data(as_text=True)
    assert "May not have arrived" in page and "Send again" in page
    logged_in.post(f"/messages/{row_id}/again")
    run_send_due(app)
    again = [r for r in smtp_server.inbox.received if r.message["Message-ID"] == message_id]
    assert len(again) == 1  # the same Message-ID as the first try


def test_without_smtp_messages_go_to_the_outbox_with_a_copy_button(
    app, logged_in, couple_with_emails
):
    assert not app.config["SMTP_HOST"]
    logged_in.post(f"/couples/{couple_with_emails}/week/send")
    assert "sent 2" in run_send_due(app)
    outbox = Path(app.instance_path) / "outbox"
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    page = logged_in.get("/outbox").get_data(as_text=True)
    links = re.findall(r'value="(http://[^"]+/c/[A-Za-z0-9_-]{43})"', page)
    assert len(links) == 2
    assert page.count('data-copy="outbox-link-') == 2
    week = logged_in.get(f"/couples/{couple_with_emails}/week").get_data(as_text=True)
    assert week.count("data-copy=") == 2


def test_another_therapist_sees_no_outbox_entry_and_cannot_send(
    app, logged_in, couple_with_emails, make_user
):
    logged_in.post(f"/couples/{couple_with_emails}/week/send")
    run_send_due(app)
    stranger = make_user("stranger@example.com")
    other = app.test_client()
    other.post("/login", data={"email": stranger.email, "password": stranger.password})
    assert "/c/" not in other.get("/outbox").get_data(as_text=True)
    assert other.post(f"/couples/{couple_with_emails}/week/send").status_code == 404
    assert other.get(f"/couples/{couple_with_emails}/week").status_code == 404


def test_the_schedule_queues_each_message_once_when_due(
    app, logged_in, couple_with_emails, smtp_server
):
    use_smtp(app, smtp_server)
    logged_in.post(
        f"/couples/{couple_with_emails}/week/schedule",
        data={"week_after_session": "1", "checkin_days_before": "2", "reminder_if_unanswered": "1"},
    )
    with app.app_context():
        couple = db.session.get(Couple, couple_with_emails)
        from therapy.sessions import services as sessions

        # An hour from now: messages go out from 9:00, so the day-before reminder is due
        # at any time of day (with 20 hours, from midnight to 9:00 it was not yet).
        sessions.create_session(couple, starts_at=utcnow() + timedelta(hours=1))
        db.session.commit()
    # The held session was 3 days ago: the week page is due; the next session is within
    # two days: the check-in is due, and the day-before reminder (no check-in came).
    run_send_due(app)
    run_send_due(app)
    kinds = sorted(
        str(r.message["Subject"]).split(",")[0].split(" from")[0]
        for r in smtp_server.inbox.received
    )
    assert len(smtp_server.inbox.received) == 6, kinds
    assert len(smtp_server.inbox.to("zoe@example.com")) == 3
    # Every kind of message: the partner's own name and link only, nothing clinical.
    for address, mine, theirs in (
        ("zoe@example.com", "Zoë", "Łukasz"),
        ("lukasz@example.net", "Łukasz", "Zoë"),
    ):
        for entry in smtp_server.inbox.to(address):
            assert entry.rcpt_tos == [address]
            assert entry.body.startswith(f"Hi {mine},") and len(LINK.findall(entry.body)) == 1
            whole = (entry.message.as_string() + entry.body).lower().replace("dr. rivera", "")
            for text in (*CLINICAL, theirs):
                assert text.lower() not in whole, text


def test_archiving_the_couple_calls_off_its_waiting_messages(
    app, logged_in, couple_with_emails, smtp_server
):
    use_smtp(app, smtp_server, SMTP_PORT=free_port())
    logged_in.post(f"/couples/{couple_with_emails}/week/send")
    run_send_due(app)  # unreachable: both wait for a retry, links inside
    logged_in.post(f"/couples/{couple_with_emails}/archive")
    use_smtp(app, smtp_server)
    with app.app_context():
        rows = db.session.scalars(select(OutgoingMessage)).all()
        assert {row.state for row in rows} == {MessageState.FAILED}
        assert all(not LINK.search(row.body) for row in rows)
        for row in rows:
            assert not mail.send_again(row)
    run_send_due(app)
    assert smtp_server.inbox.received == []


@pytest.fixture
def tls_smtp_server(tmp_path) -> Iterator[SmtpServer]:
    yield from running_server(tmp_path)


def test_starttls_is_used_and_the_certificate_checked(
    app, logged_in, couple_with_emails, tls_smtp_server
):
    """A server that refuses mail before STARTTLS gets it over TLS; a certificate Tandem
    cannot check sends nothing (and the message waits, shown)."""
    use_smtp(app, tls_smtp_server, SMTP_CA_FILE=None)  # the system CAs do not know it
    logged_in.post(f"/couples/{couple_with_emails}/week/send")
    assert "to retry 2" in run_send_due(app)
    assert tls_smtp_server.inbox.received == []
    week = logged_in.get(f"/couples/{couple_with_emails}/week").get_data(as_text=True)
    assert "certificate could not be checked" in week
    use_smtp(app, tls_smtp_server, SMTP_STARTTLS=False)  # plain text: refused by the server
    with app.app_context():
        for row in db.session.scalars(select(OutgoingMessage)):
            row.send_after = utcnow()
        db.session.commit()
    assert "to retry 2" in run_send_due(app)
    assert tls_smtp_server.inbox.received == []
    use_smtp(app, tls_smtp_server)
    with app.app_context():
        for row in db.session.scalars(select(OutgoingMessage)):
            row.send_after = utcnow()
        db.session.commit()
    assert "sent 2" in run_send_due(app)
    assert len(tls_smtp_server.inbox.received) == 2


def test_a_bad_address_fails_visibly_without_stopping_the_run(app, couple_with_emails, smtp_server):
    use_smtp(app, smtp_server, MAIL_MAX_ATTEMPTS=1)
    with app.app_context():
        mail.queue_message(
            "x@example.com\r\nBcc: all@example.com",
            "Hi",
            "Hi",
            key="bad",
            couple_id=couple_with_emails,
        )
        mail.queue_message("ok@example.com", "Hi", "Hi", key="good", couple_id=couple_with_emails)
        db.session.commit()
        report = mail.send_due()
        assert (report.sent, report.failed) == (1, 1)
    assert [r.rcpt_tos for r in smtp_server.inbox.received] == [["ok@example.com"]]


def test_a_shared_address_gets_neither_link(app, logged_in, therapist, library, smtp_server):
    from therapy.couples import services

    use_smtp(app, smtp_server)
    with app.app_context():
        data = services.CoupleData(
            partner_a=services.PartnerData("Ada", email="home@example.com"),
            partner_b=services.PartnerData("Ben", email="Home@Example.com "),
        )
        couple_id = services.create_couple(db.session.get(User, therapist.id), data).id
    page = logged_in.post(f"/couples/{couple_id}/week/send", follow_redirects=True)
    assert "have the same email address" in page.get_data(as_text=True)
    run_send_due(app)
    assert smtp_server.inbox.received == []


def test_a_password_reset_asked_for_by_email_arrives_through_the_queue(app, smtp_server):
    from therapy.auth import services

    with app.app_context():
        services.create_user("known@example.com", "Dr. Known", "correct horse battery staple")
    client = app.test_client()
    assert b"reset/request" not in client.get("/login").data  # no SMTP yet: no offer
    use_smtp(app, smtp_server)
    assert b"reset/request" in client.get("/login").data
    for email in ("known@example.com", "nobody@example.com"):
        client.post("/reset/request", data={"email": email})
    assert smtp_server.inbox.received == []  # queued, not sent during the request
    run_send_due(app)
    (received,) = smtp_server.inbox.received
    assert received.rcpt_tos == ["known@example.com"]
    link = re.search(r"http://localhost(/reset/\S+)", received.body)
    assert link is not None
    assert app.test_client().get(link.group(1)).status_code == 302
    with app.app_context():
        (row,) = db.session.scalars(select(OutgoingMessage)).all()
        assert row.state == MessageState.SENT and "/reset/" not in row.body
