"""Languages and time zones of the pages (Flask-Babel).

Translations are plain gettext catalogues, `translations/<lang>/LC_MESSAGES/messages.po`,
compiled in memory the first time a process needs them: no build step, no binary .mo files
in the repository, and a fresh checkout (or a test run) can never use stale ones.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cached_property
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import (
    Babel,
    Domain,
    format_datetime,
    format_decimal,
    get_locale,
    gettext,
    ngettext,
)
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError

from notifications.texts import kind_name

from ..skills import SkillCatalogue

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TIMEZONE = "Asia/Almaty"
# Kazakhstan's zones first, then a few its coordinators work with.
TIMEZONES = (
    "Asia/Almaty",
    "Asia/Aqtobe",
    "Asia/Aqtau",
    "Asia/Atyrau",
    "Asia/Oral",
    "Asia/Qostanay",
    "Asia/Qyzylorda",
    "Asia/Tashkent",
    "Asia/Bishkek",
    "Europe/Moscow",
    "UTC",
)

LABELS = {
    # incident statuses
    "dispatching": _l("Dispatching"),
    "staffed": _l("Staffed"),
    "unfilled": _l("Unfilled"),
    "closed": _l("Closed"),
    "cancelled": _l("Cancelled"),
    "draft": _l("Warning to review"),
    # alert statuses
    "queued": _l("Queued"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "expired": _l("Expired"),
    "stood_down": _l("Stood down"),
    "failed": _l("Failed"),
    # severities
    "minor": _l("Minor"),
    "moderate": _l("Moderate"),
    "severe": _l("Severe"),
    "extreme": _l("Extreme"),
    # volunteer statuses
    "active": _l("Active"),
    "opted_out": _l("Opted out"),
    "inactive": _l("Inactive"),
    # outbox statuses
    "pending": _l("Waiting to send"),
    "claimed": _l("Sending"),
    "sending": _l("Sending"),
    "undelivered": _l("Undelivered"),
    # why matching left a volunteer out (dispatch.matching)
    "phone_problem": _l("number does not work"),
    "unavailable": _l("unavailable"),
    "busy": _l("busy"),
    "lacks_skill": _l("lacks the skill"),
    "beyond_own_max_distance": _l("farther than they travel"),
    "inside_area": _l("inside the area"),
    "quiet_hours": _l("quiet hours"),
    "accepted_elsewhere": _l("on another incident"),
    "alert_limit": _l("alerted enough this hour"),
    "already_alerted": _l("already alerted"),
    # responders on scene (dispatch.responders)
    "arrived": _l("On scene"),
    "done": _l("Left the scene"),
    "safe": _l("Safe"),
}
# Exclusion reasons whose code is also another label's ("minor" is a severity too).
EXCLUSION_LABELS = {
    "minor": _l("under 18"),
}


def _compile(language: str) -> NullTranslations:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(fp=mo)


class PoDomain(Domain):
    """Flask-Babel's domain, reading .po catalogues directly (see the module docstring)."""

    def get_translations(self):
        language = str(get_locale() or DEFAULT_LANGUAGE)
        if language not in self.cache:
            self.cache[language] = _compile(language)
        return self.cache[language]


class PoBabel(Babel):
    @cached_property
    def domain_instance(self):
        return PoDomain()


def select_language() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def valid_timezone(name: str | None) -> str | None:
    if not name or name not in TIMEZONES and "/" not in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def select_timezone() -> str:
    return valid_timezone(session.get("tz")) or DEFAULT_TIMEZONE


def remember_language() -> None:
    """`?lang=ru` on any page switches the language for the rest of the visit."""
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang


def language_url(code: str) -> str:
    """This page again (with its query) in another language."""
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def skill_names(language: str | None = None) -> dict[str, str]:
    catalogue = SkillCatalogue.load()
    language = language or current_language()
    return {code: catalogue.name(code, language) for code in catalogue.bits}


