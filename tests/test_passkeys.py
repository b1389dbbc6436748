"""Passkeys against a small software authenticator: registration and sign-in, the RP ID
taken from the request's host (also behind a proxy), replayed answers and cloned keys
(a signature counter that goes backwards) refused, and a throttle on wrong answers."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from tests.conftest import AuthActions
from therapy.extensions import db
from therapy.models import AuditEvent, Passkey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """An ES256 authenticator with "none" attestation, as the WebAuthn spec lays it out."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin}).encode()

    def create(self, options: dict, origin: str) -> dict:
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        attested = (
            bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
        ) + self._cose_key()
        auth_data = rp_hash + bytes([0x45]) + struct.pack(">I", self.counter) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
            },
            "clientExtensionResults": {},
        }

    def get(self, options: dict, origin: str, *, counter: int | None = None) -> dict:
        self.counter = self.counter + 1 if counter is None else counter
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        rp_hash = hashlib.sha256(options["rpId"].encode()).digest()
        auth_data = rp_hash + bytes([0x05]) + struct.pack(">I", self.counter)
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }


def csrf_headers(client) -> dict[str, str]:
    return {"X-CSRFToken": client.csrf_token(), "Content-Type": "application/json"}


def register(client, authenticator: SoftAuthenticator, origin: str = "http://localhost"):
    headers = csrf_headers(client)
    options = client.post("/account/passkeys/options", headers=headers, csrf=False).get_json()
    body = {"name": "Desk key", "credential": authenticator.create(options, origin)}
    return options, client.post(
        "/account/passkeys", data=json.dumps(body), headers=headers, csrf=False
    )


def sign_in_with(client, authenticator: SoftAuthenticator, **kwargs):
    headers = csrf_headers(client)
    options = client.post(
        "/login/second-factor/passkey/options", headers=headers, csrf=False
    ).get_json()
    answer = authenticator.get(options, "http://localhost", **kwargs)
    response = client.post(
        "/login/second-factor/passkey", data=json.dumps(answer), headers=headers, csrf=False
    )
    return answer, response


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()


def test_register_then_sign_in_with_a_passkey(app, logged_in, therapist, authenticator):
    options, response = register(logged_in, authenticator)
    assert options["rp"]["id"] == "localhost"
    assert response.status_code == 200
    assert len(response.get_json()["codes"]) == 10
    page = logged_in.get("/account").get_data(as_text=True)
    assert "Passkey “Desk key”" in page and "Not yet" in page

    logged_in.post("/logout")
    assert AuthActions(logged_in).login(therapist).headers["Location"] == "/login/second-factor"
    _answer, response = sign_in_with(logged_in, authenticator)
    assert response.status_code == 200 and response.get_json()["next"] == "/"
    assert logged_in.get("/").status_code == 200
    with app.app_context():
        key = db.session.scalar(select(Passkey))
        assert key.sign_count == 1 and key.last_used_at is not None


def test_a_replayed_answer_is_refused_even_without_a_counter(
    app, logged_in, therapist, authenticator
):
    # Synced passkeys report a counter of 0 every time: only the challenge stops a replay.
    register(logged_in, authenticator)
    logged_in.post("/logout")
    AuthActions(logged_in).login(therapist)
    headers = csrf_headers(logged_in)
    options = logged_in.post(
        "/login/second-factor/passkey/options", headers=headers, csrf=False
    ).get_json()
    answer = authenticator.get(options, "http://localhost", counter=0)
    # An attacker copies the cookie holding the challenge, and later the answer.
    cookie_with_challenge = logged_in.get_cookie("tandem_session").value
    ok = logged_in.post(
        "/login/second-factor/passkey", data=json.dumps(answer), headers=headers, csrf=False
    )
    assert ok.status_code == 200

    attacker = app.test_client()
    attacker.set_cookie("tandem_session", cookie_with_challenge)
    replay = attacker.post(
        "/login/second-factor/passkey", data=json.dumps(answer), headers=headers, csrf=False
    )
    assert replay.status_code == 400
    assert attacker.get("/").status_code == 302


