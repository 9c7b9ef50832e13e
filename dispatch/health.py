"""GET /healthz: 200 when the database answers, 503 when it does not (for load balancers).
GET /healthz?detail=1 adds each provider's health (dispatch/provider_health.py): whether new
call-outs skip it, its consecutive send failures, last success and failure, delivery ratio."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import channels, provider_health
from .extensions import db

log = logging.getLogger(__name__)


def register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
            # Public: states, counts and times only; the errors' text is for the console.
            providers = provider_health.snapshot(channels.configured()) if request.args.get("detail") else None
        except SQLAlchemyError:
            log.exception("health check: database unreachable")
            db.session.rollback()
            return jsonify(status="unavailable", database="unreachable"), 503
        body = dict(status="ok", database="ok", sms_backend=app.config["SMS_BACKEND"])
        if providers is not None:
            body.update(sms_fallback_backend=app.config["SMS_FALLBACK_BACKEND"] or None, providers=providers)
        return jsonify(body)
