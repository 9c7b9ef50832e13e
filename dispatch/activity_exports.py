"""Exports of the register of volunteer activity (CSV and XLSX) and its totals per organisation.

Both formats are generators fed by keyset pagination ((started_at, id), BATCH rows a query), so
a year of a national movement (about 2 million rows) leaves memory bounded: a batch of tuples
and, for XLSX, XlsxWriter's constant_memory mode, which writes each row to a temporary file as
it goes. CSV bytes leave as each batch is written; an XLSX file is a zip whose directory comes
last, so it is built on disk and then streamed (the first byte comes when it is complete).

The size is decided before a byte is written: a COUNT over the same filter, refused past
MAX_ROWS. Columns are the JSON fields of GET /api/v1/activity in their order (`incident`
flattened to incident_kind and incident_title).

Formula injection (OWASP "CSV injection"): a spreadsheet evaluates a cell that starts with
=, +, -, @, tab or CR. Names and activity names come from people, so in CSV every such text
cell is prefixed with a single quote; in XLSX every text cell is written with write_string, an
inline string, which a spreadsheet never evaluates (write_formula is never called).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import xlsxwriter
from sqlalchemy import distinct, func, or_, select

from .activity import ActivityFilter, conditions, count_and_seconds, hours
from .clock import isoformat
from .errors import ValidationFailed
from .extensions import db
from .models import Activity, Incident, Volunteer

# A national movement's year is about 2 million records; past this, ask for a narrower period.
MAX_ROWS = 2_000_000
BATCH = 5_000
# XLSX holds 1,048,576 rows a sheet: a larger export continues on "activity 2", ... (with headers).
SHEET_ROWS = 1_000_000
# Past this many rows the sheet XML may pass 2 GiB: the zip then needs ZIP64 (Excel 2010+ reads it).
ZIP64_FROM_ROWS = 300_000
CHUNK_BYTES = 64 * 1024

COLUMNS = (
    "id",
    "volunteer_id",
    "volunteer_name",
    "organization",
    "region",
    "incident_id",
    "incident_kind",
    "incident_title",
    "activity",
    "skill",
    "place",
    "started_at",
    "ended_at",
    "hours",
    "source",
    "end_reason",
    "verified",
    "verified_at",
    "corrected_at",
    "note",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_size(flt: ActivityFilter) -> int:
    """The number of rows the export will have; over MAX_ROWS it is refused before streaming."""
    total, _ = count_and_seconds(flt)
    if total > MAX_ROWS:
        raise ValidationFailed(
            f"This export would have {total} rows, more than the {MAX_ROWS} an export holds: "
            "choose a narrower period (from, to) or another filter.",
            {"fields": {"from": "narrow the period", "to": "narrow the period"}, "rows": total, "max_rows": MAX_ROWS},
        )
    return total


def _query():
    return (
        select(
            Activity.id,
            Activity.volunteer_id,
            Volunteer.name,
            Activity.organization,
            Volunteer.region,
            Activity.incident_id,
            Incident.kind,
            Incident.title,
            Activity.activity,
            Activity.skill,
            Activity.place,
            Activity.started_at,
            Activity.ended_at,
            Activity.duration_s,
            Activity.source,
            Activity.end_reason,
            Activity.verified,
            Activity.verified_at,
            Activity.corrected_at,
            Activity.note,
        )
        .join(Volunteer, Volunteer.id == Activity.volunteer_id)
        .outerjoin(Incident, Incident.id == Activity.incident_id)
    )


def rows(flt: ActivityFilter, batch: int = BATCH) -> Iterator[tuple]:
    """Every row of the filter in COLUMNS order, oldest first, `batch` rows a query: keyset
    pagination on (started_at, id), so no query skips or re-reads rows and none grows slower."""
    where = conditions(flt)
    after: tuple[datetime, int] | None = None
    while True:
        query = _query().where(*where)
        if after is not None:
            started, last_id = after
            # Written so the started_at index answers it on both databases.
            query = query.where(
                Activity.started_at >= started, or_(Activity.started_at > started, Activity.id > last_id)
            )
        found = db.session.execute(query.order_by(Activity.started_at, Activity.id).limit(batch)).all()
        for row in found:
            (rid, vid, name, org, region, iid, kind, title, act, skill, place, start, end, secs, *rest) = row
            source, end_reason, verified, verified_at, corrected_at, note = rest
            yield (
                rid,
                vid,
                name,
                org,
                region,
                iid,
                kind,
                title,
                act if act is not None else title,
                skill,
                place,
                isoformat(start),
                isoformat(end),
                hours(secs),
                source,
                end_reason,
                bool(verified),
                isoformat(verified_at),
                isoformat(corrected_at),
                note,
            )
        if len(found) < batch:
            return
        after = found[-1].started_at, found[-1].id
        del found  # before the next batch is fetched, not after


def csv_text(value: object) -> str:
    """A cell as CSV text: text that a spreadsheet would evaluate is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


