"""Outgoing mail: a queue in the database, sent by `flask send-due`.

Call `queue_message(to, subject, body, key=...)` from any feature; nothing is sent
during the request. `send_due()` sends what is due, one message at a time:

1. It claims one due row (PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`; SQLite: a
   compare-and-set UPDATE, writers take turns) by setting it to `sending` with a lease,
   and commits.
2. It hands the message to SMTP (or writes it to the outbox folder), then marks it `sent`
   and commits.

The guarantee, exactly: Tandem never hands the same queued message to the mail server
twice by itself. A run killed between steps 1 and 2 leaves its one row `sending`; when
the lease has passed, the next run marks it `uncertain` (it may or may not have gone)
and shows it to the therapist, who can send it again. A failure that certainly sent
nothing (no connection, refused sender or recipient, data rejected) puts the row back
in the queue with exponential back-off, up to MAIL_MAX_ATTEMPTS tries, then `failed`.
Every message has a Message-ID made from its row, so a copy sent again by hand carries
the same one.

With no SMTP host configured, messages go to files in instance/outbox/ (readable by
the owner only) and the therapist's outbox page lists them, so a laptop needs no setup.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from therapy.extensions import db
from therapy.models import MessageState, OutgoingMessage, utcnow

log = logging.getLogger(__name__)

OUTBOX_DIR = "outbox"
LINK = re.compile(r"https?://\S+")
LINK_REMOVED = "[link removed after sending]"
BACKOFF_CAP = timedelta(hours=6)
ERROR_MAX = 300


class MailError(Exception):
    """Sending failed. `sent_nothing` is True when the server certainly got no message."""

    def __init__(self, message: str, *, sent_nothing: bool) -> None:
        super().__init__(message)
        self.sent_nothing = sent_nothing


def settings() -> dict[str, Any]:
    config = current_app.config
    return {
        "host": config.get("SMTP_HOST") or "",
        "port": int(config.get("SMTP_PORT") or 587),
        "user": config.get("SMTP_USER") or "",
        "password": config.get("SMTP_PASSWORD") or "",
        "sender": config.get("SMTP_FROM") or "tandem@localhost",
        "starttls": bool(config.get("SMTP_STARTTLS", True)),
        "ca_file": config.get("SMTP_CA_FILE") or None,
        "timeout": float(config.get("SMTP_TIMEOUT") or 20),
    }


def uses_outbox() -> bool:
    """True when no SMTP server is configured: messages are kept as files instead."""
    return not settings()["host"]


def outbox_dir() -> Path:
    return Path(current_app.instance_path) / OUTBOX_DIR


# --- queueing --------------------------------------------------------------------------


def queue_message(
    to: str,
    subject: str,
    body: str,
    *,
    key: str,
    kind: str = "other",
    couple_id: int | None = None,
    partner_role: str | None = None,
    created_by_id: int | None = None,
    send_after: datetime | None = None,
    commit: bool = False,
) -> OutgoingMessage | None:
    """Queue one plain-text email. `key` names what it is for and is unique: queueing
    the same key again returns None and adds nothing (inside a savepoint, so the
    caller's other changes stay). Commits only when asked."""
    message = OutgoingMessage(
        key=key[:120],
        kind=kind[:16],
        to_address=to.strip()[:254],
        subject=subject[:200],
        body=body,
        couple_id=couple_id,
        partner_role=partner_role,
        created_by_id=created_by_id,
        send_after=send_after or utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        return None
    if commit:
        db.session.commit()
    return message


# --- building and sending one message ------------------------------------------------------


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def message_id(row: OutgoingMessage) -> str:
    """The same Message-ID every time this row is sent."""
    return f"<tandem.{row.id}.{row.created_at:%Y%m%d%H%M%S}@{_domain(settings()['sender'])}>"


def build(row: OutgoingMessage) -> EmailMessage:
    config = settings()
    message = EmailMessage()
    message["From"] = formataddr(("Tandem", parseaddr(config["sender"])[1] or config["sender"]))
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id or message_id(row)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body)
    return message


def _smtp_send(message: EmailMessage) -> None:
    config = settings()
    data_started = False
    try:
        with smtplib.SMTP(config["host"], config["port"], timeout=config["timeout"]) as smtp:
            smtp.ehlo()
            if config["starttls"]:
                # The server's certificate is checked (system CAs, or SMTP_CA_FILE).
                smtp.starttls(context=ssl.create_default_context(cafile=config["ca_file"]))
                smtp.ehlo()
            if config["user"]:
                smtp.login(config["user"], config["password"])
            sender = parseaddr(str(message["From"]))[1]
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            recipient = parseaddr(str(message["To"]))[1]
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
            data_started = True
            smtp.data(message.as_bytes())
    except smtplib.SMTPDataError as exc:
        # The server answered the data with an error: it did not take the message.
        raise MailError(
            f"The mail server refused the message ({exc.smtp_code}).", sent_nothing=True
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        if data_started:
            raise MailError(
                "The connection broke while the message was being handed over.",
                sent_nothing=False,
            ) from exc
        raise MailError(_describe(exc), sent_nothing=True) from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "The mail server refused the user name or password."
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "The mail server refused the address."
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "The mail server refused the sender address (TANDEM_SMTP_FROM)."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "The mail server's certificate could not be checked (see TANDEM_SMTP_CA_FILE)."
    if isinstance(exc, ssl.SSLError):
        return "The secure connection to the mail server failed (STARTTLS)."
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "The mail server does not offer STARTTLS."
    if isinstance(exc, socket.gaierror):
        return "The mail server's name could not be found."
    if isinstance(exc, ConnectionRefusedError):
        return "The mail server could not be reached (connection refused)."
    if isinstance(exc, TimeoutError | socket.timeout):
        return "The mail server did not answer in time."
    return f"The mail server could not be reached ({type(exc).__name__})."


def _write_outbox(row: OutgoingMessage, message: EmailMessage) -> None:
    folder = outbox_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"{row.id}.eml"
    temporary = folder / f".{row.id}.eml.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(message.as_bytes())
    os.replace(temporary, target)  # the same file again if it is ever written twice


def deliver(row: OutgoingMessage) -> str:
    """Hand one message over (SMTP or the outbox); 'smtp' or 'outbox'. Raises MailError."""
    try:
        message = build(row)
    except (ValueError, TypeError) as exc:  # e.g. a line break in an address
        raise MailError(
            "The message could not be made (check the address).", sent_nothing=True
        ) from exc
    if uses_outbox():
        _write_outbox(row, message)
        return "outbox"
    _smtp_send(message)
    return "smtp"


# --- the queue ------------------------------------------------------------------------------


def _due(now: datetime) -> Any:
    return (OutgoingMessage.state == MessageState.QUEUED) & (OutgoingMessage.send_after <= now)


def expire_leases(now: datetime | None = None) -> int:
    """Rows left `sending` by a run that stopped: `uncertain`, never sent again by itself."""
    now = now or utcnow()
    result = db.session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.state == MessageState.SENDING, OutgoingMessage.lease_until < now)
        .values(
            state=MessageState.UNCERTAIN,
            lease_until=None,
            last_error="Sending stopped part-way; it may not have arrived.",
        )
    )
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_one(now: datetime | None = None) -> OutgoingMessage | None:
    """Take one due message for this run, or None. Two runs never take the same row."""
    now = now or utcnow()
    lease = timedelta(seconds=float(current_app.config.get("MAIL_LEASE_SECONDS", 300)))
    query = (
        select(OutgoingMessage.id)
        .where(_due(now))
        .order_by(OutgoingMessage.send_after, OutgoingMessage.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for message_id_ in db.session.scalars(query.limit(5)).all():
        result = db.session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.id == message_id_, _due(now))
            .values(
                state=MessageState.SENDING,
                lease_until=now + lease,
                attempts=OutgoingMessage.attempts + 1,
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            db.session.commit()
            return db.session.get(OutgoingMessage, message_id_, populate_existing=True)
    db.session.commit()
    return None


def backoff(attempts: int) -> timedelta:
    base = float(current_app.config.get("MAIL_RETRY_SECONDS", 60))
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), BACKOFF_CAP)


