"""Configuration: defaults → instance/config.py → environment → test overrides."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

# Keys that ship in examples and tutorials; a server must never run with one of them.
EXAMPLE_SECRET_KEYS = frozenset(
    {
        "dev",
        "changeme",
        "change-me",
        "secret",
        "secret-key",
        "your-secret-key",
        "replace-me",
        "please-change-me",
    }
)
MIN_SECRET_KEY_LENGTH = 32
# The host names a laptop install answers to when none are configured: a web page elsewhere
# that rebinds its own name to 127.0.0.1 (DNS rebinding) sends its own Host and gets 400.
# No IPv6 literal: Werkzeug 3.1 cuts a trusted entry at its first colon, so "[::1]" could
# never match; browse to http://localhost:PORT instead.
LOCAL_HOSTS = ("localhost", "127.0.0.1")
SECRET_KEY_FILE = "secret_key"  # noqa: S105  (a file name, not a key)


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app must not start."""


def defaults(instance_path: str) -> dict[str, Any]:
    """The settings for a therapist's laptop."""
    return {
        "TANDEM_ENV": "development",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'tandem.sqlite'}",
        # A deployment's own options are merged in; hide_parameters always stays on.
        # A deployment's pooled connections are tested before use when they sat idle
        # (therapy/database.py: ping_idle_connections), so a restart costs no request.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "REDIS_URL": None,
        # Page contents (caseload, dashboard, couple, progress, plan builder) kept in each
        # worker while the data they show is unchanged (therapy/pagecache.py); off only
        # to measure without them.
        "PAGE_CACHE": True,
        # Sessions: the cookie carries only ids and timestamps, never client data.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_NAME": "tandem_session",
        "REMEMBER_COOKIE_DURATION": timedelta(hours=12),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=30),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=12),
        # Pages warn this long before the idle timeout, with a "Stay signed in" button.
        "SESSION_IDLE_WARNING": timedelta(minutes=5),
        # CSRF tokens live as long as the login session, which has its own timeouts.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        # Request limits.
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "MAX_FORM_PARTS": 1000,
        # Reverse proxies in front of the app: X-Forwarded-For and X-Forwarded-Proto are
        # trusted from exactly this many hops. X-Forwarded-Host and X-Forwarded-Prefix only
        # when the proxy is known to set them, since they decide the host and path of the
        # partner links the app prints.
        "PROXY_HOPS": 0,
        "PROXY_FORWARDED_HOST": False,
        "PROXY_FORWARDED_PREFIX": False,
        # Host names the app answers to (Flask refuses others with 400). Production must
        # list them; elsewhere they default to LOCAL_HOSTS.
        "TRUSTED_HOSTS": None,
        # Login throttling (Flask-Limiter syntax); only failed attempts count. Why these
        # three and not one per account: therapy/auth/throttle.py.
        "LOGIN_LIMIT_ACCOUNT_ADDRESS": "30 per 15 minutes",  # one account from one address
        "LOGIN_LIMIT_ADDRESS": "100 per 15 minutes",  # one address, all accounts
        "LOGIN_LIMIT_ACCOUNT": "100 per 15 minutes",  # one account, from unknown browsers
        # Wrong second-factor codes for one account (after its correct password).
        "LOGIN_LIMIT_SECOND_FACTOR": "10 per 15 minutes",
        # A callable that sends a password reset email (therapy/auth/resets.py); None
        # leaves email resets off and administrators issue reset links.
        "PASSWORD_RESET_SENDER": None,
        "RATELIMIT_KEY_PREFIX": "tandem",
        # Redis down or hung must not stop sign-in or partner links: after a failed call
        # (at most REDIS_TIMEOUT seconds) Flask-Limiter counts in this process's memory,
        # logs the switch once, and goes back to Redis when it answers a health check.
        "REDIS_TIMEOUT": 0.5,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile).
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "ARGON2_PARALLELISM": 4,
        # New accounts start in this time zone; each therapist can change theirs.
        "DEFAULT_TIMEZONE": "UTC",
        "PASSWORD_MIN_LENGTH": 12,
        "PASSWORD_MAX_LENGTH": 1024,
        # Outgoing mail (therapy/mail). No SMTP_HOST: messages go to instance/outbox/.
        "SMTP_HOST": None,
        "SMTP_PORT": 587,
        "SMTP_USER": None,
        "SMTP_PASSWORD": None,
        "SMTP_FROM": "tandem@localhost",
        "SMTP_STARTTLS": True,
        "SMTP_CA_FILE": None,
        "SMTP_TIMEOUT": 20,
        # A `flask send-due` run holds a message this long; a run killed mid-send leaves
        # it "uncertain" after that, never sent again by itself.
        "MAIL_LEASE_SECONDS": 300,
        # Retries after a failure that sent nothing: 1, 2, 4, ... minutes, then given up.
        "MAIL_RETRY_SECONDS": 60,
        "MAIL_MAX_ATTEMPTS": 6,
        # Where partners' links in scheduled messages point (`flask send-due` has no
        # request to take the host from); links sent from a page use that page's host.
        "BASE_URL": "http://127.0.0.1:5000",
    }