def register_i18n(app: Flask) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config["BABEL_DEFAULT_TIMEZONE"] = DEFAULT_TIMEZONE
    PoBabel(app, locale_selector=select_language, timezone_selector=select_timezone)

    @app.template_filter("label")
    def label(code: str | None) -> str:
        return str(LABELS.get(code, code or ""))

    @app.template_filter("when")
    def when(value: datetime | str | None) -> str:
        """A stored UTC time in the viewer's time zone and language, e.g. "1 Jan 15:00"."""
        if not value:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value.removesuffix("Z"))
        return format_datetime(value, "d MMM HH:mm")

    @app.template_filter("kind")
    def kind(code: str) -> str:
        return kind_name(code, current_language())

    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language, language_url=language_url)
    register_message_filters(app)


# -- machine codes and English prose from below the pages, in the page's language ------------
#
# The API speaks stable codes and English (programs read it); people read the pages. What the
# use cases hand up as a code (reply outcomes, error codes, pydantic error types, import
# problems) is looked up here; what is stored as English prose for the API's sake (why_chosen,
# unfilled_reason, geo's and our own ValueError texts) is read back by pattern. Anything not
# recognised falls back to a translated general sentence, never to the English.

OUTCOMES = {
    "accepted": _l("accepted"),
    "declined": _l("declined"),
    "already_accepted": _l("had already accepted"),
    "standby": _l("too late: told to stand by"),
    "incident_ended": _l("too late: the incident had ended"),
    "nothing_pending": _l("nothing to answer"),
    "unknown_code": _l("unknown incident code"),
    "ambiguous": _l("asked which incident"),
    "opted_out": _l("opted out (STOP)"),
    "opted_in": _l("opted back in"),
    "help": _l("asked for help"),
    "ignored_opted_out": _l("ignored: opted out"),
    "busy": _l("said busy"),
    "available": _l("said available"),
    "not_understood": _l("not understood"),
    "unknown_number": _l("unknown number"),
    "rate_limited": _l("too many texts: not acted on"),
    "arrived": _l("arrived on scene"),
    "already_arrived": _l("had already arrived"),
    "left": _l("left the scene"),
    "already_left": _l("had already left"),
    "safe": _l("safe"),
    "safe_noted": _l("said safe: nothing was asked"),
    "not_on_scene": _l("no accepted call-out to report on"),
    "not_arrived": _l("left before reporting arrival: nothing changed"),
    "help_on_scene": _l("ASKED FOR HELP ON SCENE"),
    "hours": _l("asked for their hours"),
}

PHONE_PROBLEMS = {"invalid_number": _l("invalid number"), "not_mobile": _l("not a mobile number")}

