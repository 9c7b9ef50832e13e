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

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import BinaryIO

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from geo import Point
from geo.regions import regions_of
from notifications.phones import InvalidPhone, normalize_phone

from . import audit, organizations, volunteer_search
from .clock import quiet_minutes, utcnow
from .errors import DispatchError
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
# The header line decides the delimiter: the one of these found most often outside quotes.
DELIMITERS = (",", ";", "\t")
ENCODINGS = ("utf-8", "windows-1251")
# How much of the file decides its encoding (read ahead, then replayed to the parser).
SNIFF_BYTES = 64 * 1024
# Of the letters outside ASCII, the share that must be Cyrillic for bytes that are not UTF-8 to
# be read as Windows-1251 (a Latin-1 "Müller" reads as "Mьller": a mixed word, so not counted).
CYRILLIC_SHARE = 0.9
NOT_UTF8 = "The file is not UTF-8 text; nothing was imported."
NOT_CP1251 = "The file is not Windows-1251 text; nothing was imported."
NEITHER = "The file is neither UTF-8 nor Windows-1251 text; nothing was imported."
WORKBOOK = "The file is an Excel workbook, not CSV text: save it as CSV and import that; nothing was imported."


class CsvHeaderError(DispatchError):
    status, code, message = 400, "CSV_HEADER", "The CSV header is not the one expected."


class CsvEncodingError(DispatchError):
    status, code, message = 400, "CSV_ENCODING", NOT_UTF8


class UnknownEncoding(ValueError):
    """An encoding asked for by name that the import does not read."""


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


@dataclass
class CsvText:
    """A CSV file's bytes as text, decoded as they are read, and how they are decoded."""

    lines: Iterable[str]
    encoding: str = "utf-8"
    encoding_detected: bool = False


def encoding_named(name: str | None) -> str | None:
    """An encoding asked for (a query, a charset, a form, --encoding) as one of ENCODINGS;
    None or "" is none asked for. UnknownEncoding for any other."""
    if name is None or not name.strip():
        return None
    try:
        codec = codecs.lookup(name.strip()).name
    except (LookupError, ValueError):  # an unknown name, or one no codec name can be (a NUL in it)
        raise UnknownEncoding(name) from None
    found = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "ascii": "utf-8", "cp1251": "windows-1251"}.get(codec)
    if found is None:
        raise UnknownEncoding(name)
    return found


def decode_csv(stream: BinaryIO, encoding: str | None = None, detect: bool = True) -> CsvText:
    """The CSV text of a binary stream, decoded incrementally: `encoding` when asked for (one of
    ENCODINGS), else UTF-8 (with or without a byte order mark), else, when `detect` is on and
    the first SNIFF_BYTES read as Cyrillic text in Windows-1251, that (encoding_detected).
    CsvEncodingError when the start of the file is neither; a bad byte further on is found by
    the import as it reads, which then rolls back everything (see import_volunteers)."""
    head = _read_up_to(stream, SNIFF_BYTES)
    whole = len(head) < SNIFF_BYTES
    detected = False
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CsvEncodingError(WORKBOOK, {"encoding": encoding or "utf-8"})
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8"  # the file says so itself
    if encoding is None:
        if _decodes(head, "utf-8", whole):
            encoding = "utf-8"
        elif detect and _looks_cyrillic_cp1251(head):
            encoding, detected = "windows-1251", True
        else:
            raise CsvEncodingError(NEITHER if detect else NOT_UTF8, {"encoding": "utf-8"})
    elif not _decodes(head, encoding, whole):
        raise CsvEncodingError(NOT_UTF8 if encoding == "utf-8" else NOT_CP1251, {"encoding": encoding})
    codec = "utf-8-sig" if encoding == "utf-8" else "cp1251"
    raw = io.BufferedReader(_Replayed(head, stream), buffer_size=SNIFF_BYTES)
    return CsvText(io.TextIOWrapper(raw, encoding=codec, newline=""), encoding, detected)


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _decodes(data: bytes, encoding: str, whole: bool) -> bool:
    try:
        # Not whole: the last character may be cut in two at the end of what was read.
        codecs.getincrementaldecoder("cp1251" if encoding == "windows-1251" else "utf-8")().decode(data, whole)
    except UnicodeDecodeError:
        return False
    return True


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]+")


def _looks_cyrillic_cp1251(data: bytes) -> bool:
    """Text (no control characters) whose words outside ASCII are, nearly all, Cyrillic."""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:  # 0x98 is no character in Windows-1251
        return False
    if _CONTROL.search(text):
        return False
    foreign = [word for word in _WORD.findall(text) if not word.isascii()]
    cyrillic = sum(1 for word in foreign if _CYRILLIC.fullmatch(word))
    symbols = sum(1 for ch in text if not ch.isascii() and not ch.isalpha())
    letters = sum(len(word) for word in foreign)
    return bool(foreign) and cyrillic >= CYRILLIC_SHARE * len(foreign) and symbols <= (1 - CYRILLIC_SHARE) * letters


class _Replayed(io.RawIOBase):
    """The bytes read ahead to decide the encoding, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def import_volunteers(source: CsvText | Iterable[str], region: str, actor: str, dry_run: bool = False) -> ImportReport:
    """`source` is the CSV text, read lazily (decode_csv of a file or a request stream; or
    lines already decoded)."""
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
            _apply(batch, report)
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


def sniff_delimiter(header: str) -> str:
    """The delimiter of a header line: of DELIMITERS, the one found most often outside quotes
    (a comma when there is none: a one-column header is refused anyway)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


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


def _apply(batch: list[_Row], report: ImportReport) -> None:
    phones = [row.values["phone"] for row in batch]
    known = dict(db.session.execute(select(Volunteer.phone, Volunteer.id).where(Volunteer.phone.in_(phones))).all())
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
