"""CSV import over HTTP and the CLI: good rows in, bad rows reported by line, nothing half-done."""

from __future__ import annotations

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import Volunteer

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
    assert nurlan.max_distance_km == 30 and nurlan.organization == "Astana Rescue" and nurlan.language == "kk"
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
    assert elena.name == "Kim, Elena" and elena.organization == "Red Crescent, Almaty"


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
