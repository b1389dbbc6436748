"""Second factors: authenticator apps (TOTP), passkeys (WebAuthn) and recovery codes.

Every factor is used up by one conditional UPDATE in the database, never by a check in
this process's memory, so two app instances (gunicorn workers, servers) cannot both accept
the same code:

- a TOTP code is taken only for a time step later than the factor's `last_used_step`
  (a window of one step either side, so a phone clock 30 seconds off still works);
- a recovery code only while its `used_at` is empty;
- a passkey assertion only if its challenge was issued after the key's last use, and its
  signature counter went up (when the authenticator keeps one).

TOTP secrets are encrypted with Fernet under a key derived from SECRET_KEY (HKDF), and
shown only while the app is being set up. Changing SECRET_KEY therefore disables every
authenticator app (recovery codes and passkeys keep working, and the therapist sets the
app up again). Recovery codes are stored as argon2id hashes (at a lighter cost than
passwords: they are random, see RECOVERY_HASHER).
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, request, session
from sqlalchemy import delete, func, or_, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from therapy import audit
from therapy.extensions import db
from therapy.models import Passkey, PracticeSettings, RecoveryCode, TotpFactor, User, utcnow
from therapy.models.account import PASSKEY_NAME_MAX

log = logging.getLogger(__name__)

ISSUER = "Tandem"
TOTP_STEP = 30
# Codes of the step before and after the current one are accepted too (clock drift).
TOTP_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: a code copied from paper by hand should not fail on a look-alike.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10  # about 50 bits, behind argon2id
# Recovery codes are random, not chosen by a person: argon2id at a light cost already puts
# 2^50 guesses out of reach, and a wrong code (checked against up to ten hashes) costs
# about 0.1 s of a worker instead of 3 s at the password cost (measured on the 2-core
# development machine under load).
RECOVERY_HASHER = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
# A passkey challenge answered later than this is refused.
PASSKEY_CHALLENGE_SECONDS = 300
REGISTER_KEY = "webauthn_register"
AUTHENTICATE_KEY = "webauthn_authenticate"


class FactorError(ValueError):
    """A factor could not be added or used; the message says why, in plain words."""


def now() -> float:
    """Seconds since the epoch; one place for tests to move time."""
    return time.time()


# --- Practice rule -------------------------------------------------------------------


def second_factor_required() -> bool:
    """Whether the practice requires a second factor of everyone."""
    settings = db.session.get(PracticeSettings, 1)
    return bool(settings and settings.require_second_factor)


def set_second_factor_required(required: bool, admin: User) -> None:
    """Turn the practice-wide requirement on or off (audited)."""
    settings = db.session.get(PracticeSettings, 1)
    if settings is None:
        settings = PracticeSettings(id=1)
        db.session.add(settings)
    settings.require_second_factor = required
    settings.updated_at = utcnow()
    settings.updated_by_id = admin.id
    audit.record(
        "practice.require_second_factor" if required else "practice.second_factor_optional",
        actor=admin,
    )
    db.session.commit()


# --- What an account has ----------------------------------------------------------------


def totp_factor(user: User, *, confirmed: bool = True) -> TotpFactor | None:
    stmt = select(TotpFactor).where(TotpFactor.user_id == user.id)
    if confirmed:
        stmt = stmt.where(TotpFactor.confirmed_at.is_not(None))
    return db.session.scalar(stmt)


def passkeys(user: User) -> list[Passkey]:
    return list(
        db.session.scalars(
            select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
        )
    )


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def has_second_factor(user: User) -> bool:
    """True when the account has an authenticator app or a passkey."""
    return totp_factor(user) is not None or bool(passkeys(user))


@dataclass(frozen=True)
class FactorCounts:
    app: bool
    passkeys: int

    @property
    def any(self) -> bool:
        return self.app or self.passkeys > 0


def factor_counts() -> dict[int, FactorCounts]:
    """Per account id: whether it has an app and how many passkeys (for the admin list)."""
    apps = set(
        db.session.scalars(select(TotpFactor.user_id).where(TotpFactor.confirmed_at.is_not(None)))
    )
    keys: dict[int, int] = {
        user_id: count
        for user_id, count in db.session.execute(
            select(Passkey.user_id, func.count()).group_by(Passkey.user_id)
        )
    }
    return {
        user_id: FactorCounts(user_id in apps, keys.get(user_id, 0)) for user_id in apps | set(keys)
    }


# --- Authenticator apps (TOTP) -----------------------------------------------------------


def _fernet() -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"tandem totp secret v1"
    ).derive(str(current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode("ascii")


def totp_secret(factor: TotpFactor) -> str | None:
    """The factor's base32 secret, or None if it cannot be decrypted (SECRET_KEY changed)."""
    try:
        return _fernet().decrypt(factor.secret_encrypted.encode()).decode()
    except InvalidToken:
        log.warning("TOTP secret of user %s cannot be decrypted (new SECRET_KEY?)", factor.user_id)
        return None


