"""Sharing a couple: co-therapists and supervisors, checked on every couple-scoped route.

The walk takes every rule in app.url_map with a couple, session, check-in or link id and
sends it as the owner, a co-therapist, a supervisor, an unrelated therapist and a
signed-out visitor. A rule with an id argument this file does not know fails the test,
so a route added later is walked too.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask, url_for
from sqlalchemy import func, select

from tests.conftest import Account, AuthActions, Client
from tests.pdf_helpers import flat as pdf_text
from tests.progress_helpers import add_checkin, create_link, held_session, rating_form
from therapy import timeutil
from therapy.couples import sharing
from therapy.extensions import db
from therapy.models import (
    AuditEvent,
    CheckIn,
    CheckInLink,
    Couple,
    CoupleShare,
    Exercise,
    OutgoingMessage,
    TherapySession,
    User,
)
from therapy.models.base import utcnow
from therapy.sessions.services import add_item, create_session

ID_ARGUMENTS = {"couple_id", "session_id", "checkin_id", "link_id", "message_id"}
# Id arguments of routes that are not about a couple (checked by their own tests).
OTHER_ARGUMENTS = {"exercise_id", "user_id", "token", "filename", "passkey_id"}

# Routes that need more than reading even to open (their GET is refused to a supervisor).
EDIT_TO_OPEN = {"checkins.edit"}
# Posts that only read (printing the report stores nothing): a supervisor's is let through.
READ_POSTS = {"progress.report"}
# The owner's alone: sharing and deleting.
OWNER_ONLY = {"couples.sharing_page", "couples.share", "couples.revoke_share", "couples.delete"}
# Administrators' pages: 404 for every therapist, as if they did not exist.
ADMIN_ONLY = {"admin.reassign"}
# Changes the couple's state for the rest of the walk: sent last.
LAST = ("couples.archive",)


@dataclass
class World:
    owner: Account
    cotherapist: Account
    supervisor: Account
    stranger: Account
    couple_id: int
    ids: dict[str, int]
    clients: dict[str, Client]


def login(app: Flask, account: Account) -> Client:
    client: Client = app.test_client()  # type: ignore[assignment]
    assert AuthActions(client).login(account).status_code == 302
    return client


def share(app: Flask, couple_id: int, user: Account, role: str, *, private: bool = False) -> None:
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        owner = db.session.get(User, couple.owner_id)
        sharing.share_couple(couple, user.id, role, private_answers=private, by=owner)


@pytest.fixture
def world(app, library, therapist, make_user, make_couple) -> World:
    cotherapist = make_user("co@example.com", name="Dr. Co")
    supervisor = make_user("sup@example.com", name="Dr. Sup")
    stranger = make_user("stranger@example.com", name="Dr. Stranger")
    couple_id = make_couple(therapist, "Alexia", "Samir")
    held_session(app, couple_id)
    add_checkin(
        app,
        couple_id,
        "a",
        date.today(),
        was_hard="Hidden hurt words",
        was_hard_private=True,
        private=("communication",),
    )
    create_link(app, couple_id, "b")
    share(app, couple_id, cotherapist, "cotherapist")
    share(app, couple_id, supervisor, "supervisor")
    with app.app_context():
        message = OutgoingMessage(
            key="sharing-test",
            to_address="b@example.com",
            subject="Your link",
            body="Hello",
            couple_id=couple_id,
            partner_role="b",
            state="failed",
        )
        db.session.add(message)
        db.session.commit()
        ids = {
            "message_id": message.id,
            "couple_id": couple_id,
            "session_id": db.session.scalar(
                select(TherapySession.id).where(TherapySession.couple_id == couple_id)
            ),
            "checkin_id": db.session.scalar(
                select(CheckIn.id).where(CheckIn.couple_id == couple_id)
            ),
            "link_id": db.session.scalar(
                select(CheckInLink.id).where(CheckInLink.couple_id == couple_id)
            ),
        }
    clients = {
        "owner": login(app, therapist),
        "cotherapist": login(app, cotherapist),
        "supervisor": login(app, supervisor),
        "stranger": login(app, stranger),
        "signed_out": app.test_client(),
    }
    # The built-in measures are stored on first use: do it now, not during a walk.
    assert clients["owner"].get(f"/couples/{couple_id}/scores/new").status_code == 200
    return World(therapist, cotherapist, supervisor, stranger, couple_id, ids, clients)


def couple_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule with a couple-related id, archive last."""
    found = []
    for rule in app.url_map.iter_rules():
        arguments = set(rule.arguments)
        unknown = arguments - ID_ARGUMENTS - OTHER_ARGUMENTS
        assert not unknown, f"{rule.rule}: decide how {unknown} is checked in test_sharing.py"
        if not arguments & ID_ARGUMENTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule))
    found.sort(key=lambda item: (item[0] in LAST, item[1] == "POST", item[0]))
    return found


