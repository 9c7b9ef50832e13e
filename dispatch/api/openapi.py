"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, built from the pydantic models.

Every route is described in OPERATIONS; a test fails when a route exists that is not here,
so the document cannot drift from the code.
"""

from __future__ import annotations

from pydantic import BaseModel

from .. import schemas
from . import bp

ERROR_CODES = {
    400: "VALIDATION_ERROR, INVALID_JSON, CSV_HEADER, CSV_ENCODING: bad input, nothing changed",
    401: "UNAUTHORIZED: missing or invalid bearer token",
    403: "FORBIDDEN: the token's role is too low; OUT_OF_SCOPE: an incident or organisation outside the user's regions and organisations (volunteers and activity outside them are 404)",
    404: "NOT_FOUND",
    409: "DUPLICATE_PHONE, DUPLICATE_ORGANIZATION and other conflicts",
    413: "PAYLOAD_TOO_LARGE: the body is over this route's limit (refused before it is read)",
    415: "UNSUPPORTED_MEDIA_TYPE",
}

# (method, path) -> description. `role` None means public; `body` a pydantic model or a media type.
OPERATIONS: dict[tuple[str, str], dict] = {
    ("get", "/healthz"): {
        "summary": "Liveness and database check; with detail=1 also each provider's health",
        "role": None,
        "tag": "ops",
        "query": {
            "detail": "1: add `providers` (state, consecutive failures, last success and failure, delivery ratio)"
        },
    },
    ("get", "/api/v1/openapi.json"): {"summary": "This document", "role": None, "tag": "ops"},
    ("get", "/api/v1/skills"): {
        "summary": "The skill catalogue (code, names in en/ru/kk)",
        "role": "viewer",
        "tag": "volunteers",
        "query": {"lang": "en|ru|kk"},
    },
    ("post", "/api/v1/volunteers"): {
        "summary": "Register a volunteer",
        "role": "coordinator",
        "tag": "volunteers",
        "body": schemas.VolunteerIn,
        "status": 201,
        "errors": (400, 409, 415),
    },
    ("get", "/api/v1/volunteers"): {
        "summary": "List volunteers with filters, paginated; with near= the nearest first",
        "role": "viewer",
        "tag": "volunteers",
        "errors": (400,),
        "query": {
            "skill": "skill code",
            "available": "true|false (available now)",
            "status": "active|opted_out|inactive",
            "organization": "an organisation's name (case and spacing ignored)",
            "organization_id": "an organisation's id",
            "region": "ISO 3166-2 code (GET /api/v1/regions)",
            "near": "LAT,LON (for a viewer, measured from homes rounded to 2 decimals)",
            "radius_km": "with near; default 10",
            "page": "from 1",
            "per_page": "1..200, default 50",
        },
    },
    ("get", "/api/v1/volunteers/{volunteer_id}"): {
        "summary": "One volunteer (a viewer sees no phone number and the home to 2 decimals; a coordinator's "
        "read of the full record is audited: who, when, why)",
        "role": "viewer",
        "tag": "volunteers",
        "errors": (400, 404),
        "query": {"incident_id": "the read is for this incident (the audit's why); without it: registry"},
    },
    ("patch", "/api/v1/volunteers/{volunteer_id}"): {
        "summary": "Change any writable field",
        "role": "coordinator",
        "tag": "volunteers",
        "body": schemas.VolunteerPatch,
        "errors": (400, 404, 409, 415),
    },
    ("delete", "/api/v1/volunteers/{volunteer_id}"): {
        "summary": "Deactivate and erase personal data",
        "role": "coordinator",
        "tag": "volunteers",
        "status": 204,
        "errors": (404,),
    },
    ("post", "/api/v1/volunteers/{volunteer_id}/telegram-link"): {
        "summary": 'A single-use Telegram link for the volunteer: {"code", "url": "https://t.me/<bot>?start=<code>", '
        '"expires_at"} (24 h); /start with it in the bot links the chat and makes Telegram their preferred channel',
        "role": "coordinator",
        "tag": "volunteers",
        "status": 201,
        "errors": (404,),
        "extra_errors": {409: "TELEGRAM_NOT_CONFIGURED: the service has no Telegram bot (TELEGRAM_BOT_TOKEN unset)"},
    },
    ("post", "/api/v1/volunteers/import"): {
        "summary": "Bulk CSV import: valid rows in, bad rows reported by line",
        "role": "coordinator",
        "tag": "volunteers",
        "body": "text/csv",
        "errors": (400, 413, 415),
        "query": {
            "dry_run": "true: check and report, import nothing",
            "encoding": "utf-8|windows-1251 (or a charset in Content-Type); without it: UTF-8, or Windows-1251 when "
            "detected (reported as encoding_detected)",
        },
    },
    ("post", "/api/v1/candidates"): {
        "summary": "Preview: the eligible volunteers an incident here would alert, nearest first "
        "(explain=true adds counts of who was left out, by rule)",
        "role": "coordinator",
        "tag": "incidents",
        "body": schemas.CandidatesIn,
        "errors": (400, 415),
    },
    ("post", "/api/v1/incidents"): {
        "summary": "Report an incident: stored with its needs, and the first wave of alerts queued at once",
        "role": "coordinator",
        "tag": "incidents",
        "body": schemas.IncidentIn,
        "status": 201,
        "errors": (400, 415),
        "extra_errors": {503: "GEOCODER_UNAVAILABLE: an address was given and the geocoder does not answer"},
    },
    ("get", "/api/v1/incidents"): {
        "summary": "Incidents, newest first",
        "role": "viewer",
        "tag": "incidents",
        "errors": (400,),
        "query": {
            "status": "open|dispatching|staffed|unfilled|closed|cancelled|draft",
            "region": "ISO 3166-2 code (GET /api/v1/regions)",
        },
    },
    ("get", "/api/v1/incidents/{incident_id}"): {
        "summary": "One incident: needs with filled counts, alert counts by status, responders with distance and ETA",
        "role": "viewer",
        "tag": "incidents",
        "errors": (404,),
    },
    ("patch", "/api/v1/incidents/{incident_id}"): {
        "summary": "Change a draft or an open incident: title, description, severity, radius_km, max_radius_km, "
        "area, lat/lon, meeting_point, region, needs ([{skill, count}]: a new skill is added, 0 removes a need "
        "with nothing filled, never below filled). Waves follow at once, lowered counts stand down the extra "
        "pending alerts, accepted responders are texted a new place; audited (before/after)",
        "role": "coordinator",
        "tag": "incidents",
        "body": schemas.IncidentPatch,
        "errors": (400, 404, 409, 415),
    },
    ("post", "/api/v1/incidents/{incident_id}/standby"): {
        "summary": "Tell the available volunteers inside the area, and within radius_km of it, to stand by (no "
        "answer expected; quiet hours respected unless extreme; once per volunteer and incident; at most 5,000 "
        'per call, nearest first): {"notified", "already", "skipped_quiet_hours", "remaining"}',
        "role": "coordinator",
        "tag": "incidents",
        "errors": (404, 409),
    },
    ("get", "/api/v1/incidents/{incident_id}/alerts"): {
        "summary": "Every alerted volunteer: status, wave, distance, why chosen, SMS status, channel (sms|telegram: "
        "where the latest call-out went) and deliveries [{channel, provider, status}], one per call-out sent. "
        "A viewer sees no phone numbers and distances to the whole km; a coordinator's read is audited",
        "role": "viewer",
        "tag": "incidents",
        "errors": (404,),
    },
    ("get", "/api/v1/incidents/{incident_id}/audit"): {
        "summary": "The audit trail: every state change, who or what caused it, when",
        "role": "coordinator",
        "tag": "incidents",
        "errors": (404,),
    },
    ("post", "/api/v1/incidents/{incident_id}/close"): {
        "summary": "Close: alerting stops; accepted and pending volunteers are told by SMS",
        "role": "coordinator",
        "tag": "incidents",
        "errors": (404, 409),
    },
    ("post", "/api/v1/incidents/{incident_id}/cancel"): {
        "summary": "Cancel: alerting stops; accepted and pending volunteers are told by SMS",
        "role": "coordinator",
        "tag": "incidents",
        "errors": (404, 409),
    },
    ("post", "/api/v1/incidents/{incident_id}/messages"): {
        "summary": "Broadcast an SMS to accepted, pending or all alerted volunteers",
        "role": "coordinator",
        "tag": "incidents",
        "body": schemas.BroadcastIn,
        "errors": (400, 404, 409, 415),
    },
    ("post", "/api/v1/incidents/{incident_id}/alerts"): {
        "summary": "Alert chosen volunteers by hand (skips distance and fatigue rules, never an opt-out)",
        "role": "coordinator",
        "tag": "incidents",
        "body": schemas.ManualAlertIn,
        "status": 201,
        "errors": (400, 404, 409, 415),
    },
    ("get", "/api/v1/places"): {
        "summary": "Find a settlement of Kazakhstan by name, offline (Latin or Cyrillic, kk/ru/en, prefixes): "
        "best match first, then the most populous; name in lang plus names in kk/ru/en, lat, lon, population, region",
        "role": "viewer",
        "tag": "places",
        "errors": (400,),
        "query": {"q": "name or its beginning", "limit": "1..50, default 10", "lang": "en|ru|kk (default en)"},
    },
    ("get", "/api/v1/regions"): {
        "summary": "Kazakhstan's 17 regions and 3 cities: ISO 3166-2 code and names in kk/ru/en",
        "role": "viewer",
        "tag": "places",
    },
    ("post", "/api/v1/incidents/{incident_id}/responders/{volunteer_id}"): {
        "summary": "Set a responder's state on scene: arrived, done (left the scene) or safe",
        "role": "coordinator",
        "tag": "on scene",
        "body": schemas.ResponderStatusIn,
        "errors": (400, 404, 409, 415),
        "extra_errors": {
            409: "NOT_ARRIVED (done or safe before arrived), ALREADY_LEFT (arrived after done), "
            "INCIDENT_ENDED (arrived at an ended incident)"
        },
    },
    ("post", "/api/v1/incidents/{incident_id}/roll-call"): {
        "summary": "Roll call: everyone on scene (arrived, not done) is asked by SMS to answer SAFE",
        "role": "coordinator",
        "tag": "on scene",
        "status": 201,
        "errors": (404, 409),
        "extra_errors": {409: "NOBODY_ON_SCENE: nobody to ask; nothing changed"},
    },
    ("get", "/api/v1/incidents/{incident_id}/roll-call"): {
        "summary": "The latest roll call: started_at, asked, accounted, unaccounted (volunteer ids)",
        "role": "viewer",
        "tag": "on scene",
        "errors": (404,),
    },
    ("get", "/api/v1/activity"): {
        "summary": "The register of volunteer activity: JSON pages, newest first, with total hours; or the whole "
        "filter as a streamed CSV (UTF-8 with a BOM) or XLSX file, oldest first, columns in the order of the JSON "
        "fields (incident as incident_kind, incident_title), text cells that a spreadsheet would evaluate written "
        "as text; more than 2,000,000 rows is 400 (choose a narrower period)",
        "role": "viewer",
        "tag": "activity",
        "errors": (400,),
        "query": {
            "volunteer_id": "one volunteer",
            "organization": "the organisation's name at the time, exactly",
            "organization_id": "one organisation",
            "incident_id": "one incident",
            "from": "date (a day in Asia/Almaty) or date-time; records that started then or later",
            "to": "date (included) or date-time (excluded); must be after from",
            "format": "json (default), csv or xlsx",
            "region": "the volunteer's region: an ISO 3166-2 code (GET /api/v1/regions)",
            "page": "from 1",
            "per_page": "1..1000, default 100",
        },
    },
    ("get", "/api/v1/volunteers/{volunteer_id}/certificate"): {
        "summary": "A PDF certificate of the volunteer's verified hours for a period, with a verification code "
        "(160 random bits, stored hashed) printed as text and as a QR code of PUBLIC_BASE_URL/verify/{code}; each "
        "call issues a new certificate",
        "role": "coordinator",
        "tag": "activity",
        "errors": (400, 404),
        "query": {
            "lang": "kk|ru|en; default the volunteer's language",
            "from": "first day (2030-01-01, a day in Asia/Almaty); default 1 January this year",
            "to": "last day, included; default today; at most five years after from",
        },
    },
    ("post", "/api/v1/activity"): {
        "summary": "Record activity outside dispatch (a training, an event): at most 24 h, not in the future",
        "role": "coordinator",
        "tag": "activity",
        "body": schemas.ActivityIn,
        "status": 201,
        "errors": (400, 415),
    },
    ("post", "/api/v1/activity/import"): {
        "summary": "CSV import of activity outside dispatch (columns phone|volunteer_id, organization, "
        "programme|action, place, start, end|hours, skill, note; times without a zone are Asia/Almaty): "
        "all or nothing, 400 CSV_ROWS lists every bad line; a record already in the register is skipped",
        "role": "coordinator",
        "tag": "activity",
        "body": "text/csv",
        "status": 201,
        "errors": (400, 413, 415),
        "query": {
            "dry_run": "true: check and report (200), import nothing",
            "encoding": "utf-8|windows-1251 (or a charset in Content-Type); without it: UTF-8, or Windows-1251 when "
            "detected (reported as encoding_detected)",
        },
    },
    ("get", "/api/v1/activity/{activity_id}"): {
        "summary": "One activity record",
        "role": "viewer",
        "tag": "activity",
        "errors": (404,),
    },
    ("patch", "/api/v1/activity/{activity_id}"): {
        "summary": "Verify or correct a record (reason required; the values before are kept in its audit)",
        "role": "coordinator",
        "tag": "activity",
        "body": schemas.ActivityPatch,
        "errors": (400, 404, 415),
    },
    ("get", "/api/v1/activity/{activity_id}/audit"): {
        "summary": "A record's audit: when it was recorded, verified, corrected (before, after, reason) or closed",
        "role": "coordinator",
        "tag": "activity",
        "errors": (404,),
    },
    ("post", "/api/v1/cap"): {
        "summary": "A CAP 1.2 warning (at most 1 MiB): Alert makes a draft incident, Update changes it, "
        "Cancel cancels it; 201 when incidents changed, 200 when nothing did (seen already, expired)",
        "role": "coordinator",
        "tag": "warnings",
        "body": "application/cap+xml",
        "status": 201,
        "errors": (400, 413, 415),
        "extra_errors": {409: "INCIDENT_ENDED: a cancelled incident ended meanwhile"},
    },
    ("post", "/api/v1/incidents/{incident_id}/dispatch"): {
        "summary": "Dispatch a draft (from a warning) with needs: alerting starts as for a posted incident",
        "role": "coordinator",
        "tag": "warnings",
        "body": schemas.DispatchIn,
        "errors": (400, 404, 409, 415),
    },
    ("get", "/api/v1/organizations"): {
        "summary": "Member organisations by name, each with its number of volunteers",
        "role": "viewer",
        "tag": "organizations",
        "errors": (400,),
        "query": {
            "region": "ISO 3166-2 code",
            "active": "true|false",
            "q": "part of the name (case and spacing ignored)",
        },
    },
    ("post", "/api/v1/organizations"): {
        "summary": "Add an organisation: name (unique, case and spacing ignored), region, phone, email, address",
        "role": "coordinator",
        "tag": "organizations",
        "body": schemas.OrganizationIn,
        "status": 201,
        "errors": (400, 409, 415),
        "extra_errors": {409: "DUPLICATE_ORGANIZATION: the name is taken (details: organization_id, name)"},
    },
    ("get", "/api/v1/organizations/{organization_id}"): {
        "summary": "One organisation",
        "role": "viewer",
        "tag": "organizations",
        "errors": (404,),
    },
    ("patch", "/api/v1/organizations/{organization_id}"): {
        "summary": "Change an organisation (null clears region and contacts; active: false deactivates it: its "
        "volunteers stay, it takes no new ones); audited",
        "role": "coordinator",
        "tag": "organizations",
        "body": schemas.OrganizationPatch,
        "errors": (400, 404, 409, 415),
        "extra_errors": {409: "DUPLICATE_ORGANIZATION: the name is taken (details: organization_id, name)"},
    },
    ("get", "/api/v1/status"): {
        "summary": "Public status: open incidents, approximate place, needs filled, alert counts; no personal data",
        "role": None,
        "tag": "public",
    },
    ("post", "/sms/inbound"): {
        "summary": "SMS provider webhook: a volunteer's text (Twilio form fields; X-Twilio-Signature required)",
        "role": None,
        "tag": "webhooks",
        "body": "application/x-www-form-urlencoded",
        "errors": (400,),
        "extra_errors": {
            403: "FORBIDDEN: missing or invalid X-Twilio-Signature; nothing changed but a record of the failure",
            429: "RATE_LIMITED (Retry-After): too many forged requests from this address, or over 20 texts "
            "from this number in 10 minutes (the text is stored, not acted on)",
        },
    },
    ("post", "/sms/status"): {
        "summary": "SMS provider webhook: delivery status callback (X-Twilio-Signature required)",
        "role": None,
        "tag": "webhooks",
        "body": "application/x-www-form-urlencoded",
        "errors": (400,),
        "extra_errors": {
            403: "FORBIDDEN: missing or invalid X-Twilio-Signature; nothing changed but a record of the failure",
            429: "RATE_LIMITED (Retry-After): too many forged requests from this address",
        },
    },
    ("post", "/sms/smsgate"): {
        "summary": "SMS Gateway for Android webhook: sms:received (a volunteer's text), sms:sent / sms:delivered / "
        "sms:failed (delivery reports); X-Signature (HMAC-SHA256 of body + X-Timestamp) required",
        "role": None,
        "tag": "webhooks",
        "body": "application/json",
        "errors": (400, 413),
        "extra_errors": {
            403: "FORBIDDEN: missing or invalid X-Signature, or X-Timestamp not within 5 minutes; nothing changed "
            "but a record of the failure",
            429: "RATE_LIMITED (Retry-After): too many forged requests from this address",
        },
    },
    ("post", "/telegram/webhook"): {
        "summary": "Telegram Bot API webhook: updates (messages, button presses, the bot blocked or restarted); "
        "X-Telegram-Bot-Api-Secret-Token required. A signed update that cannot be read, or of a kind not acted on, "
        "is 200 (Telegram re-delivers anything else); the same update_id twice is handled once",
        "role": None,
        "tag": "webhooks",
        "body": "application/json",
        "errors": (404, 413),
        "extra_errors": {
            403: "FORBIDDEN: missing or wrong X-Telegram-Bot-Api-Secret-Token; nothing changed but a record of the "
            "failure",
            429: "RATE_LIMITED (Retry-After): too many forged requests from this address",
        },
    },
}


def document() -> dict:
    components: dict[str, dict] = {"Error": _error_schema()}
    paths: dict[str, dict] = {}
    for (method, path), op in OPERATIONS.items():
        paths.setdefault(path, {})[method] = _operation(path, op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Emergency volunteer dispatch",
            "version": "1",
            "description": "Registry of volunteers, incidents, SMS alerts. Errors share one shape: "
            '{"error": {"code", "message", "details"}}.',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(path: str, op: dict, components: dict) -> dict:
    status = str(op.get("status", 200))
    out: dict = {
        "summary": op["summary"],
        "tags": [op["tag"]],
        "responses": {status: {"description": "Success"}},
    }
    if op["role"]:
        out["security"] = [{"bearer": []}]
        out["description"] = f"Needs the {op['role']} role or higher."
        errors = (401, 403, *op.get("errors", ()))
    else:
        errors = op.get("errors", ())
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}} for name in _path_params(path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
        for name, text in op.get("query", {}).items()
    ]
    if parameters:
        out["parameters"] = parameters
    body = op.get("body")
    if isinstance(body, type) and issubclass(body, BaseModel):
        components[body.__name__] = body.model_json_schema(ref_template="#/components/schemas/{model}")
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}},
        }
    elif isinstance(body, str):
        out["requestBody"] = {"required": True, "content": {body: {"schema": {"type": "string"}}}}
    if body is not None:
        errors = (*errors, 413)  # every body is held to its route's limit (dispatch/limits.py)
    descriptions = {**ERROR_CODES, **op.get("extra_errors", {})}
    for code in sorted(set(errors) | set(op.get("extra_errors", {}))):
        out["responses"][str(code)] = {
            "description": descriptions.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return out


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _error_schema() -> dict:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                },
            }
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return document()
