"""A real SMTP peer for tests: aiosmtpd on 127.0.0.1, on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


class Catcher:
    """aiosmtpd handler: keeps each message and its envelope; a non-empty ``refuse``
    answers every RCPT with that SMTP reply, ``refuse_only`` answers RCPT for those
    addresses with it, and ``quit_reply`` (e.g. "421 ...") replaces QUIT's 221."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # each message as it came over the wire
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = ""
        self.refuse_only: dict[str, str] = {}
        self.quit_reply = ""
        self.received = threading.Event()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if self.refuse:
            return self.refuse
        if address in self.refuse_only:
            return self.refuse_only[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return self.quit_reply or "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.raw.append(raw)
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.set()
        return "250 Message accepted for delivery"


def serve() -> Iterator[tuple[Catcher, int]]:
    """Run a server until the generator is closed: yields (handler, port)."""
    from aiosmtpd.controller import Controller

    class FreePortController(Controller):  # type: ignore[misc]
        """Controller on port 0: learn the real port before the readiness probe uses it."""

        def _trigger_server(self) -> None:
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    handler = Catcher()
    controller = FreePortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()
