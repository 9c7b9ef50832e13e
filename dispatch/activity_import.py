"""CSV import of activity outside dispatch (trainings, events, programmes) into the register.

All or nothing: every line is read and checked before anything is written, and one bad line
refuses the whole file (ActivityImportRejected, every bad line named with its reason), so a
coordinator fixes the file and sends it again rather than hunting for what went in. A line
that repeats a record already in the register (same volunteer, start, end and action), or an
earlier line of the file, is reported and skipped, never doubled. Each record written is an
audit event naming the line it came from. The file is decoded as the volunteer import's is
(dispatch/csv_text.py: UTF-8 with or without BOM, `,` `;` or tab, Windows-1251 detected).

Times without a zone are Kazakhstan's (Asia/Almaty), as spreadsheets there write them:
`2030-01-31 09:00`, `31.01.2030 09:00`, or ISO 8601 with a zone. A date alone is the start of
that day (for `end`: the day is included). `hours` is optional (a decimal comma is read): the
hours given, at most the span from start to end; without it, the span itself, of at most 24 h.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from math import isfinite

from pydantic import ValidationError
from sqlalchemy import select

from notifications.phones import InvalidPhone, normalize_phone

from . import audit, scopes
from .activity import LOCAL_TZ, MAX_RECORD, SKEW
from .clock import utcnow
from .csv_text import NOT_CP1251, NOT_UTF8, CsvEncodingError, CsvHeaderError, CsvText, sniff_delimiter
from .errors import DispatchError
from .extensions import db
from .limits import ACTIVITY_IMPORT_MAX_LINES
from .models import Activity, Organization, User, Volunteer, name_key
from .schemas import ActivityRow
from .skills import SkillCatalogue

COLUMNS = (
    "phone",
    "volunteer_id",
    "organization",
    "programme",
    "action",
    "place",
    "start",
    "end",
    "hours",
    "skill",
    "note",
)
# A record of a programme may cover days (its hours then given), never more than this.
MAX_SPAN = timedelta(days=366)
# The error lists this many bad lines in full and counts the rest.
MAX_REPORTED = 1000


class ActivityImportRejected(DispatchError):
    status, code, message = 400, "CSV_ROWS", "Some lines of the file are not valid; nothing was imported."


class ActivityImportTooLong(DispatchError):
    status, code, message = 400, "CSV_TOO_LONG", "The file has too many lines; nothing was imported."


@dataclass
class ActivityImportReport:
    created: int = 0
    skipped: list[dict] = field(default_factory=list)  # {"line", "reason", "activity_id"?, "same_as_line"?}
    dry_run: bool = False
    delimiter: str = ","
    encoding: str = "utf-8"
    encoding_detected: bool = False
    activity_ids: list[int] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "created": self.created,
            "skipped": self.skipped,
            "dry_run": self.dry_run,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "encoding_detected": self.encoding_detected,
            "activity_ids": self.activity_ids,
        }


@dataclass
class _Line:
    line: int
    volunteer: Volunteer
    organization_id: int | None
    organization: str | None
    values: dict  # activity, place, skill, note, started_at, ended_at, duration_s


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self.total = 0

    def add(self, line: int, column: str | None, code: str, error: str, **params) -> None:
        """`error` is the English the API answers with; code/params are for the pages."""
        self.total += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append(
                {
                    "line": line,
                    "error": f"{column}: {error}" if column else error,
                    "problems": [{"field": column, "code": code, "params": params}],
                }
            )


def import_activity(source: CsvText, phone_region: str, by: User, dry_run: bool = False) -> ActivityImportReport:
    report = ActivityImportReport(dry_run=dry_run, encoding=source.encoding, encoding_detected=source.encoding_detected)
    errors = _Errors()
    try:
        lines = _read(source, report, errors, phone_region, scopes.of(by))
    except UnicodeDecodeError as exc:
        message = NOT_UTF8 if report.encoding == "utf-8" else NOT_CP1251
        raise CsvEncodingError(message, {"reason": str(exc), "encoding": report.encoding}) from None
    if errors.total:
        db.session.rollback()
        raise ActivityImportRejected(
            f"{errors.total} line(s) of the file are not valid; nothing was imported.",
            {"errors": errors.items, "errors_total": errors.total},
        )
    try:
        _write(lines, report, by)
    except Exception:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
        report.activity_ids = []
    else:
        db.session.commit()
    return report


def _read(
    source: CsvText, report: ActivityImportReport, errors: _Errors, phone_region: str, scope: scopes.Scope
) -> list[_Line]:
    lines = iter(source.lines)
    first = next(lines, "")
    report.delimiter = sniff_delimiter(first)
    reader = csv.DictReader(chain([first], lines), delimiter=report.delimiter, restkey="_extra")
    try:
        names = [(name or "").strip() for name in reader.fieldnames or []]
    except csv.Error as exc:
        raise CsvHeaderError(f"The header line cannot be read: {exc}.", {"expected": list(COLUMNS)}) from None
    while names and not names[-1]:
        names.pop()
    _check_header(names)
    reader.fieldnames = names
    context = _Context(phone_region, report.delimiter != ",", scope)
    found: list[_Line] = []
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            return found
        except csv.Error as exc:
            errors.add(reader.line_num + 1, None, "unreadable", f"unreadable CSV: {exc}")
            continue
        line = reader.line_num
        if line > ACTIVITY_IMPORT_MAX_LINES:
            raise ActivityImportTooLong(
                f"The file has more than {ACTIVITY_IMPORT_MAX_LINES} lines; split it. Nothing was imported.",
                {"max_lines": ACTIVITY_IMPORT_MAX_LINES},
            )
        extra = record.pop("_extra", None)
        cells = {k: (v or "").strip() for k, v in record.items()}
        if extra and any(value.strip() for value in extra):
            errors.add(line, None, "too_many_fields", f"too many fields: expected {len(names)}", expected=len(names))
            continue
        if not any(cells.values()):
            continue  # a row of empty cells, as Excel leaves under a table
        parsed = context.parse(line, cells, errors)
        if parsed is not None:
            found.append(parsed)


def _check_header(names: list[str]) -> None:
    if not names:
        raise CsvHeaderError("The file is empty: it needs a header line.", {"expected": list(COLUMNS)})
    missing = []
    if "phone" not in names and "volunteer_id" not in names:
        missing.append("phone|volunteer_id")
    if "programme" not in names and "action" not in names:
        missing.append("programme|action")
    missing += [c for c in ("start",) if c not in names]
    if "end" not in names and "hours" not in names:
        missing.append("end|hours")
    unknown = [c for c in names if c not in COLUMNS]
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if missing or unknown or duplicated:
        raise CsvHeaderError(details={"missing": missing, "unknown": unknown + duplicated, "expected": list(COLUMNS)})


_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_HOURS = re.compile(r"\d{1,4}(?:[.,]\d{1,4})?")


def _moment(text: str, end: bool) -> datetime:
    """A start or end as naive UTC; ValueError when it is no date."""
    found = _DMY.fullmatch(text)
    if found:
        day, month, year, hour, minute, second = found.groups()
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        whole_day = hour is None
    else:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T].*)?", text):
            raise ValueError(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        whole_day = len(text) == 10
    if whole_day and end:
        moment += timedelta(days=1)  # the last day is included
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(UTC).replace(tzinfo=None)


class _Context:
    """What the lines are checked against, read once per file."""

    def __init__(self, phone_region: str, decimal_comma: bool, scope: scopes.Scope):
        self.phone_region = phone_region
        # A volunteer outside the importer's scope is answered as one that does not exist.
        self.scope = scope
        self.decimal_comma = decimal_comma
        self.catalogue = SkillCatalogue.load()
        self.organizations = {
            key: (oid, name)
            for key, oid, name in db.session.execute(select(Organization.name_key, Organization.id, Organization.name))
        }
        self.organization_names = dict(db.session.execute(select(Organization.id, Organization.name)).all())
        self.now = utcnow()

    def _volunteer(self, line: int, cells: dict, errors: _Errors) -> Volunteer | None:
        by_phone = by_id = None
        phone, raw_id = cells.get("phone", ""), cells.get("volunteer_id", "")
        if not phone and not raw_id:
            errors.add(line, "phone", "missing_volunteer", "give the volunteer's phone or volunteer_id")
            return None
        if raw_id:
            if not re.fullmatch(r"[0-9]{1,9}", raw_id):
                errors.add(line, "volunteer_id", "not_a_number", "must be a whole number")
                return None
            by_id = db.session.get(Volunteer, int(raw_id))
            if by_id is None or by_id.erased_at is not None or not self.scope.holds_volunteer(by_id):
                errors.add(line, "volunteer_id", "unknown_volunteer", f"no volunteer {raw_id}", id=raw_id)
                return None
        if phone:
            try:
                normalized = normalize_phone(phone, self.phone_region)
            except InvalidPhone as exc:
                errors.add(line, "phone", "invalid_phone", str(exc), message=str(exc))
                return None
            by_phone = db.session.scalar(
                select(Volunteer).where(Volunteer.phone == normalized, Volunteer.erased_at.is_(None))
            )
            if by_phone is None or not self.scope.holds_volunteer(by_phone):
                errors.add(line, "phone", "unknown_phone", f"no volunteer with phone {normalized}", phone=normalized)
                return None
        if by_id is not None and by_phone is not None and by_id.id != by_phone.id:
            errors.add(line, "phone", "phone_not_volunteer", f"is not the phone of volunteer {by_id.id}", id=by_id.id)
            return None
        return by_id or by_phone

    def parse(self, line: int, cells: dict, errors: _Errors) -> _Line | None:
        before = errors.total
        volunteer = self._volunteer(line, cells, errors)
        programme, action = cells.get("programme", ""), cells.get("action", "")
        name = f"{programme}: {action}" if programme and action else programme or action
        text = {"activity": name, "place": cells.get("place") or None, "skill": cells.get("skill") or None}
        text["note"] = cells.get("note") or None
        if not name:
            errors.add(line, "programme", "missing_programme", "give the programme or the action")
        else:
            try:
                row = ActivityRow.model_validate(text)
                text = row.model_dump()
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    column = str(err["loc"][0]) if err["loc"] else None
                    column = {"activity": "action" if action and not programme else "programme"}.get(column, column)
                    ctx = {
                        k: v if isinstance(v, (int, float, str)) else str(v) for k, v in (err.get("ctx") or {}).items()
                    }
                    errors.add(line, column, err["type"], err["msg"], **ctx)
        if text.get("skill") and text["skill"] not in self.catalogue.bits:
            errors.add(line, "skill", "unknown_skill", f"unknown skill {text['skill']!r}", skills=[text["skill"]])
        organization_id, organization = self._organization(line, cells, volunteer, errors)
        period = self._period(line, cells, errors)
        if errors.total > before or volunteer is None or period is None:
            return None
        started_at, ended_at, duration_s = period
        values = {**text, "started_at": started_at, "ended_at": ended_at, "duration_s": duration_s}
        return _Line(line, volunteer, organization_id, organization, values)

    def _organization(self, line, cells, volunteer, errors) -> tuple[int | None, str | None]:
        given = cells.get("organization", "")
        if given:
            found = self.organizations.get(name_key(given))
            if found is None:
                errors.add(line, "organization", "unknown_organization", f"no organisation named {given!r}", name=given)
                return None, None
            return found
        if volunteer is None:
            return None, None
        return volunteer.organization_id, self.organization_names.get(volunteer.organization_id)

    def _period(self, line: int, cells: dict, errors: _Errors) -> tuple[datetime, datetime, int] | None:
        started_at = ended_at = None
        problems = errors.total
        for column in ("start", "end"):
            raw = cells.get(column, "")
            if not raw:
                continue
            try:
                moment = _moment(raw, end=column == "end")
            except (ValueError, OverflowError):
                errors.add(line, column, "not_a_time", "must be a date and time (2030-01-31 09:00 or 31.01.2030 09:00)")
                continue
            if column == "start":
                started_at = moment
            else:
                ended_at = moment
        if not cells.get("start"):
            errors.add(line, "start", "missing_start", "give when the activity started")
        seconds = None
        raw_hours = cells.get("hours", "")
        if raw_hours:
            if not _HOURS.fullmatch(raw_hours) or ("," in raw_hours and not self.decimal_comma):
                errors.add(line, "hours", "not_hours", "must be a number of hours (2.5)")
            else:
                value = float(raw_hours.replace(",", "."))
                if not isfinite(value) or value <= 0:
                    errors.add(line, "hours", "hours_range", "must be more than 0")
                else:
                    seconds = round(value * 3600)
        elif not cells.get("end"):
            errors.add(line, "end", "missing_end", "give the end or the hours")
        if errors.total > problems or started_at is None:
            return None
        if ended_at is None:
            ended_at = started_at + timedelta(seconds=seconds or 0)
        span = (ended_at - started_at).total_seconds()
        if ended_at <= started_at:
            errors.add(line, "end", "end_before_start", "must be after start")
        elif ended_at > self.now + SKEW:
            errors.add(line, "end", "in_future", "must not be in the future")
        elif ended_at - started_at > MAX_SPAN:
            errors.add(line, "end", "span_too_long", "a record covers at most 366 days")
        elif seconds is not None and seconds > span:
            errors.add(line, "hours", "hours_over_span", "are more than the time from start to end")
        elif seconds is None and ended_at - started_at > MAX_RECORD:
            errors.add(line, "hours", "hours_needed", "give the hours: start to end is more than 24 hours")
        if errors.total > problems:
            return None
        return started_at, ended_at, round(span) if seconds is None else seconds


def _write(lines: list[_Line], report: ActivityImportReport, by: User) -> None:
    existing = _existing(lines)
    seen: dict[tuple, int] = {}
    now = utcnow()
    for item in lines:
        v = item.values
        key = (item.volunteer.id, v["started_at"], v["ended_at"], v["activity"])
        if key in existing:
            report.skipped.append({"line": item.line, "reason": "duplicate_record", "activity_id": existing[key]})
            continue
        if key in seen:
            report.skipped.append({"line": item.line, "reason": "duplicate_line", "same_as_line": seen[key]})
            continue
        seen[key] = item.line
        record = Activity(
            volunteer_id=item.volunteer.id,
            organization_id=item.organization_id,
            organization=item.organization,
            source="import",
            end_reason="entered",
            verified=True,
            verified_by_id=by.id,
            verified_at=now,
            recorded_by_id=by.id,
            **v,
        )
        db.session.add(record)
        db.session.flush()
        report.created += 1
        report.activity_ids.append(record.id)
        audit.record(
            f"user:{by.id}",
            "activity_imported",
            volunteer_id=item.volunteer.id,
            details={
                "activity_id": record.id,
                "line": item.line,
                "activity": v["activity"],
                "started_at": v["started_at"].isoformat(),
                "ended_at": v["ended_at"].isoformat(),
                "hours": round(v["duration_s"] / 3600, 2),
            },
        )


def _existing(lines: list[_Line]) -> dict[tuple, int]:
    """(volunteer, start, end, action) -> id of the records already in the register that a line
    of the file repeats; read per volunteer in slices, so a query stays small."""
    found: dict[tuple, int] = {}
    volunteer_ids = sorted({item.volunteer.id for item in lines})
    for at in range(0, len(volunteer_ids), 500):
        ids = volunteer_ids[at : at + 500]
        starts = {item.values["started_at"] for item in lines if item.volunteer.id in set(ids)}
        rows = db.session.execute(
            select(Activity.id, Activity.volunteer_id, Activity.started_at, Activity.ended_at, Activity.activity).where(
                Activity.volunteer_id.in_(ids), Activity.started_at.in_(sorted(starts))
            )
        )
        for activity_id, volunteer_id, started_at, ended_at, name in rows:
            found.setdefault((volunteer_id, started_at, ended_at, name), activity_id)
    return found
