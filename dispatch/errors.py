"""DispatchError and its subclasses, and the one JSON error shape every failure is rendered in.

`{"error": {"code": "VALIDATION_ERROR", "message": "...", "details": {...}}}`
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DispatchError(Exception):
    status = 400
    code = "BAD_REQUEST"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, details: dict | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}

    def headers(self) -> dict[str, str]:
        """Extra response headers this error is answered with."""
        return {}


class ValidationFailed(DispatchError):
    status, code, message = 400, "VALIDATION_ERROR", "The request body is not valid."


class InvalidJson(DispatchError):
    status, code, message = 400, "INVALID_JSON", "The request body is not valid JSON."


class UnsupportedMediaType(DispatchError):
    status, code, message = 415, "UNSUPPORTED_MEDIA_TYPE", "This endpoint takes another content type."


class Unauthorized(DispatchError):
    status, code, message = 401, "UNAUTHORIZED", "A valid bearer token is required."


class Forbidden(DispatchError):
    status, code, message = 403, "FORBIDDEN", "Your role does not allow this."


class OutOfScope(DispatchError):
    status, code, message = 403, "OUT_OF_SCOPE", "This is outside your regions and organisations."


class NotFound(DispatchError):
    status, code, message = 404, "NOT_FOUND", "No such resource."


class DuplicatePhone(DispatchError):
    status, code, message = 409, "DUPLICATE_PHONE", "A volunteer with this phone number already exists."


class DuplicateOrganization(DispatchError):
    status, code, message = 409, "DUPLICATE_ORGANIZATION", "An organisation with this name already exists."


class DuplicateEmail(DispatchError):
    status, code, message = 409, "DUPLICATE_EMAIL", "A user with this email already exists."


class RateLimited(DispatchError):
    """Too many requests; `retry_after` (seconds) is sent as the Retry-After header."""

    status, code, message = 429, "RATE_LIMITED", "Too many requests; try again later."
    retry_after = 60

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


# Codes for the errors Werkzeug raises before our code runs (routing, body size, methods).
HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def validation_details(exc: ValidationError) -> dict:
    """Pydantic's errors as {"field.path": "message"}, readable by a person and a program."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in err["loc"]) or "body"
        message = err["msg"].removeprefix("Value error, ")
        fields.setdefault(path, message)
    return {"fields": fields}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DispatchError)
    def handle_dispatch_error(exc: DispatchError):
        return jsonify(error_body(exc.code, exc.message, exc.details)), exc.status, exc.headers()

    @app.errorhandler(ValidationError)
    def handle_validation_error(exc: ValidationError):
        return jsonify(error_body(ValidationFailed.code, ValidationFailed.message, validation_details(exc))), 400

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        code = HTTP_CODES.get(status, "HTTP_ERROR")
        response = _page_error(app, status, code) or jsonify(error_body(code, exc.description or exc.name))
        valid_methods = getattr(exc, "valid_methods", None)
        if valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.exception("unhandled error")
        page = _page_error(app, 500, "INTERNAL_ERROR")
        return page or jsonify(
            error_body("INTERNAL_ERROR", "Something went wrong on our side; it has been logged.")
        ), 500


def _page_error(app: Flask, status: int, code: str) -> Response | None:
    """A person's browser gets an error page in its language, a program the JSON shape: the pages
    register a renderer (`app.extensions["page_error"]`) that answers None for API requests."""
    render = app.extensions.get("page_error")
    return render(status, code) if render is not None else None