class _Lines:
    """What csv.writer writes to: each line encoded at once (a StringIO of Cyrillic text holds
    four bytes a character and keeps its largest size)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, text: str) -> None:
        self.parts.append(text.encode())

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def csv_chunks(flt: ActivityFilter) -> Iterator[bytes]:
    """UTF-8 with a BOM (so Excel reads Cyrillic as such), a header, then the rows, one chunk
    of bytes per batch."""
    lines = _Lines()
    writer = csv.writer(lines, lineterminator="\r\n")
    lines.write("\ufeff")
    writer.writerow(COLUMNS)
    yield lines.take()
    count = 0
    for row in rows(flt):
        writer.writerow([csv_text(value) for value in row])
        count += 1
        if count == BATCH:
            yield lines.take()
            count = 0
    if count:
        yield lines.take()


def _write_row(sheet, row_number: int, values: tuple) -> None:
    for col, value in enumerate(values):
        if value is None:
            continue
        if isinstance(value, bool):
            sheet.write_boolean(row_number, col, value)
        elif isinstance(value, int | float):
            sheet.write_number(row_number, col, value)
        else:
            sheet.write_string(row_number, col, value)  # never a formula, whatever it starts with


def xlsx_chunks(flt: ActivityFilter, total: int) -> Iterator[bytes]:
    """The workbook, built in a temporary directory in constant memory, then read out in chunks."""
    with tempfile.TemporaryDirectory(prefix="activity-export-") as folder:
        path = os.path.join(folder, "activity.xlsx")
        workbook = xlsxwriter.Workbook(
            path,
            {"constant_memory": True, "tmpdir": folder, "use_zip64": total >= ZIP64_FROM_ROWS},
        )
        sheet, row_number, sheets = None, SHEET_ROWS, 0
        for values in rows(flt):
            if row_number >= SHEET_ROWS:
                sheets += 1
                sheet = workbook.add_worksheet("activity" if sheets == 1 else f"activity {sheets}")
                _write_row(sheet, 0, COLUMNS)
                row_number = 0
            row_number += 1
            _write_row(sheet, row_number, values)
        if sheet is None:
            _write_row(workbook.add_worksheet("activity"), 0, COLUMNS)
        workbook.close()
        with open(path, "rb") as done:
            while chunk := done.read(CHUNK_BYTES):
                yield chunk


def filename(flt: ActivityFilter, fmt: str) -> str:
    since = flt.since.date().isoformat() if flt.since else "start"
    until = flt.until.date().isoformat() if flt.until else "now"
    return f"activity_{since}_{until}.{fmt}"


# -- the console's totals ------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganizationTotal:
    organization: str | None
    records: int
    people: int
    hours: float


def totals(flt: ActivityFilter) -> tuple[list[OrganizationTotal], OrganizationTotal]:
    """Per organisation (named as when the activity took place), most hours first, and overall:
    records, distinct volunteers and hours of closed records."""
    where = conditions(flt)

    def grouped(*group_by) -> list:
        return db.session.execute(
            select(
                *group_by,
                func.count(Activity.id),
                func.count(distinct(Activity.volunteer_id)),
                func.coalesce(func.sum(Activity.duration_s), 0),
            )
            .join(Volunteer, Volunteer.id == Activity.volunteer_id)
            .where(*where)
            .group_by(*group_by)
        ).all()

    def total(org: str | None, records: int, people: int, seconds: int) -> OrganizationTotal:
        return OrganizationTotal(org, int(records), int(people), hours(int(seconds)) or 0.0)

    per = sorted(
        (total(*row) for row in grouped(Activity.organization)), key=lambda t: (-t.hours, t.organization or "")
    )
    return per, total(None, *grouped()[0])