ERROR_MESSAGES = {
    "BAD_REQUEST": _l("The request could not be processed."),
    "VALIDATION_ERROR": _l("Some of what was entered is not valid."),
    "INVALID_JSON": _l("The data sent is not valid JSON."),
    "UNSUPPORTED_MEDIA_TYPE": _l("This page takes another kind of data."),
    "UNAUTHORIZED": _l("Sign in first."),
    "FORBIDDEN": _l("Your role does not allow this."),
    "NOT_FOUND": _l("There is no such page or record."),
    "DUPLICATE_PHONE": _l("A volunteer with this phone number already exists."),
    "DUPLICATE_EMAIL": _l("A user with this email already exists."),
    "DUPLICATE_ORGANIZATION": _l("An organisation with this name already exists."),
    "RATE_LIMITED": _l("Too many requests; try again later."),
    "ADDRESS_NOT_FOUND": _l("The address could not be found; give the coordinates instead."),
    "GEOCODER_UNAVAILABLE": _l("The address search does not answer; give the coordinates instead."),
    "TELEGRAM_NOT_CONFIGURED": _l("Telegram is not configured on this service."),
    "INCIDENT_ENDED": _l("The incident is closed or cancelled."),
    "OUT_OF_SCOPE": _l("This is outside your regions and organisations: you may read it, not change it."),
    "NOT_ARRIVED": _l("This responder has not arrived on scene yet."),
    "ALREADY_LEFT": _l("This responder has already left the scene."),
    "NOBODY_ON_SCENE": _l("Nobody is on scene: there is no one to ask."),
    "INCIDENT_NOT_DRAFT": _l("This warning has already been dispatched or dismissed."),
    "INVALID_CAP": _l("The warning is not a valid CAP 1.2 document."),
    "CSV_HEADER": _l("The CSV header is not the one expected."),
    "CSV_ENCODING": _l("The file is not UTF-8 text; nothing was imported."),
    "CSV_ROWS": _l("Some lines of the file are not valid; nothing was imported."),
    "CSV_TOO_LONG": _l("The file has too many lines: split it. Nothing was imported."),
    "METHOD_NOT_ALLOWED": _l("This page cannot be used that way."),
    "PAYLOAD_TOO_LARGE": _l("What was sent is too large."),
    "HTTP_ERROR": _l("The request could not be processed."),
    "INTERNAL_ERROR": _l("Something went wrong on our side; it has been logged."),
}
# A few errors share a code but say something more precise: matched on the English message.
ERROR_TEXTS = [
    (r"The file is empty: it needs a header line\.", _l("The file is empty: it needs a header line.")),
    (r"The file is not Windows-1251 text; .*", _l("The file is not Windows-1251 text; nothing was imported.")),
    (
        r"The file is neither UTF-8 nor Windows-1251 text; .*",
        _l("The file is neither UTF-8 nor Windows-1251 text; nothing was imported."),
    ),
    (
        r"The file is an Excel workbook, not CSV text.*",
        _l("The file is an Excel workbook, not CSV text: save it as CSV and import that; nothing was imported."),
    ),
    (
        r"max_radius_km must not be smaller than radius_km\.",
        _l("The widest radius must not be smaller than the radius."),
    ),
    (r"Incident \d+ is already closed\.", _l("This incident is already closed.")),
    (r"Incident \d+ is already cancelled\.", _l("This incident is already cancelled.")),
    (r"No incident \d+\.", _l("There is no such incident.")),
    (r"No volunteer \d+\.", _l("There is no such volunteer.")),
    (r"No organisation \d+\.", _l("There is no such organisation.")),
    (
        r"Could not allocate a reply code; try again\.|No free reply code\.",
        _l("No free reply code could be found; try again."),
    ),
]
_ERROR_TEXTS = [(re.compile(pattern), text) for pattern, text in ERROR_TEXTS]
# Per-field texts that use cases put in DispatchError details["fields"].
FIELD_PROBLEMS = {
    "smaller than radius_km": _l("must not be smaller than the radius"),
    "unknown skill": _l("unknown skill"),
    "required": _l("is required"),
    "too long": _l("is too long"),
    "too short": _l("is too short"),
    "cannot be null": _l("is required"),
}
FIELD_PATTERNS = [
    (re.compile(r"unknown skill .*", re.DOTALL), _l("unknown skill")),
    (re.compile(r"no organisation named .*", re.DOTALL), _l("there is no such organisation")),
    (re.compile(r"the organisation .* is deactivated .*", re.DOTALL), _l("the organisation is deactivated")),
    # dispatch/incident_changes.py: a need's count that cannot be set.
    (re.compile(r".+: \d+ filled, the count cannot go below that"), _l("a count cannot go below the places filled")),
    (re.compile(r".+ is not a need of this incident"), _l("there is no such need to remove")),
    (
        re.compile(r"an incident keeps at least one need.*"),
        _l("an incident keeps at least one need; close or cancel it instead"),
    ),
    (re.compile(r"a draft gets its needs when it is dispatched"), _l("a draft gets its needs when it is dispatched")),
]

# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/): what a
# form shows next to the field. Lengths are plurals, built in validation_message.
PYDANTIC_MESSAGES = {
    "missing": _l("is required"),
    "extra_forbidden": _l("is not a field this form takes"),
    "string_type": _l("must be text"),
    "string_pattern_mismatch": _l("is not in the expected form"),
    "string_unicode": _l("must be text"),
    "float_parsing": _l("must be a number"),
    "float_type": _l("must be a number"),
    "finite_number": _l("must be a finite number"),
    "int_parsing": _l("must be a whole number"),
    "int_type": _l("must be a whole number"),
    "int_from_float": _l("must be a whole number"),
    "int_parsing_size": _l("is too large a number"),
    "bool_parsing": _l("must be yes or no"),
    "bool_type": _l("must be yes or no"),
    "greater_than": _l("must be greater than %(gt)s"),
    "greater_than_equal": _l("must be at least %(ge)s"),
    "less_than": _l("must be less than %(lt)s"),
    "less_than_equal": _l("must be at most %(le)s"),
    # A form's choices are its lists (a value not among them is a crafted post); a file's are
    # the codes to write in it: see import_problem.
    "literal_error": _l("choose one of the listed values"),
    "enum": _l("choose one of the listed values"),
    "list_type": _l("must be a list"),
    "dict_type": _l("must be an object"),
    "model_type": _l("must be an object"),
    "model_attributes_type": _l("must be an object"),
    "json_invalid": _l("is not valid JSON"),
    "json_type": _l("is not valid JSON"),
    "datetime_parsing": _l("must be a date and time, e.g. 2030-01-31T18:00:00+05:00"),
    "datetime_from_date_parsing": _l("must be a date and time, e.g. 2030-01-31T18:00:00+05:00"),
    "datetime_type": _l("must be a date and time, e.g. 2030-01-31T18:00:00+05:00"),
    "datetime_object_invalid": _l("must be a date and time, e.g. 2030-01-31T18:00:00+05:00"),
    "date_parsing": _l("must be a date, e.g. 2030-01-31"),
    "date_from_datetime_parsing": _l("must be a date, e.g. 2030-01-31"),
    "date_type": _l("must be a date, e.g. 2030-01-31"),
    "date_from_datetime_inexact": _l("must be a date, e.g. 2030-01-31"),
    "value_error": _l("is not valid"),
    "assertion_error": _l("is not valid"),
    # lengths: see validation_message
    "string_too_short": _l("must not be empty"),
    "string_too_long": _l("is too long"),
    "too_short": _l("must not be empty"),
    "too_long": _l("has too many items"),
}
NOT_VALID = _l("is not valid")

