"""Bulk CSV import of volunteers: streamed in batches, one transaction, every bad row reported.

Valid rows go in, each bad row is reported with its line and reason, and a phone we already
know updates that volunteer. The whole import is one transaction, so a crash or a file that
turns out not to be text half-way leaves the registry as it was (never a half import), and
`dry_run` is the very same work rolled back.

Files as Excel writes them in Russian and Kazakh locales are read as they are: the delimiter
(`,`, `;` or tab) is taken from the header line, a UTF-8 byte order mark is dropped, decimal
commas are read in a file that is not comma-separated, and dates may be DD.MM.YYYY. A file
that is not UTF-8 is read as Windows-1251 only when asked to, or when its first 64 KiB read
as Cyrillic text in it (detected, and said so in the report); anything else is refused whole.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from geo import Point
from geo.regions import regions_of
from notifications.phones import InvalidPhone, normalize_phone

from . import audit, organizations, scopes, volunteer_search
from .clock import quiet_minutes, utcnow
from .csv_text import (  # noqa: F401  (ENCODINGS, decode_csv, encoding_named, UnknownEncoding: imported from here too)
    ENCODINGS,
    NOT_CP1251,
    NOT_UTF8,
    CsvEncodingError,
    CsvHeaderError,
    CsvText,
    UnknownEncoding,
    decode_csv,
    encoding_named,
    sniff_delimiter,
)
from .extensions import db
from .models import Volunteer, name_key
from .schemas import VolunteerRow
from .skills import SkillCatalogue

COLUMNS = (
    "name",
    "phone",
    "lat",
    "lon",
    "skills",
    "language",
    "max_distance_km",
    "organization",
    "quiet_hours",
    "birth_date",
    "region",
)
REQUIRED_COLUMNS = ("name", "phone", "lat", "lon", "skills", "language")
BATCH_ROWS = 1000
# The report lists this many bad rows in full and counts the rest, so memory stays bounded.
MAX_REPORTED_REJECTS = 1000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_total: int = 0
    dry_run: bool = False
    delimiter: str = ","
    encoding: str = "utf-8"
    encoding_detected: bool = False

    def reject(self, line: int, error: str, problems: list[dict] | None = None) -> None:
        """`error` is the English the API answers with; `problems` the same as codes
        ({"field", "code", "params"}: see _problem) for the pages to translate."""
        self.rejected_total += 1
        if len(self.rejected) < MAX_REPORTED_REJECTS:
            self.rejected.append({"line": line, "error": error, "problems": problems or []})

    def as_json(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "rejected": [{"line": r["line"], "error": r["error"]} for r in self.rejected],
            "rejected_total": self.rejected_total,
            "dry_run": self.dry_run,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "encoding_detected": self.encoding_detected,
        }


@dataclass
class _Row:
    line: int
    values: dict


def import_volunteers(
    source: CsvText | Iterable[str],
    region: str,
    actor: str,
    dry_run: bool = False,
    scope: scopes.Scope = scopes.NATIONAL,
) -> ImportReport:
    """`source` is the CSV text, read lazily (decode_csv of a file or a request stream; or
    lines already decoded). A scoped importer's rows outside their scope (the row's region and
    organisation, or a known phone's volunteer) are rejected by line: nothing of them is written."""
    catalogue = SkillCatalogue.load()
    report = ImportReport(dry_run=dry_run)
    if isinstance(source, CsvText):
        lines: Iterable[str] = source.lines
        report.encoding, report.encoding_detected = source.encoding, source.encoding_detected
    else:
        lines = source
    # Phone -> line of its first row in this file: a repeat is reported, not applied twice.
    seen: dict[str, int] = {}
    known_organizations = organizations.ids_by_key()
    try:
        for batch in _batches(_valid_rows(lines, region, catalogue, report, seen, known_organizations)):
            _apply(batch, report, scope)
    except UnicodeDecodeError as exc:
        db.session.rollback()
        message = NOT_UTF8 if report.encoding == "utf-8" else NOT_CP1251
        raise CsvEncodingError(message, {"reason": str(exc), "encoding": report.encoding}) from None
    except Exception:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
    else:
        audit.record(
            actor,
            "volunteers_imported",
            details={"created": report.created, "updated": report.updated, "rejected": report.rejected_total},
        )
        db.session.commit()
    return report


