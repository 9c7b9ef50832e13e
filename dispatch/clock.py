"""Time as the service stores it: naive UTC datetimes (SQLite keeps no zone), ISO 8601 'Z' outside."""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: datetime) -> datetime:
    """An aware datetime converted to UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def isoformat(value: datetime | None) -> str | None:
    if value is None:
        return None
    return to_utc_naive(value).isoformat(timespec="seconds") + "Z"