def start_totp(user: User) -> TotpFactor:
    """An unconfirmed authenticator app for the user (a new secret, or the one in progress)."""
    if totp_factor(user) is not None:
        raise FactorError("An authenticator app is already set up. Remove it first.")
    factor = totp_factor(user, confirmed=False)
    if factor is None:
        factor = TotpFactor(user_id=user.id, secret_encrypted=_encrypt(pyotp.random_base32()))
        db.session.add(factor)
        db.session.commit()
    return factor


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now()) // TOTP_STEP
    found = None
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        # Compare every candidate: the time taken does not say which one matched.
        if hmac.compare_digest(totp.at(step * TOTP_STEP), code):
            found = step
    return found


def _take_step(factor: TotpFactor, step: int) -> bool:
    """Record the step as used, only if it is later than the last one used (atomic)."""
    result = db.session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.id == factor.id,
            or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        )
        .values(last_used_step=step, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def check_totp(factor: TotpFactor, code: str) -> bool:
    """Accept the code once; the caller commits."""
    secret = totp_secret(factor)
    step = _matching_step(secret, code) if secret else None
    if step is None or not _take_step(factor, step):
        return False
    db.session.refresh(factor)
    return True


def confirm_totp(user: User, code: str) -> list[str] | None:
    """Finish setting up the app with a first code; returns new recovery codes when the
    account had none left."""
    factor = totp_factor(user, confirmed=False)
    if factor is None or factor.confirmed_at is not None:
        raise FactorError("Start setting up the app again.")
    if not check_totp(factor, code):
        db.session.commit()
        raise FactorError(
            "That code did not match. Type the six digits the app shows now; "
            "if it keeps failing, check the phone's clock is set automatically."
        )
    factor.confirmed_at = utcnow()
    audit.record("factor.add", record_type="user", record_id=user.id, actor=user)
    codes = new_recovery_codes(user) if recovery_codes_left(user) == 0 else None
    db.session.commit()
    return codes


def remove_totp(user: User) -> None:
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    audit.record("factor.remove", record_type="user", record_id=user.id, actor=user)
    db.session.commit()


# --- Recovery codes -------------------------------------------------------------------


def _normalize_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh single-use codes (the old ones stop working); shown once. Caller commits."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=RECOVERY_HASHER.hash(code)) for code in codes
    )
    audit.record("factor.recovery_codes", record_type="user", record_id=user.id, actor=user)
    half = RECOVERY_CODE_LENGTH // 2
    return [f"{c[:half]}-{c[half:]}" for c in codes]


def looks_like_recovery_code(code: str) -> bool:
    return len(_normalize_code(code)) == RECOVERY_CODE_LENGTH


def check_recovery_code(user: User, code: str) -> bool:
    """Use up one of the user's recovery codes; the caller commits."""
    code = _normalize_code(code)
    if len(code) != RECOVERY_CODE_LENGTH:
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    for row in unused:
        try:
            RECOVERY_HASHER.verify(row.code_hash, code)
        except (VerificationError, InvalidHashError):
            continue
        result = db.session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
    return False


# --- Passkeys (WebAuthn) ---------------------------------------------------------------


def relying_party() -> tuple[str, str]:
    """The RP ID and origin of this request: its host (as the trusted-host and proxy
    settings settled it) without the port, and scheme://host[:port]."""
    host = request.host
    rp_id = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return rp_id.strip("[]").lower(), f"{request.scheme}://{host}"


