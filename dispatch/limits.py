"""Request body limits, per route, enforced before anything parses the body.

Every route takes a small body with few form fields; only the volunteer CSV imports take a
large one (IMPORT_MAX_BYTES), and the activity imports a middling one (ACTIVITY_IMPORT_LIMIT). A body over its route's limit, announced (Content-Length) or streamed
(chunked), is 413 PAYLOAD_TOO_LARGE before a form, a JSON document or a webhook signature is
computed from it, so one request cannot hold a worker for seconds or gigabytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from cap import MAX_DOCUMENT_BYTES as CAP_MAX_BYTES
from notifications.smsgate_webhooks import MAX_EVENT_BYTES
from notifications.telegram_updates import MAX_UPDATE_BYTES


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    max_fields: int  # url-encoded pairs or multipart parts


# The SMS provider's callbacks: a 1,600-character Cyrillic text is under 10 KB url-encoded,
# and Twilio sends some 40 fields (with MediaUrl0..9 and their types).
WEBHOOK_LIMIT = BodyLimit(max_bytes=16 * 1024, max_fields=100)
# JSON bodies and page forms: an incident area of MAX_AREA_VERTICES positions, pretty-printed,
# stays well under this.
DEFAULT_LIMIT = BodyLimit(max_bytes=1024 * 1024, max_fields=200)
WEBHOOK_BLUEPRINTS = ("webhooks",)
# Webhooks whose events are JSON documents of their own size (one field, the body).
JSON_WEBHOOK_LIMITS = {
    "webhooks.sms_smsgate": BodyLimit(max_bytes=MAX_EVENT_BYTES, max_fields=1),
    "webhooks.telegram_webhook": BodyLimit(max_bytes=MAX_UPDATE_BYTES, max_fields=1),
}
# The CSV imports (API and console page): streamed against IMPORT_MAX_BYTES, never held whole.
IMPORT_ENDPOINTS = ("api.import_csv", "console.import_csv")
IMPORT_FIELDS = 10
# The activity imports (API and console page): all or nothing, so the whole file is checked
# before anything is written; a bounded file of a bounded number of lines, read whole.
ACTIVITY_IMPORT_LIMIT = BodyLimit(max_bytes=4 * 1024 * 1024, max_fields=IMPORT_FIELDS)
ACTIVITY_IMPORT_MAX_LINES = 20_000
# A CAP 1.2 document (POST /api/v1/cap): one XML body of at most 1 MiB.
ROUTE_LIMITS = {
    "api.post_cap": BodyLimit(max_bytes=CAP_MAX_BYTES, max_fields=1),
    "api.import_activity": ACTIVITY_IMPORT_LIMIT,
    "console.activity_import": ACTIVITY_IMPORT_LIMIT,
}


def limit_for(endpoint: str | None, blueprint: str | None) -> BodyLimit:
    if endpoint in IMPORT_ENDPOINTS:
        return BodyLimit(max_bytes=current_app.config["IMPORT_MAX_BYTES"], max_fields=IMPORT_FIELDS)
    if endpoint in ROUTE_LIMITS:
        return ROUTE_LIMITS[endpoint]
    if endpoint in JSON_WEBHOOK_LIMITS:
        return JSON_WEBHOOK_LIMITS[endpoint]
    if blueprint in WEBHOOK_BLUEPRINTS:
        return WEBHOOK_LIMIT
    return DEFAULT_LIMIT


def too_large(limit: BodyLimit, what: str = "body") -> RequestEntityTooLarge:
    if what == "body":
        text = f"The request body is larger than this endpoint takes ({limit.max_bytes} bytes)."
    else:
        text = f"The request has more form fields than this endpoint takes ({limit.max_fields})."
    return RequestEntityTooLarge(description=text)


def enforce_body_limit() -> None:
    """before_request: apply the route's limit, and read a small body now, bounded."""
    limit = limit_for(request.endpoint, request.blueprint)
    # Werkzeug enforces these on whatever reads the body later (streams, multipart parsing).
    request.max_content_length = limit.max_bytes
    request.max_form_parts = limit.max_fields
    request.max_form_memory_size = min(limit.max_bytes, 500_000)
    length = request.content_length
    if length is not None and length > limit.max_bytes:
        raise too_large(limit)
    if request.endpoint in IMPORT_ENDPOINTS:
        return  # streamed by the import itself; the stream raises 413 past the limit
    if length == 0:
        return
    if length is None and "wsgi.input_terminated" not in request.environ:
        return  # no length and a server that does not end the stream: Werkzeug reads nothing
    body = _read_bounded(limit)
    if request.mimetype == "application/x-www-form-urlencoded" and body.count(b"&") + 1 > limit.max_fields:
        raise too_large(limit, "fields")
    # Everything after this (forms, JSON, signatures) reads the body we hold, of known length.
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["CONTENT_LENGTH"] = str(len(body))
    request.environ.pop("wsgi.input_terminated", None)
    request.environ.pop("HTTP_TRANSFER_ENCODING", None)


def _read_bounded(limit: BodyLimit) -> bytes:
    """The whole body, or 413 as soon as it passes the limit (a chunked body has no length).

    Werkzeug's own stream stops reading at max_content_length and hands on what it read, so a
    chunked body one byte too long would be cut short and processed; read one byte past
    the limit instead, and refuse.
    """
    stream = get_input_stream(request.environ, max_content_length=limit.max_bytes + 1)
    chunks, size = [], 0
    while size <= limit.max_bytes:
        chunk = stream.read(min(64 * 1024, limit.max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit.max_bytes:
        raise too_large(limit)
    return b"".join(chunks)


def register_limits(app: Flask) -> None:
    # A route that escapes limit_for still gets the small limit, never the import's.
    app.config["MAX_CONTENT_LENGTH"] = DEFAULT_LIMIT.max_bytes
    # Registered before the pages' CSRF check and anything else that reads a form.
    app.before_request(enforce_body_limit)
