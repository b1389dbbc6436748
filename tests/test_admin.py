"""Administration: accounts, reassigning couples, the audit log; 404 for everyone else."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import TEST_PASSWORD, AuthActions
from therapy.extensions import db
from therapy.models import AuditEvent, Couple, CoupleReassignment, Tag, User


@pytest.fixture
def admin(make_user):
    return make_user("admin@example.com", name="Dr. Admin", admin=True)


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    assert AuthActions(client).login(admin).status_code == 302
    return client


def admin_rules(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]
    assert len(rules) >= 6, rules
    return rules


def url(app, rule, **values) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: values.get(name, 1) for name in rule.arguments})


def test_every_admin_url_is_404_for_a_therapist(app, logged_in, therapist, make_couple, admin):
    couple_id = make_couple(therapist)
    token = logged_in.csrf_token()
    before = (snapshot_users(app), couple_owner(app, couple_id))
    for rule in admin_rules(app):
        target = url(app, rule, couple_id=couple_id, user_id=admin.id)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token, "owner_id": str(therapist.id)}
            response = logged_in.open(target, method=method, data=data)
            assert response.status_code == 404, (method, target, response.status_code)
    assert (snapshot_users(app), couple_owner(app, couple_id)) == before
    # Nor is there a link to them.
    assert b"/admin" not in logged_in.get("/").data


def test_admin_sees_an_admin_link(admin_client):
    assert b'href="/admin/therapists"' in admin_client.get("/").data


def snapshot_users(app):
    with app.app_context():
        return [
            (u.id, u.email, u.active, u.role, u.session_token)
            for u in db.session.scalars(select(User).order_by(User.id))
        ]


def couple_owner(app, couple_id):
    with app.app_context():
        return db.session.get(Couple, couple_id).owner_id


def test_therapists_page_lists_accounts_with_couple_counts(
    app, admin_client, therapist, make_couple
):
    for n in range(3):
        make_couple(therapist, f"A{n}", f"B{n}")
    archived = make_couple(therapist, "Old", "Pair")
    with app.app_context():
        db.session.get(Couple, archived).archived_at = datetime.now(UTC)
        db.session.commit()
    page = admin_client.get("/admin/therapists").get_data(as_text=True)
    row = re.search(r"Dr\. First</th>(.*?)</tr>", page, re.S).group(1)
    assert "first@example.com" in row and "Therapist" in row and "Active" in row
    assert ">3 <span" in row and "(+1 archived)" in row
    admin_row = re.search(r"Dr\. Admin</th>(.*?)</tr>", page, re.S).group(1)
    assert "Administrator" in admin_row and "You" in admin_row


def test_admin_creates_a_therapist_account(app, admin_client, client):
    form = {
        "display_name": "Dr. New",
        "email": "New@Example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
    }
    response = admin_client.post("/admin/therapists", data=form)
    assert response.status_code == 302
    assert b"Created an account for Dr. New." in admin_client.get("/admin/therapists").data
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.com"))
        assert user.role == "therapist" and user.active
    signed_in = AuthActions(client).login(email="new@example.com", password=TEST_PASSWORD)
    assert signed_in.status_code == 302
    assert client.get("/couples").status_code == 200

    # The password policy, the same email twice, and bad input get messages by the fields.
    weak_password = {"password": "password1234", "confirm": "password1234"}
    weak = admin_client.post(
        "/admin/therapists", data={**form, "email": "x@example.com", **weak_password}
    )
    assert weak.status_code == 200 and b'id="password-error"' in weak.data
    again = admin_client.post("/admin/therapists", data=form)
    assert b"An account with this email already exists." in again.data
    blank = admin_client.post("/admin/therapists", data={**form, "display_name": "", "email": "x"})
    assert b"Enter the therapist&#39;s name." in blank.data
    assert b"Enter an email address like name@example.com." in blank.data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 2


def test_admin_create_refuses_a_password_built_from_the_new_therapists_details(app, admin_client):
    form = {"display_name": "Dr Alex Moreno", "email": "alex.moreno@clinic.example"}
    for password in (
        "Dr Alex Moreno alexmoreno",
        "alex.moreno@clinic.example",
        "tandemtandemtandem",
    ):
        page = admin_client.post(
            "/admin/therapists", data={**form, "password": password, "confirm": password}
        )
        assert page.status_code == 200 and b'id="password-error"' in page.data
        assert b"email address, name or the word Tandem" in page.data
    good = "sunlit orchard paperclip"
    response = admin_client.post(
        "/admin/therapists", data={**form, "password": good, "confirm": good}
    )
    assert response.status_code == 302


def test_deactivating_from_the_admin_page_ends_the_therapists_sessions(
    app, admin_client, therapist, logged_in
):
    assert logged_in.get("/couples").status_code == 200
    response = admin_client.post(f"/admin/therapists/{therapist.id}/deactivate")
    assert response.status_code == 302
    assert logged_in.get("/couples").status_code == 302  # signed out at once
    other = app.test_client()
    assert AuthActions(other).login(therapist).status_code == 200  # cannot sign in again
    page = admin_client.get("/admin/therapists").get_data(as_text=True)
    assert "Deactivated" in page and "Reactivate" in page

    assert admin_client.post(f"/admin/therapists/{therapist.id}/reactivate").status_code == 302
    assert AuthActions(other).login(therapist).status_code == 302
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.record_type == "user", AuditEvent.record_id == therapist.id
            )
        ).all()
    assert "user.deactivate" in actions and "user.activate" in actions


def test_an_admin_cannot_deactivate_themselves(app, admin_client, admin):
    response = admin_client.post(f"/admin/therapists/{admin.id}/deactivate", follow_redirects=True)
    assert b"You cannot deactivate your own account here." in response.data
    assert admin_client.get("/admin/therapists").status_code == 200
    with app.app_context():
        assert db.session.get(User, admin.id).active


def test_unknown_accounts_are_404(admin_client):
    for user_id in (999, 2**40):
        assert admin_client.post(f"/admin/therapists/{user_id}/deactivate").status_code == 404


def reassign(client, couple_id, owner_id, reason="Caseload balancing", **extra):
    data = {"owner_id": str(owner_id), "reason": reason, **extra}
    return client.post(f"/admin/couples/{couple_id}/reassign", data=data)


def test_reassign_moves_the_couple_and_is_audited(
    app, admin_client, admin, therapist, logged_in, make_user, make_couple
):
    second = make_user("second@example.com", name="Dr. Second")
    couple_id = make_couple(
        therapist,
        "Maya",
        "Ravi",
        presenting_concerns="Clinical detail the admin must not see",
        goals=(),
        tags=("grief", "long-distance"),
    )
    page = admin_client.get("/admin/couples").get_data(as_text=True)
    assert "Maya &amp; Ravi" in page and "Dr. First" in page
    assert "Clinical detail" not in page and "grief" not in page
    # The admin cannot open the record itself: it is not theirs.
    assert admin_client.get(f"/couples/{couple_id}").status_code == 404
    form = admin_client.get(
        f"/admin/couples/{couple_id}/reassign?back=/admin/couples?owner={therapist.id}"
    ).get_data(as_text=True)
    assert "Reassign Maya &amp; Ravi" in form and "Now with Dr. First." in form
    assert "Clinical detail" not in form and "grief" not in form
    # Neither the owner nor the administrator is offered.
    options = re.findall(r'<option value="(\d+)"', form)
    assert options == [str(second.id)]

    response = reassign(
        admin_client,
        couple_id,
        second.id,
        reason="  Caseload   balancing ",
        back=f"/admin/couples?owner={therapist.id}",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/couples?owner={therapist.id}"
    with app.app_context():
        couple = db.session.get(Couple, couple_id)
        assert couple.owner_id == second.id
        assert {t.owner_id for t in couple.tags} == {second.id}
        assert sorted(t.name for t in couple.tags) == ["grief", "long-distance"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "couple.reassign"))
        assert (event.actor_id, event.record_type, event.record_id) == (
            admin.id,
            "couple",
            couple_id,
        )
        moved = db.session.scalars(select(CoupleReassignment)).one()
        assert (moved.from_owner_id, moved.to_owner_id, moved.by_id, moved.reason) == (
            therapist.id,
            second.id,
            admin.id,
            "Caseload balancing",
        )
        # The old owner keeps their tag words; nothing else of theirs moved.
        assert db.session.scalar(select(func.count()).where(Tag.owner_id == therapist.id)) == 2

    assert logged_in.get(f"/couples/{couple_id}").status_code == 404
    new_owner = app.test_client()
    AuthActions(new_owner).login(second)
    profile = new_owner.get(f"/couples/{couple_id}")
    assert profile.status_code == 200
    today = datetime.now(UTC).strftime("%d %b %Y")
    assert (
        f"Reassigned to you from Dr. First by Dr. Admin (administrator) on {today}. "
        "Reason: Caseload balancing"
    ) in profile.get_data(as_text=True)
    found = new_owner.get("/couples?q=grief").get_data(as_text=True)
    assert "Maya &amp; Ravi" in found


def test_an_admin_cannot_reassign_a_couple_to_themselves(
    app, admin_client, admin, therapist, make_couple
):
    couple_id = make_couple(therapist, presenting_concerns="Clinical detail")
    page = reassign(admin_client, couple_id, admin.id, reason="I will take this one")
    assert page.status_code == 200
    assert (
        b"Not a valid choice" in page.data or b"cannot reassign a couple to yourself" in page.data
    )
    assert couple_owner(app, couple_id) == therapist.id
    assert admin_client.get(f"/couples/{couple_id}").status_code == 404
    # Nor through the service, nor by writing the row: the schema refuses it too.
    with app.app_context(), app.test_request_context():
        from therapy.admin import services

        admin_user = db.session.get(User, admin.id)
        with pytest.raises(services.ReassignRefused, match="to yourself"):
            services.reassign_couple(couple_id, admin.id, reason="mine", admin=admin_user)
        db.session.add(
            CoupleReassignment(
                couple_id=couple_id,
                from_owner_id=therapist.id,
                to_owner_id=admin.id,
                by_id=admin.id,
                reason="mine",
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert couple_owner(app, couple_id) == therapist.id


def test_an_admins_own_couple_can_go_to_another_therapist(
    app, admin_client, admin, make_user, make_couple
):
    colleague = make_user("colleague@example.com", name="Dr. Colleague")
    couple_id = make_couple(admin)
    assert reassign(admin_client, couple_id, colleague.id, reason="Leaving").status_code == 302
    assert couple_owner(app, couple_id) == colleague.id


def test_reassign_needs_a_short_reason_and_keeps_what_was_typed(
    app, admin_client, therapist, make_user, make_couple
):
    second = make_user("second@example.com", name="Dr. Second")
    couple_id = make_couple(therapist)
    page = reassign(admin_client, couple_id, second.id, reason="   ")
    assert page.status_code == 200
    assert b"Give a short reason; the new therapist sees it." in page.data
    assert f'<option selected value="{second.id}">'.encode() in page.data
    page = reassign(admin_client, couple_id, second.id, reason="x" * 201)
    assert page.status_code == 200 and b'id="reason-error"' in page.data
    assert b"x" * 201 in page.data
    assert couple_owner(app, couple_id) == therapist.id


def test_the_notice_is_for_the_new_owner_only(app, admin_client, therapist, make_user, make_couple):
    second = make_user("second@example.com", name="Dr. Second")
    couple_id = make_couple(therapist)
    reassign(admin_client, couple_id, second.id, reason="Leave cover")
    reassign(admin_client, couple_id, therapist.id, reason="Back from leave")
    owner = app.test_client()
    AuthActions(owner).login(therapist)
    page = owner.get(f"/couples/{couple_id}").get_data(as_text=True)
    assert "Reassigned to you from Dr. Second" in page and "Reason: Back from leave" in page
    assert "Leave cover" not in page


def test_reassign_refuses_inactive_same_and_unknown_owners(
    app, admin_client, therapist, make_user, make_couple
):
    gone = make_user("gone@example.com", name="Dr. Gone")
    couple_id = make_couple(therapist)
    admin_client.post(f"/admin/therapists/{gone.id}/deactivate")
    for owner_id in (str(gone.id), str(therapist.id), "999", "x", ""):
        assert reassign(admin_client, couple_id, owner_id).status_code == 200
    assert couple_owner(app, couple_id) == therapist.id
    assert reassign(admin_client, 999, therapist.id).status_code == 404
    assert admin_client.get("/admin/couples/999/reassign").status_code == 404
    with app.app_context():
        assert not db.session.scalar(
            select(func.count()).where(AuditEvent.action == "couple.reassign")
        )
    # An outside "back" address is not followed.
    second = make_user("second@example.com", name="Dr. Second")
    response = reassign(
        admin_client, couple_id, second.id, back="https://evil.example/admin/couples"
    )
    assert response.headers["Location"] == "/admin/couples"


def test_audit_log_is_read_only_paginated_and_filtered(
    app, admin_client, admin, therapist, logged_in, make_couple
):
    couple_id = make_couple(therapist)
    for _ in range(3):
        logged_in.get(f"/couples/{couple_id}")
    with app.app_context():
        old = AuditEvent(
            action="couple.view",
            record_type="couple",
            record_id=couple_id,
            actor_id=therapist.id,
            at=datetime.now(UTC) - timedelta(days=40),
        )
        db.session.add(old)
        db.session.add_all(AuditEvent(action="login.failed") for _ in range(60))
        db.session.commit()

    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Page 1 of 2" in page
    assert page.count("<tr>") == 51  # header and 50 events

    def rows(**args) -> list[str]:
        body = admin_client.get("/admin/audit", query_string=args).get_data(as_text=True)
        return re.findall(r'<td data-label="Action"><code>([^<]+)</code>', body)

    assert set(rows(actor=therapist.id)) == {"login", "couple.view"}
    assert rows(actor=therapist.id, action="couple.view") == ["couple.view"] * 4
    since = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    assert rows(actor=therapist.id, action="couple.view", since=since) == ["couple.view"] * 3
    until = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    assert rows(action="couple.view", until=until) == ["couple.view"]
    # A bad filter value is ignored with a message, not a 500.
    response = admin_client.get("/admin/audit", query_string={"since": "garbage", "actor": "x"})
    assert response.status_code == 200 and b"Not a valid date value." in response.data

    # Nothing in the app changes or deletes audit rows.
    for rule in admin_rules(app):
        if "audit" in rule.rule:
            assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert admin_client.post("/admin/audit").status_code == 405
    assert admin_client.delete("/admin/audit").status_code == 405
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == count
    for rule in app.url_map.iter_rules():
        assert "audit" not in rule.rule or rule.methods - {"HEAD", "OPTIONS"} == {"GET"}
