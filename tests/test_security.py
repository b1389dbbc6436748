"""Route inventory, headers, CSRF, request limits and error pages."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.conftest import TEST_PASSWORD, AuthActions

# Routes an anonymous visitor may reach; everything else must send them to sign in.
# The partner check-in pages answer anonymous visitors themselves (see test_partner_links.py).
PUBLIC_ENDPOINTS = {
    "static",
    "auth.login",
    "auth.setup",
    # Password reset links: a closed or unknown link gets the same 404 page
    # (tests/test_accounts.py); asking by email is a 404 unless mail is configured.
    "reset.open_link",
    "reset.new_password",
    "reset.request_link",
    "partner.open_link",
    "partner.form",
    "partner.thanks",
    "partner.week_send",
    "partner.week_form",
}


def example_url(app: Flask, rule) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if "Integer" in type(converter).__name__ else "example"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def protected_rules(app: Flask):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint not in PUBLIC_ENDPOINTS]


def test_every_route_but_the_allowlist_sends_anonymous_visitors_to_sign_in(app, client, therapist):
    rules = protected_rules(app)
    assert rules, "no routes found"
    token = client.csrf_token()
    for rule in rules:
        url = example_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method != "GET" else None
            response = client.open(url, method=method, data=data)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/login"), (method, url)


def test_security_headers_on_pages(client, therapist):
    for response in (client.get("/login"), client.get("/nothing-here")):
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert directive in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        # Not no-referrer: over HTTPS Flask-WTF refuses a post without a same-origin Referer
        # (tests/browser/test_https.py posts every kind of form that way).
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"


def test_a_page_at_a_partner_link_sends_no_referer(client):
    # A closed link's page is shown at /c/<token> itself; its stylesheet request must not
    # carry the token in a Referer (an open link redirects, see test_partner_links.py).
    response = client.get("/c/" + "x" * 43)
    assert response.status_code == 404
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_logged_in_pages_are_not_cached(logged_in):
    for url in ("/", "/account"):
        assert logged_in.get(url).headers["Cache-Control"] == "no-store"


def test_templates_have_no_inline_script_or_style():
    from pathlib import Path

    for template in Path("templates").rglob("*.html"):
        source = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template
        assert "<style" not in source and " style=" not in source, template
        assert not re.search(r"\son[a-z]+=", source), template


def test_missing_or_foreign_csrf_token_is_refused(app, client, auth, therapist):
    response = client.post(
        "/login", data={"email": therapist.email, "password": TEST_PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert b"This form has expired" in response.data
    other = app.test_client()
    foreign = other.csrf_token()
    response = client.post(
        "/login", data={"email": therapist.email, "password": TEST_PASSWORD, "csrf_token": foreign}
    )
    assert response.status_code == 400
    auth.login(therapist)
    assert client.post("/logout", csrf=False).status_code == 400
    assert client.get("/").status_code == 200


def test_oversized_requests_are_refused(logged_in):
    response = logged_in.post("/account/profile", data={"display_name": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert b"Too large" in response.data
    many = {f"field{i}": "x" for i in range(1500)}
    response = logged_in.post("/account/profile", data=many, content_type="multipart/form-data")
    assert response.status_code == 413


def test_not_found_page_has_no_traceback(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b"Traceback" not in response.data


def test_server_error_page_has_no_traceback(logged_in, monkeypatch):
    from therapy.main import views

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views, "render_template", boom)
    response = logged_in.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data


def test_trusted_hosts_refuse_unknown_host(make_app, therapist):
    app = make_app(TRUSTED_HOSTS=["tandem.example.org"])
    client = app.test_client()
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "tandem.example.org"}).status_code in (200, 302)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "localhost.evil.example"])
def test_a_laptop_install_answers_only_to_its_own_names(client, host):
    # DNS rebinding: a page at evil.example re-points its name at 127.0.0.1 and reads the
    # answers; its requests carry its own Host. No account exists yet, so /setup is open.
    assert client.get("/setup", headers={"Host": host}).status_code == 400
    assert client.post("/setup", headers={"Host": host}, csrf=False).status_code == 400
    for own in ("localhost", "localhost:5000", "127.0.0.1:8000"):
        assert client.get("/setup", headers={"Host": own}).status_code == 200, own


def printed_link_base(client, couple_id: int, headers: dict[str, str]) -> str:
    """Where the partner link shown to the therapist points, before /c/<token>."""
    page = client.post(
        f"/couples/{couple_id}/links", data={"partner": "a", "days": "7"}, headers=headers
    ).get_data(as_text=True)
    match = re.search(r'value="([^"]*)/c/[A-Za-z0-9_-]{43}"', page)
    assert match, "no link on the page"
    return match.group(1)


FORWARDED = {"X-Forwarded-Host": "tandem.example.org", "X-Forwarded-Prefix": "/tandem"}


def test_forwarded_host_and_prefix_are_ignored_unless_configured(make_app, therapist, make_couple):
    couple_id = make_couple(therapist)
    app = make_app(PROXY_HOPS=1, TRUSTED_HOSTS=["localhost", "tandem.example.org"])
    client = app.test_client()
    AuthActions(client).login(therapist)
    # A proxy that passes these headers on from the client would let anyone choose where
    # the partner links the therapist prints lead.
    assert printed_link_base(client, couple_id, FORWARDED) == "http://localhost"


def test_forwarded_host_and_prefix_are_used_when_configured(make_app, therapist, make_couple):
    couple_id = make_couple(therapist)
    app = make_app(
        PROXY_HOPS=1,
        PROXY_FORWARDED_HOST=True,
        PROXY_FORWARDED_PREFIX=True,
        TRUSTED_HOSTS=["localhost", "tandem.example.org"],
    )
    client = app.test_client()
    AuthActions(client).login(therapist)
    assert printed_link_base(client, couple_id, FORWARDED) == "http://tandem.example.org/tandem"
    # The forwarded host still has to be one the app answers to.
    refused = client.post(
        f"/couples/{couple_id}/links",
        data={"partner": "a", "days": "7"},
        headers={"X-Forwarded-Host": "evil.example"},
    )
    assert refused.status_code == 400


def test_proxy_hops_trust_only_the_last_address(make_app, therapist):
    app = make_app(PROXY_HOPS=1, LOGIN_LIMIT_ADDRESS="3 per 15 minutes")
    client = app.test_client()
    token = client.csrf_token()
    statuses = []
    for attempt in range(4):
        statuses.append(
            client.post(
                "/login",
                data={"email": f"x{attempt}@example.com", "password": "wrong", "csrf_token": token},
                headers={"X-Forwarded-For": f"198.51.100.{attempt}, 203.0.113.9"},
            ).status_code
        )
    assert statuses == [200, 200, 200, 429]