# Environment variable → config key, and how to read it.
ENVIRONMENT: dict[str, tuple[str, type]] = {
    "TANDEM_ENV": ("TANDEM_ENV", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "REDIS_URL": ("REDIS_URL", str),
    "TANDEM_PROXY_HOPS": ("PROXY_HOPS", int),
    "TANDEM_PROXY_FORWARDED_HOST": ("PROXY_FORWARDED_HOST", bool),
    "TANDEM_PROXY_FORWARDED_PREFIX": ("PROXY_FORWARDED_PREFIX", bool),
    "TANDEM_TRUSTED_HOSTS": ("TRUSTED_HOSTS", list),
    "TANDEM_SECURE_COOKIES": ("SESSION_COOKIE_SECURE", bool),
    "TANDEM_TIMEZONE": ("DEFAULT_TIMEZONE", str),
    "TANDEM_LOGIN_LIMIT_ACCOUNT": ("LOGIN_LIMIT_ACCOUNT", str),
    "TANDEM_LOGIN_LIMIT_ACCOUNT_ADDRESS": ("LOGIN_LIMIT_ACCOUNT_ADDRESS", str),
    "TANDEM_LOGIN_LIMIT_ADDRESS": ("LOGIN_LIMIT_ADDRESS", str),
    "TANDEM_SMTP_HOST": ("SMTP_HOST", str),
    "TANDEM_SMTP_PORT": ("SMTP_PORT", int),
    "TANDEM_SMTP_USER": ("SMTP_USER", str),
    "TANDEM_SMTP_PASSWORD": ("SMTP_PASSWORD", str),
    "TANDEM_SMTP_FROM": ("SMTP_FROM", str),
    "TANDEM_SMTP_STARTTLS": ("SMTP_STARTTLS", bool),
    "TANDEM_SMTP_CA_FILE": ("SMTP_CA_FILE", str),
    "TANDEM_BASE_URL": ("BASE_URL", str),
    "TANDEM_LOGIN_LIMIT_SECOND_FACTOR": ("LOGIN_LIMIT_SECOND_FACTOR", str),
    "TANDEM_PAGE_CACHE": ("PAGE_CACHE", bool),
}


def _parse(raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is int:
        return int(raw)
    if kind is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """Settings given as environment variables."""
    found: dict[str, Any] = {}
    for name, (key, kind) in ENVIRONMENT.items():
        raw = environ.get(name)
        if raw is not None and raw != "":
            found[key] = _parse(raw, kind)
    url = found.get("SQLALCHEMY_DATABASE_URI")
    if isinstance(url, str) and url.startswith(("postgres://", "postgresql://")):
        # Hosting providers hand out postgres:// URLs; SQLAlchemy wants a driver name.
        found["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + url.split("://", 1)[1]
    return found


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config in the documented order and check it is safe to run."""
    app.config.update(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environment(os.environ))
    if test_config:
        app.config.update(test_config)
    if app.config["TANDEM_ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or (
        app.config["REDIS_URL"] or "memory://"
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    app.config["RATELIMIT_STORAGE_OPTIONS"] = limiter_storage_options(app.config)
    _settle_secret_key(app)
    check_production(app.config)
    if app.config["TRUSTED_HOSTS"] is None:
        app.config["TRUSTED_HOSTS"] = list(LOCAL_HOSTS)


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """The deployment's engine options, with SQL parameters always kept out of logs."""
    # A failed statement's message lists its parameters: a couple's names, a note. Those
    # messages reach the error log (the 500 handler logs every exception), so they are
    # hidden whatever options a deployment sets. PostgreSQL's own DETAIL line is handled
    # in therapy/database.py.
    # Last in, first out: under load the connection just handed back is the one reused,
    # so it never sits idle long enough to need testing (database.ping_idle_connections),
    # and the spare ones go idle and are tested when next taken.
    pool = {} if _is_sqlite(config) else {"pool_use_lifo": True}
    return {
        **pool,
        **(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}),
        "hide_parameters": True,
    }


def _is_sqlite(config: dict[str, Any]) -> bool:
    return str(config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("sqlite")


def limiter_storage_options(config: dict[str, Any]) -> dict[str, Any]:
    """Redis client options for the rate limiter: short timeouts unless a deployment sets
    its own. (The in-memory storage ignores them.)"""
    timeout = float(config["REDIS_TIMEOUT"])
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        **(config.get("RATELIMIT_STORAGE_OPTIONS") or {}),
    }


def _settle_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY") or app.config["TANDEM_ENV"] == "production":
        return
    # On a laptop the key is generated once and kept beside the database.
    path = Path(app.instance_path) / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    app.config["SECRET_KEY"] = path.read_text().strip()


def check_production(config: dict[str, Any]) -> None:
    """Refuse settings that would be unsafe on a server."""
    if config["TANDEM_ENV"] != "production":
        return
    key = config.get("SECRET_KEY") or ""
    if not key:
        raise ConfigError(
            "SECRET_KEY is not set. Generate one with: python -c "
            "'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters.")
    if key.strip().lower() in EXAMPLE_SECRET_KEYS or len(set(key)) < 8:
        raise ConfigError("SECRET_KEY is an example value; generate a random one.")
    if not config.get("TRUSTED_HOSTS"):
        raise ConfigError("TANDEM_TRUSTED_HOSTS must list the host names this server answers to.")
    if config.get("DEBUG"):
        raise ConfigError("Debug mode must be off in production.")
