"""Exports of the register (CSV with a BOM, XLSX): columns as the JSON, streamed in bounded
memory, formula injection defused, the row cap, filters (region), periods and roles."""

from __future__ import annotations

import csv
import gc
import io
import tracemalloc
from datetime import datetime, timedelta

import openpyxl
from sqlalchemy import insert

from dispatch import activity_exports
from dispatch.activity_exports import COLUMNS
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Activity

from .factories import volunteer

HOSTILE = ('=HYPERLINK("http://evil.test","x")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd")


def record(person, start: datetime, minutes: int = 90, **fields) -> Activity:
    row = Activity(
        volunteer_id=person.id,
        activity=fields.pop("activity", "Тренинг по первой помощи"),
        organization=fields.pop("organization", person.organization_name),
        organization_id=person.organization_id,
        place=fields.pop("place", "Астана"),
        started_at=start,
        ended_at=start + timedelta(minutes=minutes),
        duration_s=minutes * 60,
        source="manual",
        end_reason="entered",
        verified=True,
        **fields,
    )
    db.session.add(row)
    db.session.commit()
    return row


def flat(item: dict) -> list:
    """A JSON item as an export row: `incident` flattened to its kind and title."""
    incident = item.pop("incident") or {}
    item["incident_kind"], item["incident_title"] = incident.get("kind"), incident.get("title")
    return [item[name] for name in COLUMNS]


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=False)
    return [tuple(cell.value for cell in row) for sheet in book.worksheets for row in sheet.iter_rows()]


def test_csv_is_utf8_with_a_bom_and_the_json_columns_in_order(client, auth):
    person = volunteer(1, name="Әсел Құнанбаева", organization="Қызыл Жарты Ай", region="KZ-71")
    record(person, utcnow() - timedelta(days=3), 150)
    response = client.get("/api/v1/activity?format=csv", headers=auth("viewer"))
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf") and "Әсел Құнанбаева".encode() in body
    header, row = csv_rows(response)
    assert tuple(header) == COLUMNS
    item = client.get("/api/v1/activity", headers=auth("viewer")).get_json()["items"][0]
    assert item["region"] == "KZ-71"
    expected = ["" if v is None else ("true" if v is True else "false" if v is False else str(v)) for v in flat(item)]
    assert row == expected


def test_xlsx_opens_with_openpyxl_and_holds_the_rows(client, auth):
    person = volunteer(1, name="Айгерим", organization="Красный Полумесяц")
    start = utcnow() - timedelta(days=5)
    for n in range(3):
        record(person, start + timedelta(hours=n), 60 + n * 30)
    response = client.get("/api/v1/activity?format=xlsx", headers=auth("viewer"))
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == activity_exports.MEDIA_TYPES["xlsx"]
    header, *rows = xlsx_rows(response)
    assert header == COLUMNS and len(rows) == 3
    hours = [row[COLUMNS.index("hours")] for row in rows]
    assert hours == [1.0, 1.5, 2.0]  # oldest first, numbers as numbers
    assert {row[COLUMNS.index("volunteer_name")] for row in rows} == {"Айгерим"}
    assert all(row[COLUMNS.index("verified")] is True for row in rows)


def test_formula_injection_is_defused_in_both_formats(client, auth):
    start = utcnow() - timedelta(days=2)
    for n, text in enumerate(HOSTILE):
        # Organisation names are unique ignoring spaces (a tab and a CR name one): one each.
        person = volunteer(n + 1, name=text, organization=f"{text} {n}")
        record(person, start + timedelta(minutes=n), activity=text, place=text, organization=text)
    _, *rows = csv_rows(client.get("/api/v1/activity?format=csv", headers=auth("viewer")))
    text_columns = [COLUMNS.index(c) for c in ("volunteer_name", "organization", "activity", "place")]
    assert len(rows) == len(HOSTILE)
    for row, text in zip(rows, HOSTILE, strict=True):
        assert [row[i] for i in text_columns] == ["'" + text] * 4
    response = client.get("/api/v1/activity?format=xlsx", headers=auth("viewer"))
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    cells = [cell for row in book.active.iter_rows(min_row=2) for cell in row]
    assert not [cell for cell in cells if cell.data_type == "f"]
    names = [row[COLUMNS.index("volunteer_name")].value for row in book.active.iter_rows(min_row=2)]
    # Kept exactly, as text (OOXML writes a CR as _x000D_, which Excel reads back; openpyxl does not).
    assert [name.replace("_x000D_", "\r") for name in names] == list(HOSTILE)
    # The raw sheet has no formula element at all.
    assert b"<f>" not in _sheet_xml(response.get_data())


def _sheet_xml(xlsx: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(xlsx)) as package:
        return package.read("xl/worksheets/sheet1.xml")


