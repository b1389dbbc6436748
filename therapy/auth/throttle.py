"""Who failed sign-ins are counted against, and the "known device" cookie.

Three limits apply to failed sign-ins (config LOGIN_LIMIT_*; only failures count):

- one account from one address (30 per 15 minutes): an attacker's address is stopped
  without touching the owner, who signs in from anywhere else;
- one address over all accounts (100 per 15 minutes): one address cannot try every
  account in turn;
- one account from browsers that have not signed in to it before (100 per 15 minutes),
  after OWASP's "device cookies": a successful sign-in leaves a signed cookie naming the
  account, and a browser that shows it is counted on its own. A slow attack on one
  account from many addresses then meets this limit, while the owner's own browser keeps
  signing in. Only a browser the owner never used for Tandem is held up, and only while
  such an attack runs. This limit is set above the per-address one, so no single address
  can reach it alone.

Without the third limit an attacker with a thousand addresses could try 30,000 passwords
per account every 15 minutes; with it, 100. Counts live in the limiter's storage (Redis
when REDIS_URL is set), keyed by a keyed hash of the email: neither Redis nor the cookie
holds an address book.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from therapy.auth.services import normalize_email
from therapy.extensions import client_address

DEVICE_COOKIE = "tandem_device"
DEVICE_LIFETIME = timedelta(days=180)
# A shared clinic computer may know a few therapists; the oldest are forgotten first.
DEVICE_ACCOUNTS_MAX = 5


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="tandem-known-device")


def account_tag(email: str) -> str:
    """A keyed hash of a normalised email: the account's name in counters and cookies."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    email_bytes = normalize_email(email)[:254].encode()
    return hmac.new(key, email_bytes, hashlib.sha256).hexdigest()[:32]


def _attempted_tag() -> str:
    return account_tag(request.form.get("email", ""))


def _device() -> tuple[str, list[str]] | None:
    """The browser's device id and the accounts it signed in to, if its cookie is genuine."""
    raw = request.cookies.get(DEVICE_COOKIE, "")
    if not raw:
        return None
    try:
        data: Any = _serializer().loads(raw, max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    device, accounts = data.get("d"), data.get("a")
    if not isinstance(device, str) or not isinstance(accounts, list):
        return None
    return device, [tag for tag in accounts if isinstance(tag, str)]


def account_address_key() -> str:
    """Limit key: the account named in the sign-in form, from this client address."""
    return f"account:{_attempted_tag()}:address:{client_address()}"


def account_key() -> str:
    """Limit key: the account named in the form, from browsers it does not know; a browser
    that signed in to it before has a count of its own."""
    tag = _attempted_tag()
    device = _device()
    if device is not None and tag in device[1]:
        return f"account:{tag}:device:{device[0]}"
    return f"account:{tag}:unknown-devices"


def remember_device(response: Response, email: str) -> None:
    """After a successful sign-in, let this browser count as known for the account."""
    found = _device()
    device = found[0] if found else secrets.token_urlsafe(16)
    tag = account_tag(email)
    accounts = [tag] + [other for other in (found[1] if found else []) if other != tag]
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps({"d": device, "a": accounts[:DEVICE_ACCOUNTS_MAX]}),
        max_age=int(DEVICE_LIFETIME.total_seconds()),
        # Sent to the sign-in form only; it opens nothing by itself.
        path=url_for("auth.login"),
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )
