"""A real HTTP receiver for the webhook tests: ``http.server`` in a thread on a free port.

It records every POST (headers, body, instant) and answers from a script: each entry of
``answers`` is used once, in order, then ``default``. An answer is ``(status, body)``, or
``("sleep", seconds)`` to answer 200 only after the client has given up, or ``("redirect", url)``.
``close_gate()`` holds every POST at a gate until ``open_gate()`` (the race test counts how many
wait there).
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: collections.deque = collections.deque()
        self.default: tuple = (200, b"ok")
        self._lock = threading.Lock()
        self._gate = threading.Event()
        self._gate.set()
        self.waiting = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body, time.time()))
                    answer = receiver.answers.popleft() if receiver.answers else receiver.default
                    receiver.waiting += 1
                receiver._gate.wait(timeout=60)
                with receiver._lock:
                    receiver.waiting -= 1
                if answer[0] == "sleep":
                    time.sleep(answer[1])
                    answer = (200, b"late")
                if answer[0] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", answer[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, content = answer
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout)

            def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._gate.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.answers.clear()
            self.default = (200, b"ok")
        self._gate.set()

    def close_gate(self) -> None:
        self._gate.clear()

    def open_gate(self) -> None:
        self._gate.set()

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]