def url(app: Flask, rule, ids: dict[str, int]) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: ids[name] for name in rule.arguments})


def form(app: Flask, client: Client) -> dict[str, object]:
    """A post that would change things if it were let through."""
    return rating_form(
        app,
        9,
        partner="a",
        on_date=date.today().isoformat(),
        days="7",
        went_well="overwritten",
        status="ended",
        notes_happened="overwritten",
        confirm="Alexia & Samir",
        user_id="1",
        role="cotherapist",
        csrf_token=client.csrf_token(),
    )


def everything(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table but the audit trail (which records the refusals)."""
    with app.app_context():
        return {
            table.name: sorted(
                (tuple(map(repr, row)) for row in db.session.execute(select(table))), key=str
            )
            for table in db.metadata.sorted_tables
            if table.name != "audit_events"
        }


def test_routes_walked_include_every_kind(app):
    endpoints = {endpoint for endpoint, _, _ in couple_routes(app)}
    assert len(endpoints) >= 30
    assert {"couples.profile", "sessions.builder", "checkins.show", "checkins.revoke"} <= endpoints


def test_signed_out_and_unrelated_therapists_reach_nothing(app, world):
    for who in ("signed_out", "stranger"):
        client = world.clients[who]
        before = everything(app)
        for _endpoint, method, rule in couple_routes(app):
            target = url(app, rule, world.ids)
            data = form(app, client) if method == "POST" else None
            response = client.open(target, method=method, data=data)
            if who == "signed_out":
                assert response.status_code in (302, 401), (who, method, target)
                assert "/login" in response.headers.get("Location", "/login")
            else:
                assert response.status_code == 404, (who, method, target, response.status_code)
            assert "Alexia" not in response.get_data(as_text=True)
        assert everything(app) == before, who


def test_a_supervisor_reads_everything_and_every_post_is_refused(app, world):
    client = world.clients["supervisor"]
    before = everything(app)
    posts = refusals = 0
    for endpoint, method, rule in couple_routes(app):
        target = url(app, rule, world.ids)
        if method == "POST":
            response = client.post(target, data=form(app, client))
            expected = 404 if endpoint in ADMIN_ONLY else 200 if endpoint in READ_POSTS else 403
            assert response.status_code == expected, (endpoint, response.status_code)
            assert b"overwritten" not in response.data
            posts += 1
        else:
            response = client.get(target)
            if endpoint in ADMIN_ONLY:
                expected = 404
            elif endpoint in EDIT_TO_OPEN | OWNER_ONLY:
                expected = 403
            else:
                expected = 200
            assert response.status_code == expected, (endpoint, response.status_code)
        refusals += response.status_code == 403
    assert posts >= 15
    after = everything(app)
    assert {t for t in after if after[t] != before[t]} == set()
    with app.app_context():
        refused = db.session.scalar(
            select(func.count()).where(
                AuditEvent.action == "share.supervisor.refused",
                AuditEvent.actor_id == world.supervisor.id,
                AuditEvent.record_id == world.couple_id,
            )
        )
    assert refused == refusals


@pytest.mark.parametrize("who", ["owner", "cotherapist"])
def test_owner_and_cotherapist_are_let_through(app, world, who):
    client = world.clients[who]
    for endpoint, method, rule in couple_routes(app):
        target = url(app, rule, world.ids)
        data = {"csrf_token": client.csrf_token()} if method == "POST" else None
        response = client.open(target, method=method, data=data)
        if endpoint in ADMIN_ONLY:
            assert response.status_code == 404
        elif endpoint in OWNER_ONLY and who != "owner":
            assert response.status_code == 403, (endpoint, method, response.status_code)
        else:
            assert response.status_code not in (403, 404, 500), (
                endpoint,
                method,
                response.status_code,
            )


def test_every_access_by_a_non_owner_is_audited(app, world):
    couple = world.couple_id
    world.clients["owner"].get(f"/couples/{couple}")
    world.clients["supervisor"].get(f"/couples/{couple}")
    world.clients["supervisor"].get(f"/checkins/{world.ids['checkin_id']}")
    world.clients["cotherapist"].get(f"/sessions/{world.ids['session_id']}")
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.action, AuditEvent.record_id).where(
                AuditEvent.action.like("share.%.access")
            )
        ).all()
    assert sorted(events) == sorted(
        [
            (world.supervisor.id, "share.supervisor.access", couple),
            (world.supervisor.id, "share.supervisor.access", couple),
            (world.cotherapist.id, "share.cotherapist.access", couple),
        ]
    )


def test_a_supervisor_sees_private_answers_only_when_allowed(app, world, make_user):
    checkin = f"/checkins/{world.ids['checkin_id']}"
    progress = f"/couples/{world.couple_id}/progress"
    hidden = world.clients["supervisor"].get(checkin).get_data(as_text=True)
    assert "Hidden hurt words" not in hidden
    assert "Private: not shown to you" in hidden
    assert "Hidden hurt words" not in world.clients["supervisor"].get(progress).get_data(
        as_text=True
    )
    # The co-therapist and the owner read them.
    for who in ("owner", "cotherapist"):
        assert "Hidden hurt words" in world.clients[who].get(checkin).get_data(as_text=True)
        assert "Hidden hurt words" in world.clients[who].get(progress).get_data(as_text=True)
    # A supervisor the owner allowed private answers reads them too.
    trusted = make_user("trusted@example.com", name="Dr. Trusted")
    share(app, world.couple_id, trusted, "supervisor", private=True)
    client = login(app, trusted)
    assert "Hidden hurt words" in client.get(checkin).get_data(as_text=True)
    assert "Hidden hurt words" in client.get(progress).get_data(as_text=True)


def test_a_supervisor_prints_the_report_with_what_their_page_shows(app, world, make_user):
    report = f"/couples/{world.couple_id}/report.pdf"

    def printed(client: Client) -> str:
        # A report for the therapist's records is asked for: no "for the couple" box.
        data = {"start": "2020-01-01", "csrf_token": client.csrf_token()}
        response = client.post(report, data=data)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        return pdf_text(response.data)

    restricted = printed(world.clients["supervisor"])
    assert "Hidden hurt words" not in restricted
    assert "For the supervisor: answers marked private" in restricted
    assert "prepared by Dr. Sup" in restricted
    assert "Hidden hurt words" in printed(world.clients["owner"])
    trusted = make_user("trusted@example.com", name="Dr. Trusted")
    share(app, world.couple_id, trusted, "supervisor", private=True)
    allowed = printed(login(app, trusted))
    assert "Hidden hurt words" in allowed and "For the therapist's records" in allowed
    # The page offers the form to the supervisor, and a refused form keeps private out too.
    client = world.clients["supervisor"]
    page = client.get(f"/couples/{world.couple_id}/progress").get_data(as_text=True)
    assert f'action="/couples/{world.couple_id}/report.pdf"' in page
    refused = client.post(report, data={"start": "not a date", "csrf_token": client.csrf_token()})
    assert refused.status_code == 422
    assert "Hidden hurt words" not in refused.get_data(as_text=True)
    with app.app_context():
        printed_by = db.session.scalars(
            select(AuditEvent.actor_id).where(
                AuditEvent.action == "report.export", AuditEvent.record_id == world.couple_id
            )
        ).all()
    assert sorted(printed_by) == sorted([world.supervisor.id, world.owner.id, trusted.id])


def test_revoking_refuses_the_next_request_from_any_open_page(app, world):
    co = world.clients["cotherapist"]
    session_url = f"/sessions/{world.ids['session_id']}"
    assert co.get(session_url).status_code == 200
    owner = world.clients["owner"]
    page = owner.get(f"/couples/{world.couple_id}/sharing").get_data(as_text=True)
    assert "Dr. Co" in page and "Dr. Sup" in page
    with app.app_context():
        share_id = db.session.scalar(
            select(CoupleShare.id).where(CoupleShare.user_id == world.cotherapist.id)
        )
    response = owner.post(
        f"/couples/{world.couple_id}/sharing/revoke", data={"share_id": str(share_id)}
    )
    assert response.status_code == 302
    # The same login session, the next click: a full page, an htmx request, a save.
    assert co.get(session_url).status_code == 404
    assert co.get(session_url, headers={"HX-Request": "true"}).status_code == 404
    token = co.csrf_token()
    saved = co.post(
        f"/sessions/{world.ids['session_id']}/notes",
        data={"csrf_token": token, "notes_happened": "late"},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 404
    assert co.get(f"/couples/{world.couple_id}").status_code == 404
    with app.app_context():
        revoked = db.session.scalar(
            select(func.count()).where(AuditEvent.action == "share.cotherapist.revoke")
        )
    assert revoked == 1


def test_only_the_owner_shares_and_sharing_is_from_the_page(app, world, make_user):
    newcomer = make_user("new@example.com", name="Dr. New")
    owner = world.clients["owner"]
    page = owner.get(f"/couples/{world.couple_id}/sharing").get_data(as_text=True)
    assert "Dr. New" in page
    response = owner.post(
        f"/couples/{world.couple_id}/sharing",
        data={"user_id": str(newcomer.id), "role": "supervisor"},
    )
    assert response.status_code == 302
    with app.app_context():
        made = db.session.scalars(
            select(CoupleShare).where(CoupleShare.user_id == newcomer.id)
        ).one()
        assert (made.role, made.private_answers) == ("supervisor", False)
    # Sharing with the owner, or twice, is refused with a message.
    again = owner.post(
        f"/couples/{world.couple_id}/sharing",
        data={"user_id": str(newcomer.id), "role": "cotherapist"},
    )
    assert again.status_code == 422
    # A co-therapist cannot share onwards.
    co = world.clients["cotherapist"]
    refused = co.post(
        f"/couples/{world.couple_id}/sharing",
        data={"user_id": str(world.stranger.id), "role": "cotherapist"},
    )
    assert refused.status_code == 403


def test_the_caseload_shows_shared_couples_apart(app, world, make_couple):
    make_couple(world.cotherapist, "Own", "Couple")
    page = world.clients["cotherapist"].get("/couples").get_data(as_text=True)
    assert "Shared with you" in page
    mine, shared = page.split("Shared with you", 1)
    assert "Own &amp; Couple" in mine and "Alexia" not in mine
    assert "Alexia &amp; Samir" in shared and "Co-therapist" in shared
    assert "Shared with you" not in world.clients["stranger"].get("/couples").get_data(as_text=True)
    # The caseload's search and status filter apply to the shared section too.
    co = world.clients["cotherapist"]
    assert "Shared with you" not in co.get("/couples?q=own").get_data(as_text=True)
    assert "Alexia &amp; Samir" in co.get("/couples?q=alexia").get_data(as_text=True)
    assert "Shared with you" not in co.get("/couples?archived=1").get_data(as_text=True)
    profile = world.clients["supervisor"].get(f"/couples/{world.couple_id}").get_data(as_text=True)
    assert "Shared with you as <strong>supervisor</strong>" in profile
    assert f'/couples/{world.couple_id}/edit"' not in profile
    assert f'/couples/{world.couple_id}/export"' not in profile


def test_admin_reassignment_to_a_cotherapist_ends_their_share(app, world, make_user):
    admin = make_user("admin@example.com", name="Admin", admin=True)
    client = login(app, admin)
    response = client.post(
        f"/admin/couples/{world.couple_id}/reassign",
        data={"owner_id": str(world.cotherapist.id), "reason": "Leave"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Couple, world.couple_id).owner_id == world.cotherapist.id
        assert not db.session.scalars(
            select(CoupleShare).where(CoupleShare.user_id == world.cotherapist.id)
        ).all()
    assert world.clients["owner"].get(f"/couples/{world.couple_id}").status_code == 404
    co_page = world.clients["cotherapist"].get(f"/couples/{world.couple_id}/sharing")
    assert co_page.status_code == 200
    assert world.clients["supervisor"].get(f"/couples/{world.couple_id}").status_code == 200


def test_a_supervisor_reads_the_plan_with_no_control_that_would_change_it(app, world):
    builder = f"/sessions/{world.ids['session_id']}"
    owner = world.clients["owner"].get(builder).get_data(as_text=True)
    page = world.clients["supervisor"].get(builder).get_data(as_text=True)
    # The owner's page has the controls; the supervisor's shows the plan without them.
    for control in ("Save plan", "Add exercises", "Save details", "/items"):
        assert control in owner
        assert control not in page, control
    assert "you can read this plan but not change it" in page
    assert page.count('<fieldset class="bare" disabled>') == 2
    # A co-therapist edits, so keeps every control.
    co = world.clients["cotherapist"].get(builder).get_data(as_text=True)
    assert "Save plan" in co and "Add exercises" in co


def test_a_cotherapist_has_the_shared_couple_on_the_dashboard_and_the_week_print(app, world):
    """This week's session, a partner's "no" to feeling safe and the couple's safety flag
    reach the co-therapist, who may see them next; a supervisor's dashboard stays empty."""
    starts = utcnow() + timedelta(days=1)
    with app.app_context():
        couple = db.session.get(Couple, world.couple_id)
        upcoming = create_session(couple, starts_at=starts)
        daily = db.session.scalars(
            select(Exercise).where(Exercise.key == "communication-daily-download")
        ).one()
        add_item(upcoming, daily, homework=True)
        couple.safety_flag = True
        checkin = db.session.get(CheckIn, world.ids["checkin_id"])
        checkin.safety_answer = "no"
        db.session.commit()
        upcoming_id = upcoming.id
    co, sup = world.clients["cotherapist"], world.clients["supervisor"]
    dashboard = co.get("/").get_data(as_text=True)
    week = dashboard.split('id="week-heading"')[1].split("</section>")[0]
    assert f'href="/sessions/{upcoming_id}"' in week
    assert "shared with you as co-therapist" in week
    attention = dashboard.split('id="attention-heading"')[1].split("</section>")[0]
    assert "Alexia answered “No” to “Do you feel safe at home right now?”" in attention
    flags = dashboard.split('id="safety-heading"')[1].split("</section>")[0]
    assert "Alexia &amp; Samir" in flags or "Alexia & Samir" in html.unescape(flags)
    # The owner's dashboard is unchanged by the share; the supervisor's lists none of it.
    owner = world.clients["owner"].get("/").get_data(as_text=True)
    assert f'href="/sessions/{upcoming_id}"' in owner and "co-therapist" not in owner
    assert "Alexia" not in sup.get("/").get_data(as_text=True).split("</h1>")[1]
    # Opened by the co-therapist, it is among their recently viewed; the supervisor's not.
    co.get(f"/couples/{world.couple_id}")
    sup.get(f"/couples/{world.couple_id}")
    recent = co.get("/").get_data(as_text=True).split('id="recent-heading"')[1]
    assert f'href="/couples/{world.couple_id}"' in recent.split("</section>")[0]
    assert "Alexia" not in sup.get("/").get_data(as_text=True).split("</h1>")[1]
    # The week's print run takes the shared session, and its access is audited.
    day = timeutil.to_local(starts).date().isoformat()
    query = f"first={day}&last={day}"
    week_page = co.get(f"/handouts/week?{query}").get_data(as_text=True)
    assert "1 handout to print" in week_page
    assert "Shared with you as" not in week_page  # a page about many couples, not this one
    printed = co.get(f"/handouts/week.pdf?{query}")
    assert printed.status_code == 200 and "Alexia" in pdf_text(printed.data)
    assert "no session" in sup.get(f"/handouts/week?{query}").get_data(as_text=True).lower()
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.actor_id == world.cotherapist.id,
                AuditEvent.record_id == world.couple_id,
            )
        ).all()
    assert audited.count("share.cotherapist.access") >= 2


def test_a_partners_safety_answer_on_the_couple_page_as_each_role_may_see_it(app, world):
    """Every therapist of the couple learns that a partner may not feel safe. The words of
    the partner's note are a private answer: a supervisor the owner did not allow private
    answers does not read them. Only those who may change things see "Mark seen"."""
    with app.app_context():
        checkin = db.session.get(CheckIn, world.ids["checkin_id"])
        checkin.safety_answer = "no"
        checkin.safety_note = "Words only the therapists read"
        db.session.commit()
    profile = f"/couples/{world.couple_id}"
    pages = {
        who: html.unescape(world.clients[who].get(profile).get_data(as_text=True))
        for who in ("owner", "cotherapist", "supervisor")
    }
    for who, page in pages.items():
        assert "A partner may not feel safe" in page, who
        assert "The other partner never sees this; only the couple's therapists do." in page
        assert "Only you see this" not in page
    for who in ("owner", "cotherapist"):
        assert "Words only the therapists read" in pages[who]
        assert "Mark seen" in pages[who]
    assert "Words only the therapists read" not in pages["supervisor"]
    assert "They wrote a note: private, not shown to you." in pages["supervisor"]
    assert "Mark seen" not in pages["supervisor"]
