"""Reading request input: JSON bodies into pydantic models, CSV uploads into text, query strings
into typed values."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, request
from pydantic import BaseModel

from geo import GeoError, Point, parse_lat_lon

from ..csv_text import ENCODINGS, CsvText, UnknownEncoding, decode_csv, encoding_named
from ..errors import InvalidJson, UnsupportedMediaType, ValidationFailed

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> M:
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested thousands of levels deep: not a document anyone means
        raise InvalidJson("The request body is nested too deeply.") from None
    if data is None:
        raise InvalidJson()
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.")
    return model.model_validate(data)


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    return _query_number(name, default, minimum, maximum, int, "must be a whole number")


def query_float(name: str, default: float | None, minimum: float, maximum: float) -> float | None:
    return _query_number(name, default, minimum, maximum, float, "must be a number")


def _query_number(name, default, minimum, maximum, parse, problem):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise _bad_query(name, problem) from None
    if not minimum <= value <= maximum:  # NaN fails this too
        raise _bad_query(name, f"must be between {minimum} and {maximum}")
    return value


def query_bool(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise _bad_query(name, "must be true or false")


def query_choice(name: str, options: tuple[str, ...]) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in options:
        raise _bad_query(name, f"must be one of {', '.join(options)}")
    return raw


def query_point(name: str) -> Point | None:
    """`?near=51.17,71.45` (latitude first, as people write it)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_lat_lon(raw)
    except GeoError as exc:
        raise _bad_query(name, f"must be LAT,LON ({exc})") from None


def _bad_query(name: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"Query parameter {name} {problem}.", {"fields": {name: problem}})


def csv_body() -> CsvText:
    """A text/csv body, decoded as it streams in (never held whole in memory): ?encoding= first,
    then the Content-Type's charset; neither: UTF-8, or Windows-1251 when detected."""
    if request.mimetype not in ("text/csv", "application/csv"):
        raise UnsupportedMediaType("Send the file as text/csv.")
    asked = request.args.get("encoding") or request.mimetype_params.get("charset")
    try:
        encoding = encoding_named(asked)
    except UnknownEncoding:
        problem = f"must be one of {', '.join(ENCODINGS)}"
        raise ValidationFailed(f"The encoding {problem}.", {"fields": {"encoding": problem}}) from None
    return decode_csv(request.stream, encoding, detect=current_app.config["IMPORT_DETECT_ENCODING"])
