"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
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

    def config(self) -> dict[str, Any]:
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            "SMTP_STARTTLS": False,  # a loopback test server; servers use STARTTLS
            "SMTP_FROM": "tandem@practice.example",
            "SMTP_TIMEOUT": 5,
        }


def running_server() -> Iterator[SmtpServer]:
    """For a fixture: `yield from running_server()`."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()