# Our own ValueError texts (dispatch/schemas.py, dispatch/clock.py) and geo's GeoError texts,
# as pydantic carries them in a value_error: (pattern, translation; named groups are its values).
_PLACE = (
    r"(?P<where>(?:Polygon|MultiPolygon polygon \d+|MultiPolygon)(?: ring \d+)?(?: position \d+)?(?: coordinates)?)"
)
VALUE_ERRORS = [
    (r"give both lat and lon, or an address", _l("give both latitude and longitude")),
    (r"give lat and lon \(or an address.*", _l("give the latitude and longitude")),
    (r"(?P<value>.+) is not a time of day", _l("%(value)s is not a time of day (HH:MM-HH:MM)")),
    (
        r"an area must be a non-empty Polygon or MultiPolygon.*",
        _l("the area must be a non-empty Polygon or MultiPolygon"),
    ),
    (
        r"area is not a valid polygon: .*",
        _l(
            "the area is not a valid polygon: rings must not cross themselves or each "
            "other, and holes must lie inside their outer ring"
        ),
    ),
    (r"a GeoJSON area must be an object.*", _l("the area must be a GeoJSON object")),
    (r"GeoJSON Feature has no geometry object", _l("the GeoJSON Feature has no geometry")),
    (r"MultiPolygon has no polygons", _l("the MultiPolygon has no polygons")),
    (
        r'GeoJSON type must be "Polygon" or "MultiPolygon".*',
        _l("the GeoJSON type must be Polygon or MultiPolygon (or a Feature of one)"),
    ),
    (
        r"area has (?P<count>\d+) vertices; at most (?P<max>\d+) are allowed.*",
        _l("the area has %(count)s vertices; at most %(max)s are allowed (simplify it)"),
    ),
    (
        r"area has over (?P<max>\d+) (?:polygons|rings).*",
        _l("the area has too many polygons or rings; at most %(max)s are allowed"),
    ),
    (r"must not contain control characters.*", _l("must not contain control characters")),
    (r"give at least one field to change", _l("change at least one field")),
    (r"give both lat and lon", _l("give both latitude and longitude")),
    (r"cannot be null", _l("is required")),
    (r"name each skill once in needs", _l("name each skill once")),
    (r"a birth date must be between .*", _l("the birth date must be between 1900-01-01 and today")),
    (r"must be an ISO 3166-2 region code .*", _l("must be a region code from the list of regions (ISO 3166-2)")),
    (r"must be an email address .*", _l("must be an email address")),
    (r"is outside the range of dates this service can keep", _l("is outside the range of dates this service can keep")),
    (_PLACE + r" has no rings", _l("%(where)s has no rings")),
    (_PLACE + r" must be an array.*", _l("%(where)s must be an array")),
    (
        _PLACE + r" has (?P<count>\d+) positions; a closed ring needs at least 4.*",
        _l("%(where)s has %(count)s positions; a closed ring needs at least 4 (the first repeated at the end)"),
    ),
    (_PLACE + r" is not closed: .*", _l("%(where)s is not closed: the first position must be repeated at the end")),
    (
        _PLACE + r": (?:latitude|longitude) must be a (?:finite )?number.*",
        _l("%(where)s: the coordinates must be numbers"),
    ),
    (
        _PLACE + r": latitude (?P<value>\S+) is outside -90\.\.90.*",
        _l("%(where)s: latitude %(value)s is outside -90…90 (GeoJSON positions are [longitude, latitude])"),
    ),
    (
        _PLACE + r": longitude (?P<value>\S+) is outside -180\.\.180.*",
        _l("%(where)s: longitude %(value)s is outside -180…180"),
    ),
    (_PLACE + r": a GeoJSON position must.*", _l("%(where)s: a position must be [longitude, latitude]")),
]
_VALUE_ERRORS = [(re.compile(pattern, re.DOTALL), text) for pattern, text in VALUE_ERRORS]
_WHERE_PARTS = re.compile(r"(MultiPolygon polygon|polygon|ring|position) (\d+)")
WHERE_WORDS = {
    "MultiPolygon polygon": _l("polygon %(n)s"),
    "polygon": _l("polygon %(n)s"),
    "ring": _l("ring %(n)s"),
    "position": _l("position %(n)s"),
}

# notifications.phones.InvalidPhone texts (CSV import).
PHONE_ERRORS = [
    (r"phone number is empty", _l("the phone number is empty")),
    (r".* it has letters in it.*", _l("a phone number must be written with digits, not letters")),
    (r".* is not a mobile number.*", _l("not a mobile number, so it cannot receive SMS")),
    (r".* is not a valid phone number.*", _l("not a valid phone number")),
]
_PHONE_ERRORS = [(re.compile(pattern, re.DOTALL), text) for pattern, text in PHONE_ERRORS]

# Stored English for the API (alerts.reason as why_chosen, Candidate.reason in the preview,
# incidents.unfilled_reason): matching._candidate and alerting.run_waves write these.
_WHY_CHOSEN = re.compile(
    r"(?:inside the area|(?P<km>[\d.]+) km away), (?P<skill>has the skill|any volunteer), available"
)
WHY_CHOSEN = {
    ("near", "has the skill"): _l("%(km)s away, has the skill, available"),
    ("near", "any volunteer"): _l("%(km)s away, available"),
    ("inside", "has the skill"): _l("inside the area, has the skill, available"),
    ("inside", "any volunteer"): _l("inside the area, available"),
}
_UNFILLED = re.compile(
    r"(?P<skill>.+?): (?P<open>\d+) of (?P<count>\d+) open, nobody eligible within (?P<km>[\d.]+) km"
)
UNFILLED = _l("%(skill)s: %(open)s of %(count)s places open, nobody eligible within %(km)s")
UNFILLED_OTHER = _l("Some needs cannot be filled: nobody eligible is left within the radius.")
ANY_VOLUNTEER = _l("any volunteer")

