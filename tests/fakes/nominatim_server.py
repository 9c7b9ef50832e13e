"""A loopback HTTP server that answers like Nominatim, for geocoding tests.

Use as a context manager or through the `nominatim_server` fixture (import it into a
conftest.py). Configure answers with add_place / set_reverse / fail_status; every request
received is recorded in `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class RecordedRequest:
    path: str  # without the configured prefix, e.g. "/search"
    params: dict[str, str]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class FakeNominatim:
    """Answers GET <prefix>/search?q=…&format=json and <prefix>/reverse?lat=…&lon=…&format=json."""

    def __init__(self, path_prefix: str = "") -> None:
        self.path_prefix = path_prefix.rstrip("/")
        self.places: dict[str, list[dict]] = {}
        self.reverse_answer: dict = {"error": "Unable to geocode"}
        self.fail_status: int | None = None  # answer every request with this status
        self.delay_s: float = 0.0  # sleep before answering (timeout tests)
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- configuration ---

    def add_place(self, query: str, lat: float, lon: float, display_name: str, address: dict | None = None) -> None:
        """Make /search?q=<query> (case and spacing insensitive) return this place first."""
        place_id = sum(len(v) for v in self.places.values()) + 1
        self.places.setdefault(_normalise(query), []).append(
            {
                "place_id": place_id,
                "licence": "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright",
                "osm_type": "node",
                "osm_id": 1000 + place_id,
                "lat": str(lat),  # Nominatim sends coordinates as strings
                "lon": str(lon),
                "class": "place",
                "type": "city",
                "place_rank": 16,
                "importance": 0.6,
                "addresstype": "city",
                "name": display_name.split(",")[0],
                "display_name": display_name,
                "boundingbox": [str(lat - 0.1), str(lat + 0.1), str(lon - 0.1), str(lon + 0.1)],
                **({"address": address} if address else {}),
            }
        )

    def set_reverse(self, address: dict, display_name: str, lat: float = 0.0, lon: float = 0.0) -> None:
        """Make every /reverse return this place (with its `address` details)."""
        self.reverse_answer = {
            "place_id": 99,
            "licence": "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright",
            "osm_type": "way",
            "osm_id": 4242,
            "lat": str(lat),
            "lon": str(lon),
            "display_name": display_name,
            "address": address,
            "boundingbox": [str(lat - 0.01), str(lat + 0.01), str(lon - 0.01), str(lon + 0.01)],
        }

    # --- lifecycle ---

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path_prefix}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def start(self) -> FakeNominatim:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                fake._handle(self)

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-nominatim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeNominatim:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- request handling (runs in the server's threads) ---

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        path = url.path
        if self.path_prefix and path.startswith(self.path_prefix):
            path = path[len(self.path_prefix) :]
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append(RecordedRequest(path, params, dict(handler.headers.items())))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_status is not None:
            self._send(handler, self.fail_status, {"error": "fake failure"})
        elif path == "/search":
            self._send(handler, 200, self.places.get(_normalise(params.get("q", "")), []))
        elif path == "/reverse":
            self._send(handler, 200, self.reverse_answer)
        else:
            self._send(handler, 404, {"error": f"unknown path {path}"})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout tests)
            pass


def _normalise(query: str) -> str:
    return " ".join(query.casefold().split())


@pytest.fixture
def nominatim_server():
    """A started FakeNominatim, stopped after the test."""
    with FakeNominatim() as server:
        yield server
