"""Two-factor sign-in (authenticator apps, recovery codes), the pending state between
password and second factor, and one-time password reset links."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select, text

from tests.conftest import TEST_PASSWORD, AuthActions
from therapy.auth import factors
from therapy.extensions import db
from therapy.models import AuditEvent, PasswordReset, RecoveryCode, TotpFactor, User

SECRET = re.compile(r"data-secret>([A-Z2-7 ]+)</code>")
CODE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")
NEW_PASSWORD = "violet harbour lantern copper"


@pytest.fixture
def admin(make_user):
    return make_user("admin@example.com", name="Dr. Admin", admin=True)


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    assert AuthActions(client).login(admin).status_code == 302
    return client


@pytest.fixture
def frozen(monkeypatch):
    """Pin the clock the TOTP checks read; returns a setter to move it."""
    moment = {"now": 1_800_000_015.0}
    monkeypatch.setattr(factors, "now", lambda: moment["now"])

    def move(seconds: float) -> float:
        moment["now"] += seconds
        return moment["now"]

    return move


def code_at(secret: str, stamp: float) -> str:
    return pyotp.TOTP(secret).at(stamp)


def enrol_app(client) -> tuple[str, list[str]]:
    """Set up an authenticator app through the pages; returns its secret and the codes."""
    page = client.get("/account/two-factor/app").get_data(as_text=True)
    secret = SECRET.search(page).group(1).replace(" ", "")
    response = client.post("/account/two-factor/app", data={"code": code_at(secret, factors.now())})
    assert response.status_code == 200
    codes = CODE.findall(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def password_step(client, account):
    response = AuthActions(client).login(account)
    assert response.status_code == 302
    return response.headers["Location"]


def test_app_setup_then_sign_in_needs_a_code(app, logged_in, therapist, frozen):
    secret, _codes = enrol_app(logged_in)
    # The secret is stored encrypted and never shown again once the app is set up.
    with app.app_context():
        stored = db.session.scalar(select(TotpFactor.secret_encrypted))
        assert secret not in stored
    assert logged_in.get("/account/two-factor/app").status_code == 302
    assert secret not in logged_in.get("/account").get_data(as_text=True)

    logged_in.post("/logout")
    assert password_step(logged_in, therapist) == "/login/second-factor"
    assert logged_in.get("/").headers["Location"] == "/login/second-factor"
    frozen(30)
    response = logged_in.post("/login/second-factor", data={"code": code_at(secret, frozen(0))})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert logged_in.get("/").status_code == 200
    page = logged_in.get("/account").get_data(as_text=True)
    assert "Authenticator app" in page and "10 of 10 left" in page


def test_pending_sign_in_reaches_nothing_else(app, client, therapist, make_couple, frozen):
    couple_id = make_couple(therapist)
    with app.app_context():
        user = db.session.get(User, therapist.id)
        factor = factors.start_totp(user)
        factors.confirm_totp(user, code_at(factors.totp_secret(factor), factors.now()))
    assert password_step(client, therapist) == "/login/second-factor"
    token = client.csrf_token()
    # Every route of the app, by every method, including htmx and JSON requests.
    allowed = {"factors.challenge", "factors.passkey_options", "factors.passkey_verify"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in allowed | {"static", "auth.logout"}:
            continue
        values = {
            name: couple_id if "couple" in name else therapist.id if "user" in name else 1
            for name in rule.arguments
        }
        if "token" in rule.arguments:
            values["token"] = "x" * 43
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token, "display_name": "Changed", "label": "Changed"}
            for headers in ({}, {"HX-Request": "true"}, {"Accept": "application/json"}):
                response = client.open(url, method=method, data=data, headers=headers)
                assert response.status_code in (302, 401), (method, url, response.status_code)
                if response.status_code == 302:
                    assert response.headers["Location"] in ("/login/second-factor",), (method, url)
    # Above all, no new factor could be added by someone who has only the password.
    with app.app_context():
        assert db.session.get(User, therapist.id).display_name == "Dr. First"
        assert not factors.passkeys(db.session.get(User, therapist.id))
        assert db.session.scalar(text("SELECT count(*) FROM totp_factors")) == 1
    # Signing out forgets the password step.
    assert client.post("/logout").headers["Location"] == "/login"
    assert client.get("/login/second-factor").headers["Location"].startswith("/login?")


def test_pending_sign_in_lasts_ten_minutes(app, client, therapist, frozen):
    with app.app_context():
        user = db.session.get(User, therapist.id)
        factor = factors.start_totp(user)
        secret = factors.totp_secret(factor)
        factors.confirm_totp(user, code_at(secret, factors.now()))
    password_step(client, therapist)
    with time_machine.travel(timedelta(minutes=11), tick=False):
        frozen(11 * 60)
        response = client.post("/login/second-factor", data={"code": code_at(secret, frozen(0))})
    assert response.headers["Location"] == "/login"
    assert client.get("/").headers["Location"].startswith("/login")


def test_a_code_works_once_even_on_another_app_instance(app, make_app, client, therapist, frozen):
    with app.app_context():
        user = db.session.get(User, therapist.id)
        factor = factors.start_totp(user)
        secret = factors.totp_secret(factor)
        factors.confirm_totp(user, code_at(secret, factors.now()))
    frozen(30)
    code = code_at(secret, frozen(0))
    password_step(client, therapist)
    assert client.post("/login/second-factor", data={"code": code}).status_code == 302

    # The same code on a second instance of the app (another worker or server).
    other = make_app().test_client()
    password_step(other, therapist)
    response = other.post("/login/second-factor", data={"code": code})
    assert response.status_code == 200
    assert "That code did not work" in response.get_data(as_text=True)
    # Nor an older code that is still inside the window.
    older = code_at(secret, frozen(0) - 30)
    assert other.post("/login/second-factor", data={"code": older}).status_code == 200
    # The next step's code works.
    frozen(30)
    assert (
        other.post("/login/second-factor", data={"code": code_at(secret, frozen(0))}).status_code
        == 302
    )
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert actions.count("login.second_factor_failed") == 2


def test_codes_outside_the_window_are_refused(app, client, therapist, frozen):
    with app.app_context():
        user = db.session.get(User, therapist.id)
        factor = factors.start_totp(user)
        secret = factors.totp_secret(factor)
        factors.confirm_totp(user, code_at(secret, factors.now()))
    password_step(client, therapist)
    stamp = frozen(300)
    for stale in (code_at(secret, stamp - 90), code_at(secret, stamp + 90)):
        assert client.post("/login/second-factor", data={"code": stale}).status_code == 200
    assert (
        client.post("/login/second-factor", data={"code": code_at(secret, stamp + 30)}).status_code
        == 302
    )


def test_a_recovery_code_works_once(app, logged_in, therapist, frozen):
    _secret, codes = enrol_app(logged_in)
    logged_in.post("/logout")
    password_step(logged_in, therapist)
    response = logged_in.post("/login/second-factor", data={"code": codes[3].upper()})
    assert response.status_code == 302
    assert "9 left" in logged_in.get("/").get_data(as_text=True)
    logged_in.post("/logout")
    password_step(logged_in, therapist)
    response = logged_in.post("/login/second-factor", data={"code": codes[3]})
    assert response.status_code == 200
    with app.app_context():
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
        assert not any(code.replace("-", "") in h for code in codes for h in hashes)


def test_removing_a_method_needs_the_password(app, logged_in, frozen):
    enrol_app(logged_in)
    logged_in.post("/account/two-factor/app/remove", data={"password": "not my password"})
    assert "Authenticator app" in logged_in.get("/account").get_data(as_text=True)
    logged_in.post("/account/two-factor/app/remove", data={"password": TEST_PASSWORD})
    page = logged_in.get("/account").get_data(as_text=True)
    assert "You sign in with your password alone" in page
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "factor.remove" in actions


def test_required_second_factor_sends_people_to_set_one_up(
    app, admin_client, client, therapist, frozen
):
    admin_client.post("/admin/practice/second-factor", data={"require": "y"})
    assert password_step(client, therapist) == "/account/two-factor"
    assert client.get("/").headers["Location"] == "/account/two-factor"
    assert client.get("/couples").headers["Location"] == "/account/two-factor"
    assert "Your practice asks everyone" in client.get("/account/two-factor").get_data(as_text=True)
    _secret, _codes = enrol_app(client)
    # Setting it up finished the sign-in.
    assert client.get("/").status_code == 200
    # The last method cannot be removed while the practice requires one.
    client.post("/account/two-factor/app/remove", data={"password": TEST_PASSWORD})
    with app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM totp_factors")) == 1


def test_admin_removes_lost_factors_audited(app, admin_client, admin, client, therapist, frozen):
    password_step(client, therapist)  # no factor yet: signed in
    enrol_app(client)
    admin_client.post("/admin/practice/second-factor", data={"require": "y"})
    page = admin_client.get("/admin/therapists").get_data(as_text=True)
    assert "Remove second factors" in page
    response = admin_client.post(f"/admin/therapists/{therapist.id}/factors/remove")
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "factor.admin_remove")
        )
        assert event.actor_id == admin.id and event.record_id == therapist.id
        for table in ("totp_factors", "passkeys", "recovery_codes"):
            assert db.session.scalar(text(f"SELECT count(*) FROM {table}")) == 0  # noqa: S608
    # Their open session ended, and they must set up a new factor to sign in.
    assert client.get("/").headers["Location"].startswith("/login")
    assert password_step(client, therapist) == "/account/two-factor"


def issue_link(admin_client, account) -> str:
    response = admin_client.post(f"/admin/therapists/{account.id}/reset-link")
    assert response.status_code == 200
    match = re.search(r'id="reset-url" type="text" readonly value="([^"]+)"', response.text)
    return html.unescape(match.group(1))


def test_a_reset_link_works_once_and_ends_every_session(app, admin_client, therapist):
    signed_in = [app.test_client(), app.test_client()]
    for other in signed_in:
        assert AuthActions(other).login(therapist).status_code == 302
        assert other.get("/").status_code == 200
    link = issue_link(admin_client, therapist)
    path = link.split("localhost", 1)[1]
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalar(select(PasswordReset.token_hash))
        assert token not in stored and len(stored) == 64

    visitor = app.test_client()
    # Opening it (as a mail scanner would) uses nothing up, and leaves the token behind.
    assert visitor.get(path).headers["Location"] == "/reset/password"
    assert app.test_client().get(path).status_code == 302
    response = visitor.post(
        "/reset/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.headers["Location"] == "/login"
    for other in signed_in:
        assert other.get("/").headers["Location"].startswith("/login")
    assert visitor.get(path).status_code == 404
    assert "does not work" in visitor.get(path).get_data(as_text=True)
    auth = AuthActions(app.test_client())
    assert auth.login(therapist).status_code == 200
    assert auth.login(therapist, password=NEW_PASSWORD).status_code == 302
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "password.reset_link" in actions and "password.reset" in actions


def test_two_tabs_cannot_both_use_a_link(app, admin_client, therapist):
    path = "/reset/" + issue_link(admin_client, therapist).rsplit("/", 1)[1]
    first, second = app.test_client(), app.test_client()
    first.get(path)
    second.get(path)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert first.post("/reset/password", data=data).status_code == 302
    other = {"password": "amber meadow pencil river", "confirm": "amber meadow pencil river"}
    assert second.post("/reset/password", data=other).status_code == 404
    assert AuthActions(app.test_client()).login(therapist, password=NEW_PASSWORD).status_code == 302


def test_an_expired_or_replaced_link_is_refused(app, admin_client, therapist):
    old = "/reset/" + issue_link(admin_client, therapist).rsplit("/", 1)[1]
    new = "/reset/" + issue_link(admin_client, therapist).rsplit("/", 1)[1]
    assert app.test_client().get(old).status_code == 404
    visitor = app.test_client()
    assert visitor.get(new).status_code == 302
    with time_machine.travel(timedelta(minutes=61)):
        assert app.test_client().get(new).status_code == 404
        data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        assert visitor.post("/reset/password", data=data).status_code == 404
    assert AuthActions(app.test_client()).login(therapist).status_code == 302


def test_a_reset_keeps_the_second_factor(app, admin_client, client, therapist, frozen):
    password_step(client, therapist)
    enrol_app(client)
    path = "/reset/" + issue_link(admin_client, therapist).rsplit("/", 1)[1]
    visitor = app.test_client()
    visitor.get(path)
    visitor.post("/reset/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    response = AuthActions(visitor).login(therapist, password=NEW_PASSWORD)
    assert response.headers["Location"] == "/login/second-factor"


def test_a_weak_new_password_is_refused_and_the_link_kept(app, admin_client, therapist):
    path = "/reset/" + issue_link(admin_client, therapist).rsplit("/", 1)[1]
    visitor = app.test_client()
    visitor.get(path)
    response = visitor.post("/reset/password", data={"password": "short", "confirm": "short"})
    assert response.status_code == 200 and "at least 12" in response.get_data(as_text=True)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert visitor.post("/reset/password", data=data).status_code == 302


def test_email_reset_says_the_same_for_any_address(make_app, make_user):
    sent = []
    app = make_app(PASSWORD_RESET_SENDER=sent.append)
    with app.app_context():
        from therapy.auth import services

        services.create_user("known@example.com", "Dr. Known", TEST_PASSWORD)
    client = app.test_client()
    assert b"Forgot your password?" in client.get("/login").data
    pages = []
    for email in ("known@example.com", "nobody@example.com"):
        response = client.post("/reset/request", data={"email": email}, follow_redirects=True)
        pages.append(re.sub(r'content="[^"]+"|value="[^"]+"', "", response.get_data(as_text=True)))
    assert pages[0] == pages[1]
    assert "If that address belongs to an account" in pages[0]
    assert len(sent) == 1 and sent[0].to == "known@example.com"
    link = re.search(r"(http://localhost/reset/\S+)", sent[0].body).group(1)
    visitor = app.test_client()
    assert visitor.get(link.split("localhost", 1)[1]).status_code == 302


def test_no_email_reset_without_mail(client, therapist):
    assert client.get("/reset/request").status_code == 404
    assert (
        b"An administrator of your practice can give you a reset link" in client.get("/login").data
    )


def test_new_recovery_codes_need_the_password_and_replace_the_old(
    app, logged_in, therapist, frozen
):
    _secret, old = enrol_app(logged_in)
    refused = logged_in.post("/account/recovery-codes", data={"password": "not my password"})
    assert refused.status_code == 302
    response = logged_in.post("/account/recovery-codes", data={"password": TEST_PASSWORD})
    new = CODE.findall(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    logged_in.post("/logout")
    password_step(logged_in, therapist)
    assert logged_in.post("/login/second-factor", data={"code": old[0]}).status_code == 200
    assert logged_in.post("/login/second-factor", data={"code": new[0]}).status_code == 302


def test_the_command_line_removes_factors_when_no_administrator_can(
    app, runner, logged_in, therapist, frozen
):
    enrol_app(logged_in)
    result = runner.invoke(args=["remove-second-factors", therapist.email, "--yes"])
    assert result.exit_code == 0, result.output
    assert "Second factors removed" in result.output
    assert logged_in.get("/").headers["Location"].startswith("/login")
    assert password_step(logged_in, therapist) == "/"
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "factor.admin_remove")
        )
        assert event.actor_id is None and event.address == "cli"
    result = runner.invoke(args=["remove-second-factors", "nobody@example.com", "--yes"])
    assert result.exit_code != 0 and "No account" in result.output