def _valid_rows(lines, region, catalogue, report, seen, known_organizations) -> Iterator[_Row]:
    lines = iter(lines)
    first = next(lines, "")
    report.delimiter = sniff_delimiter(first)
    reader = csv.DictReader(chain([first], lines), delimiter=report.delimiter, restkey="_extra")
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise CsvHeaderError(f"The header line cannot be read: {exc}.", {"expected": list(COLUMNS)}) from None
    if fieldnames:
        # Excel writes empty cells after the last column it saw used: not columns.
        names = [name.strip() for name in fieldnames]
        names[0] = names[0].lstrip("\ufeff")
        while names and not names[-1]:
            names.pop()
        reader.fieldnames = fieldnames = names
    _check_header(fieldnames)
    decimal_comma = report.delimiter != ","
    records = iter(reader)
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except csv.Error as exc:
            # A line the csv module cannot read (a field over its size limit) is that line's
            # problem: the reader carries on with the next one. It has not counted the line yet.
            report.reject(reader.line_num + 1, f"unreadable CSV: {exc}")
            continue
        line = reader.line_num
        extra = record.pop("_extra", None)
        if extra and any(value.strip() for value in extra):
            report.reject(
                line,
                f"too many fields: expected {len(reader.fieldnames)}",
                [_problem(None, "too_many_fields", expected=len(reader.fieldnames))],
            )
            continue
        error, values, problems = _parse(record, region, catalogue, decimal_comma, known_organizations)
        if error:
            if not any((value or "").strip() for value in record.values()):
                continue  # a row of empty cells (";;;;" as Excel leaves under a table)
            report.reject(line, error, problems)
            continue
        first = seen.setdefault(values["phone"], line)
        if first != line:
            report.reject(
                line,
                f"phone {values['phone']} already appears on line {first}",
                [_problem("phone", "duplicate_phone", phone=values["phone"], line=first)],
            )
            continue
        yield _Row(line, values)


def _check_header(fieldnames) -> None:
    if not fieldnames:
        raise CsvHeaderError("The file is empty: it needs a header line.", {"expected": list(COLUMNS)})
    names = [name.strip() for name in fieldnames]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [c for c in names if c not in COLUMNS]
    if missing or unknown:
        raise CsvHeaderError(
            details={"missing": missing, "unknown": unknown, "expected": list(COLUMNS)},
        )


_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?: 0?0:00(?::00)?)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")


def _parse(
    record: dict,
    region: str,
    catalogue: SkillCatalogue,
    decimal_comma: bool = False,
    known_organizations: dict[str, tuple[int, bool]] | None = None,
) -> tuple[str | None, dict, list[dict]]:
    record = {(k or "").strip(): (v or "").strip() for k, v in record.items()}
    for optional in ("max_distance_km", "organization", "quiet_hours", "birth_date", "region"):
        if record.get(optional, "") == "":
            record.pop(optional, None)
    if decimal_comma:
        # "51,17" as Excel writes numbers where the comma is the decimal sign (ru, kk).
        for column in ("lat", "lon", "max_distance_km"):
            value = record.get(column, "")
            if "," in value and _DECIMAL_COMMA.fullmatch(value):
                record[column] = value.replace(",", ".")
    if "birth_date" in record:
        # 31.01.1990 as Excel writes dates in the ru and kk locales (and ISO 1990-01-31).
        found = _DMY.fullmatch(record["birth_date"])
        if found:
            day, month, year = found.groups()
            record["birth_date"] = f"{year}-{int(month):02d}-{int(day):02d}"
    if "region" in record:
        record["region"] = record["region"].upper()
    record["skills"] = [s for s in (part.strip() for part in record.get("skills", "").split(";")) if s]
    try:
        data = VolunteerRow.model_validate(record)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return "; ".join(_describe(err) for err in errors), {}, [_pydantic_problem(err) for err in errors]
    try:
        phone = normalize_phone(data.phone, region)
    except InvalidPhone as exc:
        return f"phone: {exc}", {}, [_problem("phone", "invalid_phone", message=str(exc))]
    unknown = catalogue.unknown(data.skills)
    if unknown:
        return (
            f"skills: unknown skill {', '.join(map(repr, unknown))}",
            {},
            [_problem("skills", "unknown_skill", skills=list(unknown))],
        )
    organization_id = None
    if data.organization:
        # An existing organisation, case and spacing ignored: a typo is that line's error, never
        # a new organisation (they are added in the console or by POST /api/v1/organizations).
        organization_id, active = (known_organizations or {}).get(name_key(data.organization), (None, False))
        if organization_id is None:
            return (
                f"organization: {organizations.unknown_name_message(data.organization)}",
                {},
                [_problem("organization", "unknown_organization", name=data.organization)],
            )
        if not active:
            return (
                f"organization: the organisation {data.organization!r} is deactivated and takes no new members",
                {},
                [_problem("organization", "inactive_organization", name=data.organization)],
            )
    values = {
        "name": data.name,
        "phone": phone,
        "lat": data.lat,
        "lon": data.lon,
        "skill_mask": catalogue.mask_of(data.skills),
        "language": data.language,
        "organization_id": organization_id,
    }
    if data.quiet_hours is not None:
        values["quiet_from_min"], values["quiet_to_min"] = quiet_minutes(data.quiet_hours)
    if data.max_distance_km is not None:
        values["max_distance_km"] = data.max_distance_km
    if data.birth_date is not None:
        values["birth_date"] = data.birth_date
    if data.region is not None:
        values["region"] = data.region  # given: it overrides the region of the point
    return None, values, []