# Volunteer import: volunteer_import's problem codes (pydantic's types come as their own codes).
IMPORT_PROBLEMS = {
    "too_many_fields": _l("too many fields: %(expected)s expected"),
    "invalid_phone": _l("not a valid phone number"),
    "unknown_skill": _l("unknown skill %(skills)s"),
    "duplicate_phone": _l("phone %(phone)s already appears on line %(line)s"),
    "unknown_organization": _l("no organisation named “%(name)s”: add it on the Organisations page first"),
    "inactive_organization": _l("the organisation “%(name)s” is deactivated and takes no new members"),
    "out_of_scope": _l("outside your regions and organisations"),
    # The activity import's (dispatch/activity_import.py).
    "unreadable": _l("this line cannot be read as CSV"),
    "missing_volunteer": _l("give the volunteer's phone or volunteer_id"),
    "not_a_number": _l("must be a whole number"),
    "unknown_volunteer": _l("no volunteer %(id)s"),
    "unknown_phone": _l("no volunteer with phone %(phone)s"),
    "phone_not_volunteer": _l("is not the phone of volunteer %(id)s"),
    "missing_programme": _l("give the programme or the action"),
    "not_a_time": _l("must be a date and time (2030-01-31 09:00 or 31.01.2030 09:00)"),
    "missing_start": _l("give when the activity started"),
    "not_hours": _l("must be a number of hours (2.5)"),
    "hours_range": _l("must be more than 0"),
    "missing_end": _l("give the end or the hours"),
    "end_before_start": _l("must be after the start"),
    "in_future": _l("must not be in the future"),
    "span_too_long": _l("a record covers at most 366 days"),
    "hours_over_span": _l("are more than the time from start to end"),
    "hours_needed": _l("give the hours: from start to end is more than 24 hours"),
}
ROW_NOT_VALID = _l("this row is not valid")
ONE_OF_CODES = _l("must be one of: %(expected)s")


def number(value: float | None, digits: int = 1) -> str:
    """A number in the page's language: 12.5 -> "12.5" (en), "12,5" (ru, kk)."""
    if value is None:
        return ""
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, format=pattern)