def test_a_counter_going_back_is_refused(app, logged_in, therapist, authenticator):
    register(logged_in, authenticator)
    logged_in.post("/logout")
    AuthActions(logged_in).login(therapist)
    assert sign_in_with(logged_in, authenticator, counter=5)[1].status_code == 200
    # A copy of the key whose counter is behind the real one's.
    logged_in.post("/logout")
    AuthActions(logged_in).login(therapist)
    assert sign_in_with(logged_in, authenticator, counter=3)[1].status_code == 400
    assert logged_in.get("/").status_code == 302
    with app.app_context():
        failed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login.second_factor_failed")
        ).all()
        assert len(failed) == 1
        assert db.session.scalar(select(Passkey.sign_count)) == 5


def test_a_key_of_another_site_or_origin_is_refused(app, logged_in, therapist, authenticator):
    headers = csrf_headers(logged_in)
    options = logged_in.post("/account/passkeys/options", headers=headers, csrf=False).get_json()
    body = {"credential": authenticator.create(options, "http://evil.example")}
    response = logged_in.post(
        "/account/passkeys", data=json.dumps(body), headers=headers, csrf=False
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Passkey)) is None


def test_the_rp_id_follows_the_trusted_host_behind_a_proxy(make_app, make_user):
    app = make_app(TRUSTED_HOSTS=["tandem.example.org"], PROXY_HOPS=1, SESSION_COOKIE_SECURE=True)
    with app.app_context():
        from therapy.auth import services

        services.create_user("proxy@example.com", "Dr. Proxy", "correct horse battery staple")
    client = app.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    base = "https://tandem.example.org"
    page = client.get("/login", base_url="http://tandem.example.org", headers=forwarded)
    token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    headers = {**forwarded, "Referer": f"{base}/login"}
    response = client.post(
        "/login",
        base_url="http://tandem.example.org",
        headers=headers,
        data={
            "email": "proxy@example.com",
            "password": "correct horse battery staple",
            "csrf_token": token,
        },
        csrf=False,
    )
    assert response.status_code == 302
    # Signing in began a new session, with a new CSRF token.
    page = client.get("/account", base_url="http://tandem.example.org", headers=forwarded)
    token = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    options = client.post(
        "/account/passkeys/options",
        base_url="http://tandem.example.org",
        headers={**headers, "X-CSRFToken": token, "Referer": f"{base}/account"},
        csrf=False,
    )
    assert options.status_code == 200, options.get_data(as_text=True)
    assert options.get_json()["rp"]["id"] == "tandem.example.org"
    # An unlisted Host is refused before any passkey option is made.
    other = client.post(
        "/account/passkeys/options",
        base_url="http://evil.example",
        headers={**headers, "X-CSRFToken": token},
        csrf=False,
    )
    assert other.status_code == 400


def token_from(response) -> str:
    return response.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]


def test_no_passkeys_on_a_bare_ip_address(app, make_user):
    account = make_user()
    client = app.test_client()
    ip = "http://127.0.0.1"
    data = {"email": account.email, "password": account.password}
    data["csrf_token"] = token_from(client.get("/login", base_url=ip))
    assert client.post("/login", base_url=ip, data=data, csrf=False).status_code == 302
    page = client.get("/account/two-factor", base_url=ip)
    assert "not a number such as 127.0.0.1" in page.get_data(as_text=True)
    response = client.post(
        "/account/passkeys/options",
        base_url=ip,
        headers={"X-CSRFToken": token_from(page)},
        csrf=False,
    )
    assert response.status_code == 400


def test_wrong_second_factor_answers_are_throttled(app, logged_in, therapist, authenticator):
    register(logged_in, authenticator)
    logged_in.post("/logout")
    AuthActions(logged_in).login(therapist)
    statuses = [
        logged_in.post("/login/second-factor", data={"code": "000000"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
