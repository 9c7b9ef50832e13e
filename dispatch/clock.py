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


def quiet_minutes(value: str | None) -> tuple[int | None, int | None]:
    """ "22:00-07:00" -> (1320, 420), minutes after local midnight; None -> no quiet hours."""
    if value is None:
        return None, None
    start, end = value.split("-")
    return _minutes(start), _minutes(end)


def _minutes(hhmm: str) -> int:
    hours, minutes = int(hhmm[:2]), int(hhmm[3:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"{hhmm} is not a time of day")
    return hours * 60 + minutes


def quiet_hours_text(start: int | None, end: int | None) -> str | None:
    if start is None or end is None:
        return None
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
