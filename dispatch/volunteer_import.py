"""Bulk CSV import of volunteers: streamed in batches, one transaction, every bad row reported.

Valid rows go in, each bad row is reported with its line and reason, and a phone we already
know updates that volunteer. The whole import is one transaction, so a crash or a file that
turns out not to be text half-way leaves the registry as it was (never a half import), and
`dry_run` is the very same work rolled back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from geo import Point
from geo.regions import regions_of
from notifications.phones import InvalidPhone, normalize_phone

from . import audit
from .clock import quiet_minutes, utcnow
from .errors import DispatchError
from .extensions import db
from .models import Volunteer
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
)
REQUIRED_COLUMNS = ("name", "phone", "lat", "lon", "skills", "language")
BATCH_ROWS = 1000
# The report lists this many bad rows in full and counts the rest, so memory stays bounded.
MAX_REPORTED_REJECTS = 1000


class CsvHeaderError(DispatchError):
    status, code, message = 400, "CSV_HEADER", "The CSV header is not the one expected."


class CsvEncodingError(DispatchError):
    status, code, message = 400, "CSV_ENCODING", "The file is not UTF-8 text; nothing was imported."


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_total: int = 0
    dry_run: bool = False

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
        }


@dataclass
class _Row:
    line: int
    values: dict


def import_volunteers(lines: Iterable[str], region: str, actor: str, dry_run: bool = False) -> ImportReport:
    """`lines` is the CSV text, read lazily (an open file, a decoded request stream)."""
    catalogue = SkillCatalogue.load()
    report = ImportReport(dry_run=dry_run)
    # Phone -> line of its first row in this file: a repeat is reported, not applied twice.
    seen: dict[str, int] = {}
    try:
        for batch in _batches(_valid_rows(lines, region, catalogue, report, seen)):
            _apply(batch, report)
    except UnicodeDecodeError as exc:
        db.session.rollback()
        raise CsvEncodingError(details={"reason": str(exc)}) from None
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


def _valid_rows(lines, region, catalogue, report, seen) -> Iterator[_Row]:
    reader = csv.DictReader(lines, restkey="_extra")
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise CsvHeaderError(f"The header line cannot be read: {exc}.", {"expected": list(COLUMNS)}) from None
    _check_header(fieldnames)
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
        if record.get("_extra"):
            report.reject(
                line,
                f"too many fields: expected {len(reader.fieldnames)}",
                [_problem(None, "too_many_fields", expected=len(reader.fieldnames))],
            )
            continue
        error, values, problems = _parse(record, region, catalogue)
        if error:
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


def _parse(record: dict, region: str, catalogue: SkillCatalogue) -> tuple[str | None, dict, list[dict]]:
    record = {(k or "").strip(): (v or "").strip() for k, v in record.items()}
    if record.get("max_distance_km", "") == "":
        record.pop("max_distance_km", None)
    for optional in ("organization", "quiet_hours", "birth_date"):
        if record.get(optional, "") == "":
            record.pop(optional, None)
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
    values = {
        "name": data.name,
        "phone": phone,
        "lat": data.lat,
        "lon": data.lon,
        "skill_mask": catalogue.mask_of(data.skills),
        "language": data.language,
        "organization": data.organization or None,
    }
    if data.quiet_hours is not None:
        values["quiet_from_min"], values["quiet_to_min"] = quiet_minutes(data.quiet_hours)
    if data.max_distance_km is not None:
        values["max_distance_km"] = data.max_distance_km
    if data.birth_date is not None:
        values["birth_date"] = data.birth_date
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


def _apply(batch: list[_Row], report: ImportReport) -> None:
    phones = [row.values["phone"] for row in batch]
    known = dict(db.session.execute(select(Volunteer.phone, Volunteer.id).where(Volunteer.phone.in_(phones))).all())
    now = utcnow()
    inserts, updates = [], []
    # Regions from the points, a batch at once (geo.regions is offline and vectorised).
    derived = regions_of([Point(row.values["lat"], row.values["lon"]) for row in batch])
    for row, region in zip(batch, derived):
        row.values.setdefault("region", region)
    for row in batch:
        volunteer_id = known.get(row.values["phone"])
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
    report.created += len(inserts)
    report.updated += len(updates)