def passkeys_possible() -> bool:
    """Browsers refuse passkeys on a bare IP address; they need a host name (localhost ok)."""
    rp_id = relying_party()[0]
    return not (rp_id.replace(".", "").isdigit() or ":" in rp_id)


def _user_handle(user: User) -> bytes:
    # Authenticators group an account's passkeys by this; it must not name the person.
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.digest(key, f"webauthn-user:{user.id}".encode(), "sha256")


def registration_options(user: User) -> str:
    """Options for navigator.credentials.create(), as JSON; the challenge waits in the session."""
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=ISSUER,
        user_name=user.email,
        user_id=_user_handle(user),
        user_display_name=user.display_name,
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=key.credential_id) for key in passkeys(user)
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    session[REGISTER_KEY] = {
        "challenge": bytes_to_base64url(options.challenge),
        "user": user.id,
        "at": now(),
    }
    return options_to_json(options)


def _pop_challenge(key: str, user: User) -> tuple[bytes, float]:
    waiting = session.pop(key, None)
    if (
        not isinstance(waiting, dict)
        or waiting.get("user") != user.id
        or not isinstance(waiting.get("at"), int | float)
        or now() - waiting["at"] > PASSKEY_CHALLENGE_SECONDS
    ):
        raise FactorError("That took too long. Please try again.")
    return base64.urlsafe_b64decode(waiting["challenge"] + "=="), waiting["at"]


def register_passkey(user: User, credential: str, name: str) -> Passkey:
    """Verify the browser's new credential and keep it."""
    challenge, _issued = _pop_challenge(REGISTER_KEY, user)
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        log.info("passkey registration refused: %s", exc)
        raise FactorError("The passkey could not be added. Please try again.") from exc
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == verified.credential_id)):
        raise FactorError("This passkey is already registered.")
    key = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=(" ".join(name.split()) or "Passkey")[:PASSKEY_NAME_MAX],
    )
    db.session.add(key)
    audit.record("factor.add", record_type="user", record_id=user.id, actor=user)
    db.session.commit()
    return key


def authentication_options(user: User) -> str:
    """Options for navigator.credentials.get() naming the user's passkeys, as JSON."""
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=key.credential_id) for key in passkeys(user)
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    session[AUTHENTICATE_KEY] = {
        "challenge": bytes_to_base64url(options.challenge),
        "user": user.id,
        "at": now(),
    }
    return options_to_json(options)


def check_passkey(user: User, credential: str) -> bool:
    """Verify a passkey assertion for the user and record its use; the caller commits."""
    try:
        challenge, issued = _pop_challenge(AUTHENTICATE_KEY, user)
        parsed = parse_authentication_credential_json(credential)
    except (FactorError, WebAuthnException, ValueError, KeyError, TypeError):
        return False
    key = db.session.scalar(
        select(Passkey).where(Passkey.user_id == user.id, Passkey.credential_id == parsed.raw_id)
    )
    if key is None:
        return False
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        log.info("passkey sign-in refused: %s", exc)
        return False
    # A replayed answer (same challenge and signature from a copied cookie) was issued
    # before the key's last use; a cloned key does not move the counter on.
    issued_at = datetime.fromtimestamp(issued, tz=UTC)
    result = db.session.execute(
        update(Passkey)
        .where(
            Passkey.id == key.id,
            Passkey.sign_count == key.sign_count,
            or_(Passkey.last_used_at.is_(None), Passkey.last_used_at <= issued_at),
        )
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def remove_passkey(user: User, passkey_id: int) -> bool:
    result = db.session.execute(
        delete(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user.id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record("factor.remove", record_type="user", record_id=user.id, actor=user)
    db.session.commit()
    return True


# --- Losing every factor ----------------------------------------------------------------


def remove_all_factors(user: User, admin: User | None) -> None:
    """An administrator (or the server's command line, admin=None) clears an account's
    app, passkeys and recovery codes (audited); the account's sessions end, and it sets
    up a factor again at next sign-in if the practice requires one."""
    for model in (TotpFactor, Passkey, RecoveryCode):
        db.session.execute(delete(model).where(model.user_id == user.id))
    user.end_all_sessions()
    audit.record("factor.admin_remove", record_type="user", record_id=user.id, actor=admin)
    db.session.commit()
