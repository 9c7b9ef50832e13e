"""Conditional responses for pages that poll: the ETag is a hash of the content itself.

Any worker, on any host, computes the same ETag for the same state, so polling works behind
any number of gunicorn workers with no state kept in a process: an unchanged picture costs
the browser a 304 with no body.
"""

from __future__ import annotations

import hashlib
import json

from flask import Response, current_app, request


def conditional(body: str, mimetype: str) -> Response:
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    response = current_app.response_class(body, mimetype=mimetype)
    response.set_etag(etag)
    # Always ask again; never serve a stale picture from a cache.
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response.make_conditional(request)


def conditional_json(data: dict) -> Response:
    return conditional(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")), "application/json")