@dataclass
class RunReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    planned: int = 0

    def __str__(self) -> str:
        return (
            f"sent {self.sent}, to retry {self.retrying}, failed {self.failed}, "
            f"uncertain {self.uncertain}, newly queued {self.planned}"
        )


def _finish(row: OutgoingMessage, report: RunReport) -> None:
    try:
        deliver(row)
    except MailError as exc:
        now = utcnow()
        row.lease_until = None
        row.last_error = str(exc)[:ERROR_MAX]
        if not exc.sent_nothing:
            row.state = MessageState.UNCERTAIN
            report.uncertain += 1
        elif row.attempts >= int(current_app.config.get("MAIL_MAX_ATTEMPTS", 6)):
            row.state = MessageState.FAILED
            report.failed += 1
        else:
            row.state = MessageState.QUEUED
            row.send_after = now + backoff(row.attempts)
            report.retrying += 1
        log.warning("Message %s not sent: %s", row.id, row.last_error)
    else:
        row.state = MessageState.SENT
        row.sent_at = utcnow()
        row.lease_until = None
        row.last_error = ""
        # The link is a live token: it stays in the database only until it is sent.
        row.body = LINK.sub(LINK_REMOVED, row.body)
        report.sent += 1
    db.session.commit()


def send_due(limit: int = 200, now: datetime | None = None) -> RunReport:
    """Send every due message (at most `limit`), one at a time; see the module's text."""
    report = RunReport()
    expire_leases(now)
    for _ in range(limit):
        row = claim_one(now)
        if row is None:
            break
        if not row.message_id:
            row.message_id = message_id(row)
            db.session.commit()
        _finish(row, report)
    return report


