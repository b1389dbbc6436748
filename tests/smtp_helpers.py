"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return str(part.get_content()) if part is not None else ""


@dataclass
class Inbox:
    """The messages the server accepted, and hooks to hold or refuse one."""

    received: list[Received] = field(default_factory=list)
    # Called with each message before it is accepted (may block, to freeze a send).
    before_accept: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        entry = Received(envelope.mail_from, list(envelope.rcpt_tos), parsed)  # type: ignore[arg-type]
        with self.lock:
            self.received.append(entry)
        if self.before_accept is not None:
            import asyncio

            await asyncio.get_running_loop().run_in_executor(None, self.before_accept, entry)
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox
    ca_file: Path | None = None

    def config(self) -> dict[str, Any]:
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            # STARTTLS when the test server offers it (checked against its certificate).
            "SMTP_STARTTLS": self.ca_file is not None,
            "SMTP_CA_FILE": str(self.ca_file) if self.ca_file else None,
            "SMTP_FROM": "tandem@practice.example",
            "SMTP_TIMEOUT": 5,
        }


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the certificate is its own CA)."""
    from datetime import UTC, datetime, timedelta
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def running_server(tls_folder: Path | None = None) -> Iterator[SmtpServer]:
    """For a fixture: `yield from running_server()`. With `tls_folder`, the server offers
    STARTTLS with a fresh certificate and refuses mail before it (`server.ca_file`)."""
    import ssl

    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    options: dict[str, Any] = {}
    ca_file = None
    if tls_folder is not None:
        ca_file, key_file = self_signed(tls_folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ca_file, key_file)
        options = {"tls_context": context, "require_starttls": True}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox, ca_file)
    finally:
        controller.stop()
