"""A real SMTP server in the test process (aiosmtpd) that captures what it accepts.

It can be told to refuse the next N messages with a 4xx or 5xx reply, to hold the next
message until released (a client killed while the server has not answered yet: the
message is then refused, as a server does when the connection is gone), or to close a gate
that keeps every message waiting, unanswered, until it opens (senders racing: the test sees
how many wait at once, then lets them all go on).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CapturingHandler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.accepted: list[EmailMessage] = []
            self.refused = 0
            self.data_commands = 0
            self._refusals: list[str] = []
            self._hold = False
            self.held = threading.Event()
            self._release = threading.Event()
            self._gate_open = threading.Event()
            self._gate_open.set()
            self.waiting = 0  # messages kept at the closed gate right now

    # --- test controls ---------------------------------------------------------------
    def refuse_next(self, count: int, reply: str = "451 4.3.0 Temporary failure, try again later") -> None:
        with self._lock:
            self._refusals.extend([reply] * count)

    def hold_next(self) -> None:
        with self._lock:
            self._hold = True
            self.held.clear()
            self._release.clear()

    def release(self) -> None:
        self._release.set()
        self._gate_open.set()

    def close_gate(self) -> None:
        self._gate_open.clear()

    def open_gate(self) -> None:
        self._gate_open.set()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.accepted) >= count:
                return list(self.accepted)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} accepted message(s) within {timeout:.0f} s, got "
                             f"{len(self.accepted)} (refused {self.refused})")

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.accepted if address in m["To"]]

    # --- aiosmtpd --------------------------------------------------------------------
    async def handle_DATA(self, server, session, envelope):
        if not self._gate_open.is_set():
            with self._lock:
                self.waiting += 1
            while not self._gate_open.is_set():
                await asyncio.sleep(0.02)
            with self._lock:
                self.waiting -= 1
        with self._lock:
            self.data_commands += 1
            refusal = self._refusals.pop(0) if self._refusals else None
            hold = self._hold
            self._hold = False
        if refusal:
            self.refused += 1
            return refusal
        if hold:
            self.held.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            self.refused += 1
            return "421 4.4.2 Connection lost before the message was accepted"
        message = message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.accepted.append(message)
        return "250 2.0.0 Message accepted for delivery"


class SMTPServer:
    """aiosmtpd's Controller on a free localhost port."""

    def __init__(self) -> None:
        self.handler = CapturingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, server_hostname="localhost")

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release()
        self.controller.stop()