def send_again(row: OutgoingMessage) -> bool:
    """The therapist asks for a failed or uncertain message to go again, now."""
    if row.state not in (MessageState.FAILED, MessageState.UNCERTAIN):
        return False
    if LINK_REMOVED in row.body:
        return False
    row.state = MessageState.QUEUED
    row.send_after = utcnow()
    row.attempts = 0
    db.session.commit()
    return True


def messages_for(couple_ids: Iterable[int], limit: int = 50) -> list[OutgoingMessage]:
    ids = list(couple_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(OutgoingMessage)
            .where(OutgoingMessage.couple_id.in_(ids))
            .order_by(OutgoingMessage.created_at.desc(), OutgoingMessage.id.desc())
            .limit(limit)
        )
    )


def problems_for(couple_ids: Iterable[int]) -> list[OutgoingMessage]:
    """Messages that did not go (failed, uncertain, or waiting for a retry after an error)."""
    ids = list(couple_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(OutgoingMessage)
            .where(
                OutgoingMessage.couple_id.in_(ids),
                or_(
                    OutgoingMessage.state.in_((MessageState.FAILED, MessageState.UNCERTAIN)),
                    (OutgoingMessage.state == MessageState.QUEUED)
                    & (OutgoingMessage.last_error != ""),
                ),
            )
            .order_by(OutgoingMessage.created_at.desc())
        )
    )


@dataclass(frozen=True)
class OutboxEntry:
    row: OutgoingMessage
    links: list[str]
    body: str


def outbox_entries(rows: Iterable[OutgoingMessage]) -> list[OutboxEntry]:
    """The outbox files of these rows (the laptop's stand-in for sending), newest first."""
    from email import policy
    from email.parser import BytesParser

    entries = []
    folder = outbox_dir()
    for row in rows:
        path = folder / f"{row.id}.eml"
        if not path.is_file():
            continue
        parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        entries.append(OutboxEntry(row, LINK.findall(body), body))
    return entries
