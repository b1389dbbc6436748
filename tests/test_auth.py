"""Signing in and out, first-run setup, rate limits, timeouts and the account page."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_PASSWORD
from therapy.auth import sessions
from therapy.extensions import db
from therapy.models import AuditEvent, User


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- first run -------------------------------------------------------------------------


def setup_form(**overrides):
    return {
        "display_name": "Dr. Ada",
        "email": "Ada@Example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        **overrides,
    }


def test_first_visit_leads_to_setup_and_creates_an_admin(app, client):
    response = client.get("/")
    assert response.headers["Location"] == "/setup"
    assert b"Set up Tandem" in client.get("/setup").data
    response = client.post("/setup", data=setup_form())
    assert response.status_code == 302
    assert b"Good to see you, Dr. Ada" in client.get("/").data
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ada@example.com"
        assert user.role == "admin"
        assert user.password_hash.startswith("$argon2id$")


def test_setup_is_gone_once_an_account_exists(client, therapist):
    assert client.get("/setup").status_code == 404
    assert client.post("/setup", data=setup_form()).status_code == 404


def test_setup_refuses_weak_and_mismatched_passwords(app, client):
    page = client.post("/setup", data=setup_form(password="short", confirm="short"))
    assert page.status_code == 200
    assert b"Use at least 12 characters." in page.data
    page = client.post("/setup", data=setup_form(password="password1234", confirm="password1234"))
    assert b"very common password" in page.data
    page = client.post("/setup", data=setup_form(confirm="something else entirely"))
    assert b"The passwords differ." in page.data
    # What was typed (other than passwords) is still in the form.
    assert b'value="Dr. Ada"' in page.data
    assert count(app, User) == 0


# Passwords built from the account's own email or name, or from the app's name. Each is
# long enough, and zxcvbn alone scores the first two 3 or 4 even when told the email and
# name: the space between the copies is what it counts as hard to guess.
PERSONAL_PASSWORDS = [
    ("a@t.example", "A T", "a@t.example a@t.example"),
    ("alex.moreno@clinic.example", "Dr Alex Moreno", "Dr Alex Moreno alexmoreno"),
    ("alex.moreno@clinic.example", "Dr Alex Moreno", "@lexM0ren0 clinic.example"),
    ("ada@example.com", "Dr. Ada", "tandemtandemtandem"),
]
PERSONAL_REFUSAL = b"mostly the account&#39;s email address, name or the word Tandem"
GOOD_PASSWORD = "sunlit orchard paperclip"


@pytest.mark.parametrize(("email", "name", "password"), PERSONAL_PASSWORDS)
def test_setup_refuses_a_password_built_from_the_email_or_name(app, client, email, name, password):
    form = setup_form(email=email, display_name=name, password=password, confirm=password)
    page = client.post("/setup", data=form)
    assert page.status_code == 200
    assert PERSONAL_REFUSAL in page.data
    assert count(app, User) == 0
    good = setup_form(email=email, display_name=name, password=GOOD_PASSWORD, confirm=GOOD_PASSWORD)
    assert client.post("/setup", data=good).status_code == 302
    assert count(app, User) == 1


@pytest.mark.parametrize(("email", "name", "password"), PERSONAL_PASSWORDS)
def test_create_user_refuses_a_password_built_from_the_email_or_name(
    app, runner, email, name, password
):
    result = runner.invoke(args=["create-user", email, "--name", name], input=password + "\n")
    assert result.exit_code != 0
    assert "mostly the account's email address, name or the word Tandem" in result.output
    assert count(app, User) == 0


def test_password_change_refuses_the_users_own_email_and_name(app, client, auth, make_user):
    account = make_user("alex.moreno@clinic.example", name="Dr Alex Moreno")
    auth.login(account)
    for password in ("Dr Alex Moreno alexmoreno", "alex.moreno@clinic.example moreno"):
        page = client.post(
            "/account/password",
            data={"current_password": TEST_PASSWORD, "password": password, "confirm": password},
        )
        assert page.status_code == 200 and PERSONAL_REFUSAL in page.data
    response = client.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "password": GOOD_PASSWORD,
            "confirm": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 302


def test_two_simultaneous_setups_create_one_account(app):
    clients = [app.test_client(), app.test_client()]
    tokens = [c.csrf_token() for c in clients]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def submit(index: int) -> None:
        barrier.wait()
        response = clients[index].post(
            "/setup", data=setup_form(email=f"admin{index}@example.com", csrf_token=tokens[index])
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [302, 404]
    assert count(app, User) == 1


# --- signing in ------------------------------------------------------------------------


def test_login_and_logout(client, auth, therapist):
    assert client.get("/").status_code == 302
    response = auth.login(therapist)
    assert response.headers["Location"] == "/"
    assert b"Dr. First" in client.get("/").data
    response = auth.logout()
    assert response.headers["Location"] == "/login"
    assert client.get("/").headers["Location"].startswith("/login")


def test_email_is_case_insensitive(client, auth, therapist):
    assert auth.login(email="FIRST@example.COM ", password=TEST_PASSWORD).status_code == 302


def test_unknown_email_and_wrong_password_look_the_same(client, auth, therapist):
    wrong_password = auth.login(email=therapist.email, password="not the password at all")
    unknown_email = auth.login(email="nobody@example.com", password="not the password at all")
    assert wrong_password.status_code == unknown_email.status_code == 200
    message = b"That email and password do not match an active account."
    assert message in wrong_password.data and message in unknown_email.data


def test_failed_and_successful_logins_are_audited(app, auth, therapist):
    auth.login(email=therapist.email, password="wrong wrong wrong")
    auth.login(therapist)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["login.failed", "login"]
        assert db.session.get(User, therapist.id).last_login_at is not None


def test_long_unicode_password_works_without_truncation(client, auth, make_user):
    password = "Zoë Łukasz Ñandú Σοφία Дмитрий 李娜 محمد " + "ü" * 30
    password = password[:64]
    assert len(password) == 64
    account = make_user("unicode@example.com", password=password)
    assert auth.login(account).status_code == 302
    auth.logout()
    changed_last = password[:-1] + ("x" if password[-1] != "x" else "y")
    assert auth.login(email=account.email, password=changed_last).status_code == 200


def test_deactivated_account_cannot_sign_in(app, client, auth, therapist):
    with app.app_context():
        db.session.get(User, therapist.id).active = False
        db.session.commit()
    assert auth.login(therapist).status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.tld",
        "//evil.tld",
        "////evil.tld",
        "/\\evil.tld",
        "https:evil.tld",
        "%2F%2Fevil.tld",
        "javascript:alert(1)",
        "/\r\nLocation: https://evil.tld",
    ],
)
def test_next_never_leaves_the_site(client, therapist, target):
    response = client.post(
        f"/login?next={target}",
        data={"email": therapist.email, "password": TEST_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_leads_to_a_local_path(client, therapist):
    response = client.post(
        "/login", data={"email": therapist.email, "password": TEST_PASSWORD, "next": "/account"}
    )
    assert response.headers["Location"] == "/account"


def test_protected_page_remembers_where_you_were_going(client, therapist):
    response = client.get("/account")
    assert response.headers["Location"] == "/login?next=/account"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account"' in page


# --- rate limits -----------------------------------------------------------------------


def attempt(client, email: str, password: str, address: str, **kwargs):
    """One sign-in attempt from a client address."""
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        **kwargs,
    )


def test_thirty_failures_from_one_address_stop_that_address_not_the_owner(app, therapist):
    attacker = app.test_client()
    for number in range(30):
        assert (
            attempt(attacker, therapist.email, f"wrong {number}", "198.51.100.7").status_code == 200
        )
    # The attacker's address is stopped for this account, even with the right password...
    refused = attempt(attacker, therapist.email, TEST_PASSWORD, "198.51.100.7")
    assert refused.status_code == 429
    assert b"Too many attempts" in refused.data and b"Traceback" not in refused.data
    # ...while the owner, at another address in a browser never used before, signs in.
    owner = app.test_client()
    assert attempt(owner, therapist.email, TEST_PASSWORD, "203.0.113.20").status_code == 302
    # Other accounts are still open to that address, up to the address-wide limit.
    assert attempt(attacker, "other@example.com", "wrong", "198.51.100.7").status_code == 200


def test_a_forged_forwarded_for_does_not_reset_the_account_and_address_count(app, therapist):
    attacker = app.test_client()
    for number in range(30):
        response = attempt(
            attacker,
            therapist.email,
            "wrong",
            "198.51.100.7",
            headers={"X-Forwarded-For": f"203.0.113.{number}"},
        )
        assert response.status_code == 200
    response = attempt(
        attacker,
        therapist.email,
        TEST_PASSWORD,
        "198.51.100.7",
        headers={"X-Forwarded-For": "203.0.113.99"},
    )
    assert response.status_code == 429


def test_the_address_wide_limit_counts_every_account(app, therapist):
    attacker = app.test_client()
    for number in range(100):
        response = attempt(attacker, f"guess{number}@example.com", "wrong", "198.51.100.7")
        assert response.status_code == 200
    assert attempt(attacker, therapist.email, TEST_PASSWORD, "198.51.100.7").status_code == 429
    owner = app.test_client()
    assert attempt(owner, therapist.email, TEST_PASSWORD, "203.0.113.20").status_code == 302


def test_an_attack_from_many_addresses_holds_up_new_browsers_not_the_owners(
    app, auth, therapist, make_user
):
    app.config["LOGIN_LIMIT_ACCOUNT"] = "10 per 15 minutes"
    # The owner's own browser signed in before: it carries a device cookie for the account.
    owners_browser = app.test_client()
    assert (
        attempt(owners_browser, therapist.email, TEST_PASSWORD, "203.0.113.20").status_code == 302
    )
    owners_browser.post("/logout")
    for number in range(10):
        spread = app.test_client()
        assert attempt(spread, therapist.email, "wrong", f"10.0.{number}.1").status_code == 200

    # A browser that never signed in to this account waits, wherever it is...
    new_browser = app.test_client()
    assert attempt(new_browser, therapist.email, TEST_PASSWORD, "203.0.113.30").status_code == 429
    # ...so does one showing a forged cookie, or a real one for another account...
    forged = app.test_client()
    forged.set_cookie("tandem_device", "eyJkIjoieCIsImEiOltdfQ.forged.signature", path="/login")
    assert attempt(forged, therapist.email, TEST_PASSWORD, "203.0.113.31").status_code == 429
    colleague = make_user("colleague@example.com")
    shared = app.test_client()
    assert attempt(shared, colleague.email, TEST_PASSWORD, "203.0.113.32").status_code == 302
    shared.post("/logout")
    assert attempt(shared, therapist.email, TEST_PASSWORD, "203.0.113.32").status_code == 429
    # ...but the owner's own browser signs in, from any address.
    assert (
        attempt(owners_browser, therapist.email, TEST_PASSWORD, "203.0.113.40").status_code == 302
    )


def test_a_known_browser_has_a_count_of_its_own(app, therapist):
    app.config["LOGIN_LIMIT_ACCOUNT"] = "10 per 15 minutes"
    browser = app.test_client()
    assert attempt(browser, therapist.email, TEST_PASSWORD, "203.0.113.20").status_code == 302
    browser.post("/logout")
    # A stolen device cookie is no way around the limit: its failures count too.
    for number in range(10):
        assert attempt(browser, therapist.email, "wrong", f"10.1.{number}.1").status_code == 200
    assert attempt(browser, therapist.email, TEST_PASSWORD, "10.1.99.1").status_code == 429
    assert attempt(app.test_client(), therapist.email, TEST_PASSWORD, "10.2.0.1").status_code == 302


def test_the_device_cookie_is_signed_scoped_and_names_no_one(client, auth, therapist):
    response = auth.login(therapist)
    cookie = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("tandem_device=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/login" in cookie
    assert therapist.email not in cookie and "first" not in cookie.lower()
    # Failed sign-ins leave no cookie.
    auth.logout()
    failed = auth.login(email=therapist.email, password="wrong")
    assert not any(h.startswith("tandem_device=") for h in failed.headers.getlist("Set-Cookie"))


def test_one_address_is_limited_across_accounts(app, client, therapist):
    app.config["LOGIN_LIMIT_ADDRESS"] = "5 per 15 minutes"
    token = client.csrf_token()
    for attempt in range(5):
        response = client.post(
            "/login",
            data={"email": f"guess{attempt}@example.com", "password": "wrong", "csrf_token": token},
        )
        assert response.status_code == 200
    response = client.post(
        "/login", data={"email": therapist.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429


def test_forged_forwarded_for_does_not_reset_the_address_count(app, client, therapist):
    app.config["LOGIN_LIMIT_ADDRESS"] = "5 per 15 minutes"
    token = client.csrf_token()
    for attempt in range(6):
        response = client.post(
            "/login",
            data={"email": f"guess{attempt}@example.com", "password": "wrong", "csrf_token": token},
            headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
        )
    assert response.status_code == 429


def test_successful_logins_are_not_counted(client, auth, therapist):
    for _ in range(35):
        assert auth.login(therapist).status_code == 302
        auth.logout()


# --- session lifetime ------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        offset = 0.0

        def advance(self, delta: timedelta) -> None:
            self.offset += delta.total_seconds()

    clock = Clock()
    real_now = sessions.now
    monkeypatch.setattr(sessions, "now", lambda: real_now() + clock.offset)
    return clock


def test_idle_for_thirty_minutes_signs_out(logged_in, clock):
    clock.advance(timedelta(minutes=29))
    assert logged_in.get("/").status_code == 200
    clock.advance(timedelta(minutes=29))
    assert logged_in.get("/").status_code == 200
    clock.advance(timedelta(minutes=31))
    response = logged_in.get("/account")
    assert response.headers["Location"] == "/login?next=/account"
    assert b"without activity" in logged_in.get("/login").data
    assert logged_in.get("/").status_code == 302


def test_twelve_hours_signs_out_even_when_active(logged_in, clock):
    for _ in range(12 * 3):
        clock.advance(timedelta(minutes=20))
        if logged_in.get("/").status_code != 200:
            break
    assert clock.offset <= 12 * 3600 + 20 * 60
    assert logged_in.get("/").status_code == 302


# --- the idle warning and its keep-alive -------------------------------------------------

JSON = {"Accept": "application/json"}


def test_pages_tell_the_script_how_long_the_session_has(logged_in):
    page = logged_in.get("/").get_data(as_text=True)
    left = re.search(r'name="tandem-session" content="(\d+)"', page)
    assert left and 1790 <= int(left.group(1)) <= 1800
    assert 'data-warning-seconds="300"' in page
    assert '<dialog id="idle-warning"' in page
    assert "tandem-session" not in logged_in.application.test_client().get("/login").get_data(
        as_text=True
    )


def test_keep_alive_needs_a_signed_in_therapist(client, therapist):
    token = client.csrf_token()
    response = client.post("/session/keep-alive", data={"csrf_token": token}, csrf=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    # The page's script gets a 401 it can explain, not a sign-in page it cannot show.
    response = client.post(
        "/session/keep-alive", headers={**JSON, "X-CSRFToken": token}, csrf=False
    )
    assert response.status_code == 401
    assert response.get_json()["signed_in"] is False
    assert client.get("/session", headers=JSON).status_code == 401


def test_keep_alive_needs_the_csrf_token(logged_in):
    response = logged_in.post("/session/keep-alive", headers=JSON, csrf=False)
    assert response.status_code == 400
    response = logged_in.post(
        "/session/keep-alive", headers={**JSON, "X-CSRFToken": "forged"}, csrf=False
    )
    assert response.status_code == 400


def test_keep_alive_refreshes_the_idle_timeout(logged_in, clock):
    token = logged_in.csrf_token()
    clock.advance(timedelta(minutes=26))
    response = logged_in.post(
        "/session/keep-alive", headers={**JSON, "X-CSRFToken": token}, csrf=False
    )
    assert response.status_code == 200
    assert 1799 <= response.get_json()["seconds_left"] <= 1800
    assert response.get_json()["limit"] == "idle"
    clock.advance(timedelta(minutes=26))
    # 52 minutes after the last page, the button kept the session.
    assert logged_in.get("/account").status_code == 200


def test_asking_how_long_is_left_is_not_activity(logged_in, clock):
    clock.advance(timedelta(minutes=20))
    status = logged_in.get("/session", headers=JSON)
    assert status.status_code == 200
    assert 595 <= status.get_json()["seconds_left"] <= 600
    clock.advance(timedelta(minutes=9))
    assert 55 <= logged_in.get("/session", headers=JSON).get_json()["seconds_left"] <= 60
    clock.advance(timedelta(minutes=2))
    # An open tab asking every few seconds would otherwise never let the session end.
    assert logged_in.get("/session", headers=JSON).status_code == 401
    response = logged_in.get("/account")
    assert response.status_code == 302
    assert b"without activity" in logged_in.get("/login").data


def test_the_absolute_limit_shows_when_it_comes_first(logged_in, clock):
    for _ in range(35):
        clock.advance(timedelta(minutes=20))
        assert logged_in.get("/").status_code == 200
    state = logged_in.get("/session", headers=JSON).get_json()
    assert state["limit"] == "absolute"
    assert state["seconds_left"] <= 20 * 60


# --- coming back to the form after a timeout ----------------------------------------------


def expired_post(client, clock, path, **headers):
    token = client.csrf_token()
    clock.advance(timedelta(minutes=31))
    return client.post(
        path,
        data={"csrf_token": token, "display_name": "Dr. Typed", "timezone": "UTC"},
        headers=headers,
        csrf=False,
    )


def test_a_post_after_the_timeout_returns_to_the_page_of_the_form(logged_in, clock):
    response = expired_post(
        logged_in, clock, "/account/profile", Referer="http://localhost/account?tab=profile"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account?tab%3Dprofile"
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account?tab=profile"' in page
    assert "without activity" in page
    next_path = "/account?tab=profile"
    signed_in = logged_in.post(
        "/login",
        data={"email": "first@example.com", "password": TEST_PASSWORD, "next": next_path},
    )
    assert signed_in.headers["Location"] == "/account?tab=profile"


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.tld/account",
        "http://evil.tld/account",
        "http://localhost.evil.tld/account",
        "http://localhost//evil.tld/x",
        "http://localhost/\\evil.tld",
        "javascript:alert(1)",
        "//evil.tld/account",
        "/account",
        "http://localhost/login?next=https://evil.tld",
        "",
    ],
)
def test_a_foreign_or_odd_referer_is_not_a_return_path(logged_in, clock, referer):
    headers = {"Referer": referer} if referer else {}
    response = expired_post(logged_in, clock, "/account/profile", **headers)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_htmx_after_the_timeout_gets_a_sign_in_prompt_not_a_page(logged_in, clock):
    response = expired_post(
        logged_in,
        clock,
        "/account/profile",
        **{"HX-Request": "true", "Referer": "http://localhost/account"},
    )
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "without activity" in body
    assert 'href="/login?next=/account"' in body
    # Signed out for real, and an anonymous htmx GET gets the same kind of answer.
    response = logged_in.get("/couples", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "Sign in again" in response.get_data(as_text=True)


def test_logout_ends_a_copied_cookie(client, auth, therapist):
    auth.login(therapist)
    stolen = client.get_cookie("tandem_session").value
    auth.logout()
    thief = client.application.test_client()
    thief.set_cookie("tandem_session", stolen)
    assert thief.get("/").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, auth, therapist):
    auth.login(therapist)
    other = app.test_client()
    AuthLogin = type(auth)
    AuthLogin(other).login(therapist)
    assert other.get("/").status_code == 200
    new_password = "a brand new pass phrase for tests"
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "password": new_password, "confirm": new_password},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    auth.logout()
    assert auth.login(email=therapist.email, password=new_password).status_code == 302


def test_deactivation_ends_sessions_at_once(app, logged_in, therapist):
    from therapy.auth.services import set_active

    with app.app_context():
        set_active(db.session.get(User, therapist.id), False)
    assert logged_in.get("/").status_code == 302


def test_session_cookie_flags_and_contents(client, auth, therapist):
    response = auth.login(therapist)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    import hashlib

    from flask.sessions import TaggedJSONSerializer
    from itsdangerous import URLSafeTimedSerializer

    value = client.get_cookie("tandem_session").value
    data = URLSafeTimedSerializer(
        client.application.secret_key,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    ).loads(value)
    assert set(data) <= {"_user_id", "_fresh", "csrf_token", "login_at", "seen_at", "_flashes"}
    assert therapist.email not in str(data)


# --- the account page ------------------------------------------------------------------


SETTINGS = {"display_name": "Dr. Renamed", "timezone": "Europe/Warsaw", "paper_size": "Letter"}


def test_change_settings(app, logged_in, therapist):
    response = logged_in.post("/account/profile", data=SETTINGS)
    assert response.status_code == 302
    assert b"Dr. Renamed" in logged_in.get("/account").data
    with app.app_context():
        user = db.session.get(User, therapist.id)
        assert (user.timezone, user.paper_size) == ("Europe/Warsaw", "Letter")


def test_unknown_time_zone_or_paper_is_refused(logged_in):
    page = logged_in.post("/account/profile", data={**SETTINGS, "timezone": "Mars/Olympus"})
    assert b"Not a valid choice" in page.data
    page = logged_in.post("/account/profile", data={**SETTINGS, "paper_size": "A3"})
    assert b"Not a valid choice" in page.data


def test_account_forms_show_errors_next_to_fields(logged_in):
    page = logged_in.post("/account/profile", data={**SETTINGS, "display_name": ""})
    assert page.status_code == 200
    assert b'aria-invalid="true"' in page.data
    page = logged_in.post("/account/profile", data={**SETTINGS, "display_name": "x" * 500})
    assert b"Field cannot be longer than 120 characters." in page.data
    page = logged_in.post(
        "/account/password",
        data={
            "current_password": "not it at all",
            "password": "another fine pass phrase",
            "confirm": "another fine pass phrase",
        },
    )
    assert b"That is not your current password." in page.data
    page = logged_in.post(
        "/account/password",
        data={
            "current_password": TEST_PASSWORD,
            "password": "qwertyuiop12",
            "confirm": "qwertyuiop12",
        },
    )
    assert b"commonly used password" in page.data
    page = logged_in.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "password": "short", "confirm": "short"},
    )
    assert b"Use at least 12 characters." in page.data


def test_a_form_posted_after_signing_out_elsewhere_leads_to_sign_in_and_back(
    logged_in, auth, make_couple, therapist
):
    # The form's CSRF token died with the session (signed out in another tab): the post
    # must say "sign in" and come back to the form's page, where the browser kept the text.
    couple_id = make_couple(owner=therapist)
    page = f"/couples/{couple_id}/edit"
    token = logged_in.csrf_token()
    assert auth.logout().status_code == 302
    response = logged_in.post(
        page,
        data={"csrf_token": token, "partner_a-first_name": "Alex"},
        headers={"Referer": f"http://localhost{page}"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={page}"
    stale_login = logged_in.post("/login", data={"csrf_token": "stale", "email": "x@y.z"})
    assert stale_login.status_code == 400 and "expired" in stale_login.get_data(as_text=True)