def test_filters_region_period_and_roles(client, auth):
    astana = volunteer(1, name="Астана", region="KZ-71", organization="A")
    almaty = volunteer(2, name="Алматы", region="KZ-75", organization="B")
    start = utcnow() - timedelta(days=4)
    record(astana, start)
    record(almaty, start)
    record(almaty, start - timedelta(days=40))
    in_almaty = client.get("/api/v1/activity?region=KZ-75", headers=auth("viewer")).get_json()
    assert in_almaty["total"] == 2 and {i["volunteer_name"] for i in in_almaty["items"]} == {"Алматы"}
    since = (utcnow() - timedelta(days=10)).date().isoformat()
    _, *rows = csv_rows(client.get(f"/api/v1/activity?format=csv&region=KZ-75&from={since}", headers=auth("viewer")))
    assert [r[COLUMNS.index("volunteer_name")] for r in rows] == ["Алматы"]
    _, *rows = xlsx_rows(client.get("/api/v1/activity?format=xlsx&organization=A", headers=auth("viewer")))
    assert [r[COLUMNS.index("volunteer_name")] for r in rows] == ["Астана"]
    assert client.get("/api/v1/activity?format=pdf", headers=auth("viewer")).status_code == 400
    for query in ("region=KZ-99", "region=<b>", "organization_id=0", "from=2030-02-01&to=2030-01-01", "from=x"):
        for fmt in ("json", "csv", "xlsx"):
            refused = client.get(f"/api/v1/activity?format={fmt}&{query}", headers=auth("viewer"))
            assert refused.status_code == 400, (query, fmt)
            assert refused.mimetype == "application/json"
    inverted = client.get("/api/v1/activity?format=csv&from=2030-02-01&to=2030-01-01", headers=auth("viewer"))
    assert "inverted" in inverted.get_json()["error"]["message"]
    # Anyone signed in who may read the register may export it; nobody else.
    assert client.get("/api/v1/activity?format=csv").status_code == 401
    assert client.get("/api/v1/activity?format=xlsx", headers={"Authorization": "Bearer nope"}).status_code == 401
    for role in ("viewer", "coordinator", "admin"):
        assert client.get("/api/v1/activity?format=csv", headers=auth(role)).status_code == 200


def test_the_row_cap_is_decided_before_streaming(client, auth, monkeypatch):
    person = volunteer(1)
    for n in range(3):
        record(person, utcnow() - timedelta(days=n + 1))
    monkeypatch.setattr(activity_exports, "MAX_ROWS", 2)
    for fmt in ("csv", "xlsx"):
        refused = client.get(f"/api/v1/activity?format={fmt}", headers=auth("viewer"))
        assert refused.status_code == 400 and refused.mimetype == "application/json"
        error = refused.get_json()["error"]
        assert "narrower period" in error["message"] and error["details"]["rows"] == 3
    since = (utcnow() - timedelta(days=2, hours=1)).isoformat(timespec="seconds") + "Z"
    narrower = client.get(f"/api/v1/activity?format=csv&from={since}", headers=auth("viewer"))
    assert narrower.status_code == 200 and len(csv_rows(narrower)) == 3  # header and two rows


def _bulk(person_id: int, count: int, first: int) -> None:
    start = utcnow() - timedelta(days=300)
    rows = [
        {
            "volunteer_id": person_id,
            "activity": f"Дежурство № {n} — {'ә' * 40}",
            "organization": "Қызыл Жарты Ай",
            "place": "Астана, проспект Мангилик Ел",
            "started_at": start + timedelta(minutes=n),
            "ended_at": start + timedelta(minutes=n + 45),
            "duration_s": 2700,
            "source": "manual",
            "end_reason": "entered",
            "verified": True,
            "created_at": start,
            "updated_at": start,
        }
        for n in range(first, first + count)
    ]
    db.session.execute(insert(Activity), rows)
    db.session.commit()


def _peak(client, auth, fmt: str) -> tuple[int, int]:
    """(bytes exported, peak traced memory while streaming them)."""
    response = client.get(f"/api/v1/activity?format={fmt}", headers=auth("viewer"))
    assert response.status_code == 200 and response.is_streamed
    gc.collect()
    tracemalloc.start()
    try:
        size = chunks = 0
        for chunk in response.response:
            size += len(chunk)
            chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        response.close()
    assert chunks > 1
    return size, peak


def test_exports_stream_in_bounded_memory(client, auth, monkeypatch):
    """5,000 rows, then 25,000: five times the bytes, about the same memory (a batch or two)."""
    monkeypatch.setattr(activity_exports, "BATCH", 1_000)
    person = volunteer(1, name="Нұрлан").id
    _bulk(person, 5_000, 0)
    db.session.expunge_all()
    small = {fmt: _peak(client, auth, fmt) for fmt in ("csv", "xlsx")}
    _bulk(person, 20_000, 5_000)
    db.session.expunge_all()
    large = {fmt: _peak(client, auth, fmt) for fmt in ("csv", "xlsx")}
    for fmt in ("csv", "xlsx"):
        (small_size, small_peak), (size, peak) = small[fmt], large[fmt]
        assert size > 4 * small_size, fmt
        assert peak < 1.3 * small_peak + 1_000_000 and peak < 8_000_000, (fmt, small_peak, peak)
    assert large["csv"][0] > 7_000_000  # the 25,000 rows as CSV


def test_xlsx_continues_on_another_sheet_past_the_sheet_limit(client, auth, monkeypatch):
    monkeypatch.setattr(activity_exports, "SHEET_ROWS", 2)
    person = volunteer(1, name="Бота")
    for n in range(5):
        record(person, utcnow() - timedelta(days=5 - n))
    response = client.get("/api/v1/activity?format=xlsx", headers=auth("viewer"))
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["activity", "activity 2", "activity 3"]
    sheets = [[tuple(c.value for c in row) for row in sheet.iter_rows()] for sheet in book.worksheets]
    assert all(rows[0] == COLUMNS for rows in sheets)
    ids = [row[0] for rows in sheets for row in rows[1:]]
    assert len(ids) == 5 and ids == sorted(ids)
