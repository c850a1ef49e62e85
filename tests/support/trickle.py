"""A loopback HTTP server that answers slowly: a few bytes at once, then one byte at a time.

pytest-httpserver writes a whole answer at once, so a server that trickles (or stalls) is
played by this small socket server instead. It stops trickling when the client goes away, when
the test ends, or after `give_up` seconds; a client without bounds then gets its complete
answer, so a test of the bounds fails instead of hanging.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from types import TracebackType


def http_answer(
    body: bytes, status: str = "200 OK", content_type: str = "application/json"
) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class TrickleServer:
    def __init__(self, answer: bytes, at_once: int, interval: float, give_up: float = 30.0) -> None:
        """Every request gets `answer`: its first `at_once` bytes at once, then one byte per
        `interval` seconds."""
        self.answer, self.at_once, self.interval, self.give_up = answer, at_once, interval, give_up
        self.requests = 0
        self._stop = threading.Event()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _serve(self, conn: socket.socket) -> None:
        received = b""
        while b"\r\n\r\n" not in received:  # the request's head; the tests send no body
            data = conn.recv(65536)
            if not data:
                return
            received += data
        self.requests += 1
        end = time.monotonic() + self.give_up
        try:
            conn.sendall(self.answer[: self.at_once])
            for i in range(self.at_once, len(self.answer)):
                if time.monotonic() >= end:
                    conn.sendall(self.answer[i:])
                    return
                if self._stop.wait(self.interval):
                    return
                conn.sendall(self.answer[i : i + 1])
        except OSError:  # the client went away: what a bounded client does
            return

    def __enter__(self) -> TrickleServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
