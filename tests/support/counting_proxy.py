"""A recording reverse proxy on loopback, in front of a real server (the MLflow server):
it forwards every request unchanged and keeps its method, path with query, and body, so a
test or benchmark can count and inspect what a client asked for."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


@dataclass
class Recorded:
    method: str
    path: str
    body: bytes


@dataclass
class Proxy:
    url: str
    requests: list[Recorded] = field(default_factory=list)

    def mentioning(self, text: str) -> list[Recorded]:
        """Requests whose path or body holds `text` (URL-encoded or not)."""
        from urllib.parse import quote, quote_plus

        forms = {text, quote(text), quote_plus(text)}
        return [r for r in self.requests if any(f in r.path or f.encode() in r.body for f in forms)]


@contextmanager
def counting_proxy(target: str) -> Iterator[Proxy]:
    """A proxy to `target` (http://host:port) for the duration of the block."""
    parts = urlsplit(target)
    lock = threading.Lock()
    proxy = Proxy("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                proxy.requests.append(Recorded(self.command, self.path, body))
            upstream = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for k, v in answer.getheaders():
                if k.lower() not in _HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