def _describe(err: dict) -> str:
    where = ".".join(str(p) for p in err["loc"]) or "row"
    return f"{where}: {err['msg']}"


def _problem(column: str | None, code: str, **params) -> dict:
    return {"field": column, "code": code, "params": params}


def _pydantic_problem(err: dict) -> dict:
    """A pydantic error by its type and context (plain values only: a value_error's exception
    becomes its text), under the CSV column it came from."""
    ctx = err.get("ctx") or {}
    params = {k: v if isinstance(v, (int, float, str)) else str(v) for k, v in ctx.items()}
    if "error" in ctx:
        params = {"message": str(ctx["error"])}
    return _problem(str(err["loc"][0]) if err["loc"] else None, err["type"], **params)


def _batches(rows: Iterator[_Row]) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


OUT_OF_SCOPE = "outside your regions and organisations"


def _apply(batch: list[_Row], report: ImportReport, scope: scopes.Scope = scopes.NATIONAL) -> None:
    phones = [row.values["phone"] for row in batch]
    rows = db.session.execute(
        select(Volunteer.phone, Volunteer.id, Volunteer.region, Volunteer.organization_id).where(
            Volunteer.phone.in_(phones)
        )
    ).all()
    known = {phone: volunteer_id for phone, volunteer_id, _, _ in rows}
    known_in_scope = {phone: scope.holds(region, org_id) for phone, _, region, org_id in rows}
    now = utcnow()
    inserts, updates = [], []
    # Regions from the points, a batch at once (geo.regions is offline and vectorised), for
    # the rows that do not name one.
    unplaced = [row for row in batch if "region" not in row.values]
    derived = regions_of([Point(row.values["lat"], row.values["lon"]) for row in unplaced])
    for row, region in zip(unplaced, derived):
        row.values["region"] = region
    for row in batch:
        volunteer_id = known.get(row.values["phone"])
        if not scope.holds(row.values["region"], row.values.get("organization_id")) or not known_in_scope.get(
            row.values["phone"], True
        ):
            report.reject(row.line, OUT_OF_SCOPE, [_problem(None, "out_of_scope")])
            continue
        if volunteer_id is None:
            inserts.append(
                {
                    "max_distance_km": 50.0,
                    **row.values,
                    "status": "active",
                    "available": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        else:
            # Status is left alone: an import never opts anyone back in.
            updates.append({**row.values, "id": volunteer_id, "updated_at": now})
    if inserts:
        db.session.execute(insert(Volunteer), inserts)
    if updates:
        db.session.execute(update(Volunteer), updates)
    volunteer_search.index_phones(row.values["phone"] for row in batch)
    report.created += len(inserts)
    report.updated += len(updates)
