"""A loopback HTTP server that serves CAP documents and Atom/RSS feeds, for the poller's tests
(and a target that records whether a hostile document ever made us call it).

`serve(path, body, content_type)` sets what a path answers; it honours If-None-Match against
the ETag it sends, can answer with a status or a redirect, and records every request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    body: bytes
    content_type: str = "application/cap+xml"
    etag: str | None = None
    status: int = 200
    location: str | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FakeCapFeed:
    routes: dict[str, Served] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def serve(self, path: str, body: bytes | str = b"", content_type: str = "application/cap+xml", **kwargs) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Served(data, content_type, **kwargs)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def __enter__(self) -> FakeCapFeed:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(Seen(self.path, dict(self.headers)))
                served = fake.routes.get(self.path)
                if served is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if served.location is not None:
                    self.send_response(served.status)
                    self.send_header("Location", served.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if served.etag is not None and self.headers.get("If-None-Match") == served.etag:
                    self.send_response(304)
                    self.send_header("ETag", served.etag)
                    self.end_headers()
                    return
                self.send_response(served.status)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Content-Length", str(len(served.body)))
                if served.etag is not None:
                    self.send_header("ETag", served.etag)
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