def km(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return gettext("%(km)s km", km=number(value, digits))


def coordinates(lat: float, lon: float, digits: int = 5) -> str:
    return gettext("%(lat)s, %(lon)s", lat=number(lat, digits), lon=number(lon, digits))


def _bound(value) -> str:
    """A bound from pydantic's ctx (gt, le...): a number in the page's language."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return number(value, 0) if float(value).is_integer() else format_decimal(value)


def value_error_message(text: str) -> str:
    """Our own and geo's ValueError texts, in the page's language."""
    for pattern, message in _VALUE_ERRORS:
        found = pattern.fullmatch(text.strip())
        if found:
            values = found.groupdict()
            if "where" in values:
                values["where"] = _where(values["where"])
            return message % values
    return str(NOT_VALID)


def _where(text: str) -> str:
    parts = [str(WHERE_WORDS[word]) % {"n": n} for word, n in _WHERE_PARTS.findall(text)]
    return ", ".join(parts) or str(_l("the area"))


def validation_message(error: dict) -> str:
    """One pydantic error (an item of ValidationError.errors()) as a form shows it."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return value_error_message(str(ctx["error"]))
    if kind in ("string_too_short", "string_too_long", "too_short", "too_long"):
        limit = ctx.get("min_length" if kind.endswith("short") else "max_length")
        if isinstance(limit, int):
            return _length_message(kind, limit)
    message = PYDANTIC_MESSAGES.get(kind, NOT_VALID)
    try:
        return str(message) % {name: _bound(value) for name, value in ctx.items()}
    except (KeyError, TypeError, ValueError):
        return str(NOT_VALID)


def _length_message(kind: str, limit: int) -> str:
    if kind == "string_too_short":
        if limit <= 1:
            return gettext("must not be empty")
        return ngettext("must have at least %(num)d character", "must have at least %(num)d characters", limit)
    if kind == "string_too_long":
        return ngettext("must have at most %(num)d character", "must have at most %(num)d characters", limit)
    if kind == "too_short":
        return ngettext("must have at least %(num)d item", "must have at least %(num)d items", limit)
    return ngettext("must have at most %(num)d item", "must have at most %(num)d items", limit)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """A ValidationError as {"field.path": message in the page's language} (the first per path)."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(path, validation_message(error))
    return fields


def error_message(code: str, message: str = "") -> str:
    """A DispatchError (or an HTTP error's code) as a page says it."""
    for pattern, text in _ERROR_TEXTS:
        if pattern.fullmatch(message or ""):
            return str(text)
    return str(ERROR_MESSAGES.get(code, ERROR_MESSAGES["BAD_REQUEST"]))


def field_problem(text: str) -> str:
    """A per-field text from DispatchError details["fields"]."""
    text = str(text)
    if text in FIELD_PROBLEMS:
        return str(FIELD_PROBLEMS[text])
    for pattern, message in FIELD_PATTERNS + _PHONE_ERRORS:
        if pattern.fullmatch(text):
            return str(message)
    return value_error_message(text)


def why_chosen(text: str | None) -> str:
    found = _WHY_CHOSEN.fullmatch(text or "")
    if found is None:
        return str(_l("chosen by the dispatch rules")) if text else ""
    where = "inside" if found["km"] is None else "near"
    distance = km(float(found["km"])) if found["km"] else ""
    return WHY_CHOSEN[(where, found["skill"])] % {"km": distance}


def unfilled_reason(text: str | None) -> str:
    if not text:
        return ""
    names = skill_names()
    parts = []
    for piece in text.split("; "):
        found = _UNFILLED.fullmatch(piece)
        if found is None:
            return str(UNFILLED_OTHER)
        skill = found["skill"]
        name = str(ANY_VOLUNTEER) if skill == "any volunteer" else names.get(skill, skill)
        parts.append(
            UNFILLED
            % {
                "skill": name,
                "open": found["open"],
                "count": found["count"],
                "km": km(float(found["km"]), 0 if float(found["km"]).is_integer() else 1),
            }
        )
    return "; ".join(parts)


def import_problem(problem: dict) -> str:
    """One problem of a rejected CSV row (volunteer_import): "column: what is wrong"."""
    code, params, column = problem.get("code", ""), dict(problem.get("params") or {}), problem.get("field")
    if code == "invalid_phone":
        text = next(
            (str(t) for p, t in _PHONE_ERRORS if p.fullmatch(params.get("message", ""))),
            str(IMPORT_PROBLEMS["invalid_phone"]),
        )
    elif code == "unknown_skill":
        text = IMPORT_PROBLEMS[code] % {"skills": ", ".join(params.get("skills", []))}
    elif code in IMPORT_PROBLEMS:
        try:
            text = IMPORT_PROBLEMS[code] % params
        except (KeyError, TypeError, ValueError):
            text = str(ROW_NOT_VALID)
    elif code in ("value_error", "assertion_error"):
        text = value_error_message(params.get("message", ""))
    elif code in ("literal_error", "enum") and isinstance(params.get("expected"), str):
        expected = ", ".join(re.findall(r"'([^']*)'", params["expected"])) or params["expected"]
        text = ONE_OF_CODES % {"expected": expected}
    else:
        text = validation_message({"type": code, "ctx": params})
    return f"{column}: {text}" if column else text


def rejected_row(row: dict) -> str:
    """Why a CSV row was rejected: its problems translated, or (a reason with no codes) the
    English only on English pages."""
    problems = row.get("problems") or []
    if problems:
        return "; ".join(import_problem(p) for p in problems)
    return row.get("error", "") if current_language() == "en" else str(ROW_NOT_VALID)


def register_message_filters(app: Flask) -> None:
    filters = {
        "outcome": lambda code: str(OUTCOMES.get(code, "")) if code else "",
        "exclusion": lambda code: str(EXCLUSION_LABELS.get(code) or LABELS.get(code, code or "")),
        "phone_problem": lambda code: str(PHONE_PROBLEMS.get(code, _l("the number does not work"))),
        "number": number,
        "km": km,
        "why_chosen": why_chosen,
        "unfilled_reason": unfilled_reason,
        "rejected_row": rejected_row,
    }
    app.jinja_env.filters.update(filters)
    app.jinja_env.globals.update(coordinates=coordinates, error_message=error_message)
