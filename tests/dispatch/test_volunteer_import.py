"""CSV import over HTTP and the CLI: good rows in, bad rows reported by line, nothing half-done."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import Volunteer

from .factories import organization

# The organisations the files below name: an import matches them, never makes them.
KNOWN_ORGANIZATIONS = (
    "Astana Rescue",
    "Ertis",
    "Red Crescent, Almaty",
    "Красный Полумесяц; Алматы",
    "Спасатели Астаны",
)


@pytest.fixture(autouse=True)
def known_organizations(app):
    return [organization(name) for name in KNOWN_ORGANIZATIONS]


HEADER = "name,phone,lat,lon,skills,language,max_distance_km,organization\n"
GOOD_1 = "Нурлан Садыков,8 701 111 22 33,51.17,71.45,first_aid;driver_4x4,kk,30,Astana Rescue\n"
GOOD_2 = "Elena Kim,+77771234567,43.25,76.9,medical,ru,,\n"
BAD_LAT = "Bad Lat,+77012223344,95,71.4,first_aid,ru,,\n"
BAD_PHONE = "Bad Phone,12345,51.1,71.4,first_aid,ru,,\n"
BAD_SKILL = "Bad Skill,+77012223355,51.1,71.4,juggling,en,,\n"
BAD_LANG = "Bad Lang,+77012223366,51.1,71.4,first_aid,de,,\n"
SHORT_ROW = "Too,Short\n"


def post_csv(client, auth, text: str | bytes, query: str = ""):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        f"/api/v1/volunteers/import{query}",
        data=data,
        headers={**auth("coordinator"), "Content-Type": "text/csv; charset=utf-8"},
    )


def volunteers() -> dict[str, Volunteer]:
    return {v.phone: v for v in db.session.scalars(select(Volunteer))}


def test_mixed_rows_import_the_good_and_report_the_bad_by_line(client, auth):
    text = HEADER + GOOD_1 + BAD_LAT + GOOD_2 + BAD_PHONE + BAD_SKILL + BAD_LANG + SHORT_ROW
    response = post_csv(client, auth, text)
    assert response.status_code == 200
    report = response.get_json()
    assert report["created"] == 2 and report["updated"] == 0
    lines = {r["line"]: r["error"] for r in report["rejected"]}
    assert sorted(lines) == [3, 5, 6, 7, 8]
    assert "lat" in lines[3]
    assert "phone" in lines[5]
    assert "juggling" in lines[6]
    assert "language" in lines[7]
    assert report["rejected_total"] == 5
    stored = volunteers()
    assert set(stored) == {"+77011112233", "+77771234567"}
    nurlan = stored["+77011112233"]
    assert nurlan.max_distance_km == 30 and nurlan.organization_name == "Astana Rescue" and nurlan.language == "kk"
    assert stored["+77771234567"].max_distance_km == 50  # the default when the cell is empty


def test_dry_run_reports_the_same_and_imports_nothing(client, auth):
    text = HEADER + GOOD_1 + BAD_LAT + GOOD_2
    dry = post_csv(client, auth, text, "?dry_run=true").get_json()
    assert dry["created"] == 2 and dry["dry_run"] is True and len(dry["rejected"]) == 1
    assert volunteers() == {}
    real = post_csv(client, auth, text).get_json()
    assert {k: real[k] for k in ("created", "updated", "rejected")} == {
        k: dry[k] for k in ("created", "updated", "rejected")
    }


def test_a_known_phone_updates_that_volunteer(client, auth):
    post_csv(client, auth, HEADER + GOOD_1)
    before = volunteers()["+77011112233"]
    volunteer_id = before.id
    changed = "Нурлан Садыков,+7 701 111 2233,51.2,71.5,search_rescue,ru,80,Ertis\n"
    report = post_csv(client, auth, HEADER + changed).get_json()
    assert report == {**report, "created": 0, "updated": 1, "rejected": []}
    db.session.expire_all()
    after = volunteers()["+77011112233"]
    assert after.id == volunteer_id
    assert (after.lat, after.lon, after.language, after.max_distance_km) == (51.2, 71.5, "ru", 80)


def test_an_import_never_opts_anyone_back_in(client, auth):
    post_csv(client, auth, HEADER + GOOD_1)
    volunteer = volunteers()["+77011112233"]
    volunteer.status = "opted_out"
    db.session.commit()
    post_csv(client, auth, HEADER + GOOD_1)
    db.session.expire_all()
    assert volunteers()["+77011112233"].status == "opted_out"


def test_a_phone_repeated_in_the_file_is_reported_not_applied_twice(client, auth):
    repeat = "Someone Else,87011112233,50,70,first_aid,en,,\n"
    report = post_csv(client, auth, HEADER + GOOD_1 + repeat).get_json()
    assert report["created"] == 1
    assert report["rejected"] == [{"line": 3, "error": "phone +77011112233 already appears on line 2"}]
    assert volunteers()["+77011112233"].name == "Нурлан Садыков"


def test_quoted_fields_and_a_byte_order_mark(client, auth):
    text = "\ufeff" + HEADER + '"Kim, Elena",+77771234567,43.25,76.9,"medical; first_aid",ru,,"Red Crescent, Almaty"\n'
    report = post_csv(client, auth, text).get_json()
    assert report["created"] == 1, report
    elena = volunteers()["+77771234567"]
    assert elena.name == "Kim, Elena" and elena.organization_name == "Red Crescent, Almaty"


def test_a_wrong_header_is_400_and_imports_nothing(client, auth):
    for text in ("", "name,phone\n" + GOOD_1, "name,phone,lat,lon,skills,language,shoe_size\n" + GOOD_1):
        response = post_csv(client, auth, text)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "CSV_HEADER"
    assert volunteers() == {}


def test_a_file_that_is_not_utf8_half_way_imports_nothing(client, auth):
    # 1,500 good rows commit in batches of 1,000 inside one transaction; then a bad byte.
    rows = "".join(f"V{i},+7701{5000000 + i},51.1,71.4,first_aid,ru,,\n" for i in range(1500))
    data = (HEADER + rows).encode() + b"Bad \xff\xfe bytes,+77010000000,51,71,first_aid,ru,,\n"
    response = post_csv(client, auth, data)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "CSV_ENCODING"
    assert db.session.scalar(select(func.count(Volunteer.id))) == 0


def test_wrong_content_type_is_415(client, auth):
    response = client.post("/api/v1/volunteers/import", json={"rows": []}, headers=auth("coordinator"))
    assert response.status_code == 415


def test_the_cli_import_uses_the_same_rules(app, tmp_path):
    path = tmp_path / "volunteers.csv"
    path.write_text(HEADER + GOOD_1 + BAD_LAT, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["volunteers", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert '"created": 1' in result.output and '"line": 3' in result.output
    assert set(volunteers()) == {"+77011112233"}
    result = app.test_cli_runner().invoke(args=["volunteers", "import", "--dry-run", str(path)])
    assert '"created": 0' in result.output and '"updated": 1' in result.output


def test_an_import_is_audited_and_a_dry_run_is_not(client, auth):
    from dispatch.models import AuditEvent

    post_csv(client, auth, HEADER + GOOD_1 + BAD_LAT, "?dry_run=true")
    assert db.session.scalars(select(AuditEvent)).all() == []
    post_csv(client, auth, HEADER + GOOD_1 + BAD_LAT)
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.event == "volunteers_imported"
    assert event.details == {"created": 1, "updated": 0, "rejected": 1}


def test_quiet_hours_are_an_optional_column_and_an_address_is_not(client, auth):
    header = HEADER.strip() + ",quiet_hours\n"
    response = post_csv(
        client,
        auth,
        header + "Aigerim,+77011112233,51.1,71.4,first_aid,kk,,,22:00-07:00\n"
        "Bad Quiet,+77011112244,51.1,71.4,first_aid,kk,,,25:00-07:00\n",
    )
    report = response.get_json()
    assert report["created"] == 1 and [r["line"] for r in report["rejected"]] == [3]
    volunteer = volunteers()["+77011112233"]
    assert (volunteer.quiet_from_min, volunteer.quiet_to_min) == (22 * 60, 7 * 60)
    # A row is placed by its coordinates: an address column is refused, never geocoded.
    refused = post_csv(client, auth, HEADER.strip() + ",address\nX,+77011112255,51.1,71.4,first_aid,kk,,,Astana\n")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["details"]["unknown"] == ["address"]


# -- files as Excel writes them (ru and kk locales) --------------------------------------------

EXCEL_HEADER = "name;phone;lat;lon;skills;language;max_distance_km;organization;quiet_hours;birth_date;region;"
# Saved by Excel as "CSV UTF-8" in a Russian locale: a byte order mark, `;` between cells, CRLF,
# decimal commas, DD.MM.YYYY dates, a cell with `;` (and one with a line break) quoted, an empty
# cell after the last column, and a row of empty cells under the table.
EXCEL_RU = "\r\n".join(
    [
        EXCEL_HEADER,
        'Нурлан Садыков;8 701 111 22 33;51,17;71,45;"first_aid;driver_4x4";kk;30,5;Astana Rescue;22:00-07:00;31.01.1990;;',
        '"Айгерим\nСеитова";+77771234567;43,25;76,9;medical;ru;;"Красный Полумесяц; Алматы";;1985-07-04;;',
        "Елена Ким;87012223344;-0,5;0,25;first_aid;ru;;;;5.3.2001;;",
        ";;;;;;;;;;;",
        "",
    ]
)


def test_an_excel_ru_locale_export_imports_fully(client, auth):
    response = post_csv(client, auth, "\ufeff".encode() + EXCEL_RU.encode())
    report = response.get_json()
    assert response.status_code == 200, report
    assert report == {
        "created": 3,
        "updated": 0,
        "rejected": [],
        "rejected_total": 0,
        "dry_run": False,
        "delimiter": ";",
        "encoding": "utf-8",
        "encoding_detected": False,
    }
    stored = volunteers()
    nurlan = stored["+77011112233"]
    assert (nurlan.name, nurlan.lat, nurlan.lon, nurlan.max_distance_km) == ("Нурлан Садыков", 51.17, 71.45, 30.5)
    assert nurlan.birth_date == date(1990, 1, 31) and nurlan.organization_name == "Astana Rescue"
    assert (nurlan.quiet_from_min, nurlan.quiet_to_min) == (22 * 60, 7 * 60)
    assert nurlan.region == "KZ-71"  # Astana, from the point
    aigerim = stored["+77771234567"]
    assert aigerim.name == "Айгерим Сеитова"  # a line break in a name is a space
    assert aigerim.organization_name == "Красный Полумесяц; Алматы" and aigerim.birth_date == date(1985, 7, 4)
    elena = stored["+77012223344"]
    assert (elena.lat, elena.lon, elena.birth_date, elena.region) == (-0.5, 0.25, date(2001, 3, 5), None)


def test_a_decimal_comma_is_read_only_where_the_comma_does_not_separate_cells(client, auth):
    # In a comma-separated file "1,000" is a thousands separator as often as a decimal sign.
    text = HEADER + 'Comma Number,+77011112233,"51,17",71.45,first_aid,kk,"1,000",\n'
    report = post_csv(client, auth, text).get_json()
    assert report["created"] == 0 and report["delimiter"] == ","
    assert "lat" in report["rejected"][0]["error"] and "max_distance_km" in report["rejected"][0]["error"]
    tabbed = "\t".join(HEADER.strip().split(",")) + "\nTabbed\t+77011112233\t51,17\t71,45\tfirst_aid\tkk\t\t\n"
    report = post_csv(client, auth, tabbed).get_json()
    assert report["created"] == 1 and report["delimiter"] == "\t"
    assert volunteers()["+77011112233"].lat == 51.17


def test_a_birth_date_is_iso_or_dd_mm_yyyy_and_anything_else_is_that_lines_error(client, auth):
    header = HEADER.strip() + ",birth_date\n"
    rows = [
        "A,+77011110001,51.1,71.4,first_aid,kk,,,1990-01-31",
        "B,+77011110002,51.1,71.4,first_aid,kk,,,31.01.1990",
        "C,+77011110003,51.1,71.4,first_aid,kk,,,31.02.1990",  # no such day
        "D,+77011110004,51.1,71.4,first_aid,kk,,,01/31/1990",
        "E,+77011110005,51.1,71.4,first_aid,kk,,,31.01.2100",  # not born yet
    ]
    report = post_csv(client, auth, header + "\n".join(rows) + "\n").get_json()
    assert report["created"] == 2
    assert [(r["line"], r["error"].split(":")[0]) for r in report["rejected"]] == [
        (4, "birth_date"),
        (5, "birth_date"),
        (6, "birth_date"),
    ]
    assert {v.birth_date for v in volunteers().values()} == {date(1990, 1, 31)}


def test_a_region_column_overrides_the_point_and_a_bad_code_rejects_its_line(client, auth):
    header = HEADER.strip() + ",region\n"
    rows = [
        "Given,+77011110001,51.17,71.45,first_aid,kk,,,KZ-75",  # in Astana, registered with Almaty
        "Lower,+77011110002,51.17,71.45,first_aid,kk,,,kz-75",
        "Derived,+77011110003,51.17,71.45,first_aid,kk,,,",
        "Unknown,+77011110004,51.17,71.45,first_aid,kk,,,KZ-99",
        "Foreign,+77011110005,51.17,71.45,first_aid,kk,,,RU-MOW",
    ]
    report = post_csv(client, auth, header + "\n".join(rows) + "\n").get_json()
    assert report["created"] == 3
    assert [r["line"] for r in report["rejected"]] == [5, 6]
    assert all(r["error"].startswith("region: ") and "ISO 3166-2" in r["error"] for r in report["rejected"])
    stored = {v.name: v.region for v in volunteers().values()}
    assert stored == {"Given": "KZ-75", "Lower": "KZ-75", "Derived": "KZ-71"}
    # A known phone: the row's region replaces the stored one, and an empty cell derives it again.
    post_csv(client, auth, header + "Given,+77011110001,51.17,71.45,first_aid,kk,,,\n")
    db.session.expire_all()
    assert volunteers()["+77011110001"].region == "KZ-71"


# Windows-1251, as Excel saves "CSV (разделители — точка с запятой)" on a Russian Windows.
CP1251_ROWS = [
    "Нурлан Садыков;87011112233;51,17;71,45;first_aid;kk;;Спасатели Астаны",
    "Ёлкина Анна;87771234567;43,25;76,9;medical;ru;;",
]
CP1251 = (
    "\r\n".join(["name;phone;lat;lon;skills;language;max_distance_km;organization", *CP1251_ROWS]) + "\r\n"
).encode("cp1251")


def post_bytes(client, auth, data: bytes, query: str = "", content_type: str = "text/csv"):
    return client.post(
        f"/api/v1/volunteers/import{query}",
        data=data,
        headers={**auth("coordinator"), "Content-Type": content_type},
    )


def test_a_windows_1251_file_is_detected_and_the_report_says_so(client, auth):
    response = post_bytes(client, auth, CP1251)
    report = response.get_json()
    assert response.status_code == 200, report
    assert report["created"] == 2 and report["rejected"] == []
    assert (report["encoding"], report["encoding_detected"], report["delimiter"]) == ("windows-1251", True, ";")
    stored = volunteers()
    assert stored["+77011112233"].name == "Нурлан Садыков"
    assert stored["+77011112233"].organization_name == "Спасатели Астаны"
    assert stored["+77771234567"].name == "Ёлкина Анна"


def test_with_detection_off_windows_1251_is_read_only_when_asked_for(app, client, auth, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_DETECT_ENCODING", False)
    refused = post_bytes(client, auth, CP1251)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "CSV_ENCODING"
    assert refused.get_json()["error"]["message"] == "The file is not UTF-8 text; nothing was imported."
    assert volunteers() == {}
    for query, content_type in (("?encoding=windows-1251", "text/csv"), ("", "text/csv; charset=windows-1251")):
        report = post_bytes(client, auth, CP1251, query + ("&" if query else "?") + "dry_run=true", content_type)
        assert report.status_code == 200, report.get_json()
        body = report.get_json()
        assert (body["created"], body["encoding"], body["encoding_detected"]) == (2, "windows-1251", False)
    assert volunteers() == {}


def test_an_encoding_asked_for_is_kept_to(client, auth):
    # Declared UTF-8 (query or charset): bytes that are not are refused, never guessed.
    for query, content_type in (("?encoding=utf-8", "text/csv"), ("", "text/csv; charset=utf-8")):
        response = post_bytes(client, auth, CP1251, query, content_type)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "CSV_ENCODING"
    # Declared Windows-1251 but a byte that is no character in it (0x98).
    response = post_bytes(client, auth, CP1251 + b"\x98;+77010000000;51;71;first_aid;ru;;\r\n", "?encoding=cp1251")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "The file is not Windows-1251 text; nothing was imported."
    # A byte order mark says UTF-8 whatever was asked.
    report = post_bytes(client, auth, b"\xef\xbb\xbf" + (HEADER + GOOD_1).encode(), "?encoding=windows-1251").get_json()
    assert (report["created"], report["encoding"]) == (1, "utf-8")
    for query, content_type in (("?encoding=latin-1", "text/csv"), ("", "text/csv; charset=koi8-r")):
        response = post_bytes(client, auth, (HEADER + GOOD_2).encode(), query, content_type)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert set(volunteers()) == {"+77011112233"}


def test_windows_1251_found_bad_after_the_first_batches_imports_nothing(client, auth):
    rows = "".join(f"Волонтёр {i};+7701{5000000 + i};51,1;71,4;first_aid;ru;;\r\n" for i in range(3000))
    data = ("name;phone;lat;lon;skills;language;max_distance_km;organization\r\n" + rows).encode("cp1251")
    assert len(data) > 2 * 64 * 1024
    response = post_bytes(client, auth, data + b"\x98;+77010000000;51;71;first_aid;ru;;\r\n")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "CSV_ENCODING"
    assert db.session.scalar(select(func.count(Volunteer.id))) == 0


def test_garbage_a_workbook_and_latin_1_are_refused_whole(client, auth):
    garbage = random.Random(15).randbytes(20_000)
    for data, message in (
        (garbage, "The file is neither UTF-8 nor Windows-1251 text; nothing was imported."),
        (
            b"PK\x03\x04\x14\x00\x06\x00" + garbage,
            "The file is an Excel workbook, not CSV text: save it as CSV and import that; nothing was imported.",
        ),
        # Latin-1 "Müller" would read as "Mьller" in Windows-1251: not Cyrillic text, so refused.
        ((HEADER + "Jürgen Müller,+77011112233,51.1,71.4,first_aid,en,,Köln e.V.\n").encode("latin-1"), None),
    ):
        response = post_bytes(client, auth, data)
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert error["code"] == "CSV_ENCODING"
        assert error["message"] == (message or "The file is neither UTF-8 nor Windows-1251 text; nothing was imported.")
    assert volunteers() == {}


def test_the_cli_reads_windows_1251_when_told_or_detected(app, tmp_path, monkeypatch):
    path = tmp_path / "excel.csv"
    path.write_bytes(CP1251)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["volunteers", "import", "--dry-run", "--encoding", "windows-1251", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["created"], report["encoding"], report["encoding_detected"], report["delimiter"]) == (
        2,
        "windows-1251",
        False,
        ";",
    )
    assert "check the names" not in result.stderr
    detected = runner.invoke(args=["volunteers", "import", str(path)])
    assert detected.exit_code == 0, detected.output
    assert json.loads(detected.stdout)["encoding_detected"] is True
    assert "read as windows-1251 (Cyrillic); check the names" in detected.stderr
    assert volunteers()["+77011112233"].name == "Нурлан Садыков"
    monkeypatch.setitem(app.config, "IMPORT_DETECT_ENCODING", False)
    refused = runner.invoke(args=["volunteers", "import", "--encoding", "utf-8", str(path)])
    assert refused.exit_code == 1 and "not UTF-8" in refused.stderr
    unknown = runner.invoke(args=["volunteers", "import", "--encoding", "koi8-r", str(path)])
    assert unknown.exit_code == 2 and "--encoding" in unknown.stderr


def test_an_encoding_name_with_a_nul_is_a_clear_400(client, auth):
    # Found by the API fuzzer: codecs.lookup raises ValueError, not LookupError, for it.
    response = post_csv(client, auth, HEADER + GOOD_1, query="?encoding=utf%008")
    assert response.status_code == 400
    assert volunteers() == {}
