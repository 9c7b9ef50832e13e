"""Per-route body limits: webhooks, pages and JSON take small bodies, only the CSV imports a
large one; over the limit is 413 before anything parses the body, chunked bodies included."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.limits import DEFAULT_LIMIT, WEBHOOK_LIMIT
from dispatch.models import AuditEvent, InboundMessage, Incident, Volunteer

from .conftest import signed_post

MIB = 1024 * 1024


class LazyBody:
    """A request body produced as it is read, counting what the app consumed (no length)."""

    def __init__(self, total: int, piece: bytes = b"Body=x&", head: bytes = b""):
        self.remaining, self.piece, self.pending, self.consumed = total, piece, head, 0

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        out = bytearray(self.pending[:size])
        self.pending = self.pending[size:]
        while len(out) < size:
            out += self.piece
        out = bytes(out[:size])
        self.remaining -= len(out)
        self.consumed += len(out)
        return out


def chunked(client, path: str, body, content_type: str, headers: dict | None = None):
    """POST without Content-Length, from a server that ends the stream (gunicorn, Werkzeug's)."""
    return client.post(
        path,
        content_type=content_type,
        headers={**(headers or {}), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True},
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def assert_too_large(response) -> None:
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_huge_streamed_webhook_is_refused_after_reading_only_its_limit(client):
    body = LazyBody(48 * MIB)
    response = chunked(client, "/sms/inbound", body, "application/x-www-form-urlencoded")
    assert_too_large(response)
    assert body.consumed <= WEBHOOK_LIMIT.max_bytes + 1
    # Refused before the signature was even looked at: not counted as a forged request.
    assert count(InboundMessage) == 0 and count(AuditEvent) == 0


def test_a_webhook_announcing_a_large_body_is_refused_without_reading_it(client):
    response = client.post(
        "/sms/inbound",
        data=b"Body=" + b"x" * (WEBHOOK_LIMIT.max_bytes),
        content_type="application/x-www-form-urlencoded",
    )
    assert_too_large(response)
    assert count(InboundMessage) == 0 and count(AuditEvent) == 0


def test_a_webhook_with_too_many_fields_is_refused_even_when_signed(client, app):
    params = {"MessageSid": "SM" + "a" * 32, "From": "+77010000001", "Body": "STOP"}
    params.update({f"X{i}": "" for i in range(WEBHOOK_LIMIT.max_fields)})
    assert_too_large(signed_post(client, app, "/sms/inbound", params))
    assert count(InboundMessage) == 0 and count(AuditEvent) == 0


def test_a_real_sized_signed_webhook_still_passes(client, app):
    # Twilio's ~40 fields and a 1,600-character Cyrillic text (6 bytes each url-encoded).
    params = {"MessageSid": "SM" + "b" * 32, "From": "+77010000001", "Body": "щ" * 1600}
    params.update({f"MediaUrl{i}": "" for i in range(10)} | {f"MediaContentType{i}": "" for i in range(10)})
    params.update({f"Field{i}": "value" for i in range(17)})
    assert signed_post(client, app, "/sms/inbound", params).status_code == 200
    assert count(InboundMessage) == 1


def test_sign_in_with_a_million_fields_is_refused_before_parsing(client):
    body = LazyBody(8 * MIB, piece=b"a=&")
    assert_too_large(chunked(client, "/login", body, "application/x-www-form-urlencoded"))
    assert body.consumed <= DEFAULT_LIMIT.max_bytes + 1
    fields = "&".join(f"f{i}=" for i in range(DEFAULT_LIMIT.max_fields + 1))
    assert_too_large(client.post("/login", data=fields, content_type="application/x-www-form-urlencoded"))


def test_multipart_with_too_many_parts_is_refused(client):
    data = {f"f{i}": "x" for i in range(DEFAULT_LIMIT.max_fields + 1)}
    assert client.post("/login", data=data, content_type="multipart/form-data").status_code == 413


def incident_json() -> bytes:
    return json.dumps(
        {"kind": "fire", "title": "Fire", "lat": 51.17, "lon": 71.45, "needs": [{"skill": None, "count": 1}]}
    ).encode()


def test_a_chunked_json_body_over_the_limit_is_413_not_cut_short(client, auth):
    # Valid JSON followed by whitespace: cut at the limit it would still parse (and once did).
    payload = incident_json()
    body = LazyBody(DEFAULT_LIMIT.max_bytes + 10, piece=b" ", head=payload)
    assert_too_large(chunked(client, "/api/v1/incidents", body, "application/json", auth("coordinator")))
    assert count(Incident) == 0


def test_a_chunked_json_body_within_the_limit_is_read_whole(client, auth):
    payload = incident_json()
    body = LazyBody(len(payload) + 1000, piece=b" ", head=payload)
    response = chunked(client, "/api/v1/incidents", body, "application/json", auth("coordinator"))
    assert response.status_code == 201, response.get_json()
    assert count(Incident) == 1


def test_json_just_over_the_limit_with_a_length_is_413(client, auth):
    body = incident_json() + b" " * DEFAULT_LIMIT.max_bytes
    response = client.post("/api/v1/incidents", data=body, content_type="application/json", headers=auth("coordinator"))
    assert_too_large(response)
    assert count(Incident) == 0


HEADER = b"name,phone,lat,lon,skills,language,max_distance_km,organization\n"


def test_only_the_import_takes_a_body_larger_than_the_default(client, auth):
    # A 1.1 MiB file with one bad row: the import reads it (and reports the row)...
    csv = HEADER + b"Big," + b"x" * (DEFAULT_LIMIT.max_bytes + MIB // 10) + b",51,71,first_aid,ru,,\n"
    response = client.post("/api/v1/volunteers/import", data=csv, content_type="text/csv", headers=auth("coordinator"))
    assert response.status_code == 200
    assert response.get_json()["rejected"] == [
        {"line": 2, "error": "unreadable CSV: field larger than field limit (131072)"}
    ]
    # ...while the same size is too large for a volunteer.
    response = client.post(
        "/api/v1/volunteers", data=b" " * len(csv), content_type="application/json", headers=auth("coordinator")
    )
    assert_too_large(response)


def test_a_chunked_import_over_its_limit_is_413_and_imports_nothing(client, auth, app):
    row = b"Someone,+77011112233,51.17,71.45,first_aid,ru,,\n"
    saved = app.config["IMPORT_MAX_BYTES"]
    app.config["IMPORT_MAX_BYTES"] = 4096
    try:
        within = LazyBody(len(HEADER) + len(row), piece=b"\n", head=HEADER + row)
        over = LazyBody(8192, piece=b"\n", head=HEADER + row)
        assert_too_large(chunked(client, "/api/v1/volunteers/import", over, "text/csv", auth("coordinator")))
        assert count(Volunteer) == 0
        response = chunked(client, "/api/v1/volunteers/import", within, "text/csv", auth("coordinator"))
        assert response.status_code == 200 and response.get_json()["created"] == 1
    finally:
        app.config["IMPORT_MAX_BYTES"] = saved
