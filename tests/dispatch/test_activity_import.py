"""CSV import of activity outside dispatch: all or nothing, every bad line named, duplicates of the
register skipped (never doubled), each record audited, the volunteer import's decoding
(`;`, BOM, Windows-1251 detected), and the file's size and lines bounded."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from dispatch import limits
from dispatch.activity import LOCAL_TZ
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Activity, AuditEvent

from .factories import organization, volunteer

URL = "/api/v1/activity/import"
HEADER = "phone,volunteer_id,organization,programme,action,place,start,end,hours,note"


def send(client, auth, text: str | bytes, query: str = "", role: str = "coordinator", **headers):
    body = text.encode() if isinstance(text, str) else text
    return client.post(URL + query, data=body, headers={**auth(role), "Content-Type": "text/csv", **headers})


def local(days_ago: int, hour: int) -> str:
    """A local time in Kazakhstan, as a spreadsheet there writes it (31.01.2030 09:00)."""
    day = (utcnow() - timedelta(days=days_ago)).replace(tzinfo=None)
    return f"{day.day:02d}.{day.month:02d}.{day.year} {hour:02d}:00"


def records() -> list[Activity]:
    return list(db.session.scalars(select(Activity).order_by(Activity.id)))


def test_a_file_goes_in_with_hours_notes_and_an_audit_event_per_record(client, auth):
    aigerim = volunteer(1, name="Айгерим", phone="+77011234567", organization="Қызыл Жарты Ай")
    bota = volunteer(2, name="Бота")
    organization("Спасатели")
    text = "\n".join(
        [
            HEADER,
            f"+7 701 123 45 67,,,Школа волонтёра,Первая помощь,Астана,{local(3, 9)},{local(3, 12)},,=1+1",
            f",{bota.id},спасатели,Программа «Лето»,,Алматы,{local(10, 9)},{local(4, 18)},20,",
            f"87011234567,,,,Уборка парка,,{local(2, 10)},,2.5,",
        ]
    )
    response = send(client, auth, text)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["created"] == 3 and body["skipped"] == [] and body["dry_run"] is False
    first, second, third = records()
    assert first.volunteer_id == aigerim.id and first.activity == "Школа волонтёра: Первая помощь"
    assert first.duration_s == 3 * 3600 and first.note == "=1+1" and first.organization == "Қызыл Жарты Ай"
    assert first.source == "import" and first.verified is True and first.place == "Астана"
    # Times without a zone are Kazakhstan's: 09:00 there is 04:00 UTC (Asia/Almaty, UTC+5).
    assert first.started_at.replace(tzinfo=UTC).astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M") == local(3, 9)
    assert second.volunteer_id == bota.id and second.organization == "Спасатели" and second.duration_s == 20 * 3600
    assert third.activity == "Уборка парка" and third.duration_s == 9000
    assert third.ended_at - third.started_at == timedelta(hours=2.5)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "activity_imported")).all()
    assert sorted(e.details["activity_id"] for e in events) == [r.id for r in (first, second, third)]
    assert {e.details["line"] for e in events} == {2, 3, 4}
    # The API lists them with their note; a record's audit shows its import.
    listed = client.get(f"/api/v1/activity?volunteer_id={bota.id}", headers=auth("viewer")).get_json()
    assert listed["items"][0]["source"] == "import" and listed["items"][0]["hours"] == 20.0
    trail = client.get(f"/api/v1/activity/{first.id}/audit", headers=auth("coordinator")).get_json()["items"]
    assert [e["event"] for e in trail] == ["activity_imported"]


def test_one_bad_line_refuses_the_whole_file_with_every_reason(client, auth):
    person = volunteer(1, phone="+77011234567")
    good = f"+77011234567,,,Тренинг,,,{local(3, 9)},{local(3, 12)},,"
    text = "\n".join(
        [
            HEADER,
            good,
            f"+77019999999,,,Тренинг,,,{local(3, 9)},{local(3, 12)},,",  # nobody has this phone
            f",{person.id},,,,,{local(3, 9)},{local(3, 12)},,",  # no programme or action
            f",{person.id},,Тренинг,,,{local(3, 12)},{local(3, 9)},,",  # ends before it starts
            f",{person.id},,Тренинг,,,вчера,,2,",  # not a time
            f",{person.id},,Тренинг,,,{local(3, 9)},{local(3, 12)},4,",  # more hours than the span
            f",{person.id},,Тренинг,,,{local(9, 9)},{local(3, 12)},,",  # days without hours
            f",{person.id},Нет такой,Тренинг,,,{local(3, 9)},,2,",  # unknown organisation
            f",{person.id},,Тренинг,,,{local(-2, 9)},,2,",  # in the future
            f",{person.id},,Тренинг,,,{local(3, 9)},,0,",  # no hours
            f",{person.id},,{'x' * 300},,,{local(3, 9)},,1,",  # too long
            f",{person.id},,Тренинг,,,{local(3, 9)},,1,,extra",  # a field too many
        ]
    )
    response = send(client, auth, text)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "CSV_ROWS"
    lines = {e["line"]: e["error"] for e in error["details"]["errors"]}
    assert sorted(lines) == list(range(3, 14)), lines
    assert "no volunteer with phone +77019999999" in lines[3]
    assert lines[4].startswith("programme:") and lines[5].startswith("end:") and lines[6].startswith("start:")
    assert lines[7].startswith("hours:") and "24 hours" in lines[8] and lines[9].startswith("organization:")
    assert "future" in lines[10] and lines[11].startswith("hours:") and lines[12].startswith("programme:")
    assert "too many fields" in lines[13]
    assert (
        records() == []
        and db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.event == "activity_imported")) == 0
    )


def test_a_record_already_in_the_register_is_skipped_not_doubled(client, auth):
    volunteer(1, phone="+77011234567")
    line = f"+77011234567,,,Тренинг,,,{local(3, 9)},{local(3, 12)},,"
    assert send(client, auth, f"{HEADER}\n{line}\n").status_code == 201
    again = send(client, auth, f"{HEADER}\n{line}\n{line}\n+77011234567,,,Тренинг,,,{local(4, 9)},,1,\n")
    assert again.status_code == 201
    body = again.get_json()
    assert body["created"] == 1
    assert body["skipped"] == [
        {"line": 2, "reason": "duplicate_record", "activity_id": records()[0].id},
        {"line": 3, "reason": "duplicate_record", "activity_id": records()[0].id},
    ]
    assert len(records()) == 2
    # Within one file: the second of two equal lines is skipped.
    fresh = f"+77011234567,,,Лекция,,,{local(5, 9)},,1,"
    twice = send(client, auth, f"{HEADER}\n{fresh}\n{fresh}\n").get_json()
    assert twice["created"] == 1 and twice["skipped"] == [{"line": 3, "reason": "duplicate_line", "same_as_line": 2}]


def test_dry_run_writes_nothing_and_excel_files_are_read(client, auth):
    volunteer(1, phone="+77011234567")
    # Excel in a Russian locale: `;`, a decimal comma, a BOM; then the same in Windows-1251.
    text = f"phone;programme;start;hours\n+77011234567;Тренинг;{local(3, 9)};1,5\n"
    checked = send(client, auth, "\ufeff" + text, "?dry_run=true")
    assert checked.status_code == 200 and checked.get_json()["created"] == 1
    assert checked.get_json()["delimiter"] == ";" and records() == []
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.event == "activity_imported")) == 0
    cp1251 = send(client, auth, text.encode("cp1251"))
    assert cp1251.status_code == 201 and cp1251.get_json()["encoding"] == "windows-1251"
    assert cp1251.get_json()["encoding_detected"] is True
    assert records()[0].activity == "Тренинг" and records()[0].duration_s == 5400
    named = send(client, auth, text.encode("cp1251"), "?encoding=latin-1")
    assert named.status_code == 400 and "encoding" in named.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "CSV_HEADER"),
        ("phone,start,end\n", "CSV_HEADER"),  # no programme or action
        ("phone,programme,start,end,colour\n", "CSV_HEADER"),  # an unknown column
        (b"PK\x03\x04 an xlsx", "CSV_ENCODING"),
    ],
)
def test_bad_files_are_400(client, auth, text, code):
    response = send(client, auth, text)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code
    assert records() == []


def test_role_media_type_size_and_lines(client, auth, monkeypatch):
    volunteer(1, phone="+77011234567")
    line = f"+77011234567,Тренинг,{local(3, 9)},1\n"
    assert send(client, auth, "phone,programme,start,hours\n" + line, role="viewer").status_code == 403
    wrong = client.post(URL, data="x", headers={**auth("coordinator"), "Content-Type": "application/json"})
    assert wrong.status_code == 415
    big = "phone,programme,start,hours\n" + "x" * (limits.ACTIVITY_IMPORT_LIMIT.max_bytes + 1)
    assert send(client, auth, big).status_code == 413
    monkeypatch.setattr("dispatch.activity_import.ACTIVITY_IMPORT_MAX_LINES", 3)
    long = send(client, auth, "phone,programme,start,hours\n" + line * 3)
    assert long.status_code == 400 and long.get_json()["error"]["code"] == "CSV_TOO_LONG"
    assert records() == []


def test_a_verification_keeps_imported_hours(client, auth):
    volunteer(1, phone="+77011234567")
    send(client, auth, f"phone,programme,start,end,hours\n+77011234567,Лагерь,{local(9, 9)},{local(3, 18)},30\n")
    record = records()[0]
    patched = client.patch(
        f"/api/v1/activity/{record.id}", json={"verified": True, "reason": "checked"}, headers=auth("coordinator")
    )
    assert patched.status_code == 200 and patched.get_json()["hours"] == 30.0
