"""A loopback HTTP proxy that plays a server dying in the middle of a registration.

It forwards requests one by one to a real server and counts them. The request numbered
`crash_at` reaches the server (so whatever it does is done) but its answer is never sent: the
connection is dropped, as when a server is killed after committing. From then on every
connection is closed at once, as for a dead server. With `crash_at=None` nothing is dropped
and the proxy only counts, which tells how many requests a registration makes.

Each forwarded request goes upstream on a connection of its own with `Connection: close`, and
the answer goes back with the same header, so one client connection carries one request and
the count is exact.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator

_LIMIT = 64 * 1024 * 1024  # no test request is bigger


class _Dead(Exception):
    """The client or the server closed the connection early."""


def _read_until(sock: socket.socket, buffer: bytearray, marker: bytes) -> int:
    while (end := buffer.find(marker)) < 0:
        chunk = sock.recv(65536)
        if not chunk or len(buffer) > _LIMIT:
            raise _Dead
        buffer.extend(chunk)
    return end


def _read_exactly(sock: socket.socket, buffer: bytearray, size: int) -> None:
    while len(buffer) < size:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Dead
        buffer.extend(chunk)


def _read_message(sock: socket.socket) -> tuple[list[bytes], bytes]:
    """One HTTP request (head lines and body), with a Content-Length or chunked body."""
    buffer = bytearray()
    end = _read_until(sock, buffer, b"\r\n\r\n")
    lines = bytes(buffer[:end]).split(b"\r\n")
    rest = bytearray(buffer[end + 4 :])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])
    }
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = bytearray()
        while True:
            line_end = _read_until(sock, rest, b"\r\n")
            size = int(bytes(rest[:line_end]).split(b";")[0], 16)
            del rest[: line_end + 2]
            _read_exactly(sock, rest, size + 2)
            body.extend(rest[:size])
            del rest[: size + 2]
            if size == 0:
                break
        lines = [line for line in lines if not line.lower().startswith(b"transfer-encoding:")]
        lines.append(b"Content-Length: " + str(len(body)).encode())
        return lines, bytes(body)
    length = int(headers.get(b"content-length", b"0"))
    _read_exactly(sock, rest, length)
    return lines, bytes(rest[:length])


class DroppingProxy:
    """`with DroppingProxy(upstream_port, crash_at=5) as proxy:` then use `proxy.uri`."""

    def __init__(self, upstream_port: int, crash_at: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.crash_at = crash_at
        self.requests: list[str] = []  # "METHOD /path" of every request seen, in order
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with contextlib.suppress(_Dead, OSError):
                    proxy._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.uri = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def crashed(self) -> bool:
        return self.crash_at is not None and len(self.requests) >= self.crash_at

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            if self.crashed:
                return  # a dead server: the connection closes without a word
        lines, body = _read_message(client)
        with self._lock:
            if self.crashed:
                return
            self.requests.append(lines[0].decode("latin-1").rsplit(" ", 1)[0])
            drop = self.crash_at is not None and len(self.requests) == self.crash_at
        head = [line for line in lines if not line.lower().startswith(b"connection:")]
        head.append(b"Connection: close")
        with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60) as up:
            up.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
            answer = bytearray()
            while chunk := up.recv(65536):
                answer.extend(chunk)
        if not drop:  # the upstream closed: the whole answer is here
            client.sendall(bytes(answer))

    def __enter__(self) -> DroppingProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def counting(upstream_port: int) -> Iterator[DroppingProxy]:
    """A proxy that drops nothing: `len(proxy.requests)` after a registration."""
    with DroppingProxy(upstream_port) as proxy:
        yield proxy
