"""The volunteer registry pages (filters, flags, CSV import with its report) and the inbox."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.inbox import MAX_TEXTS_PER_NUMBER, receive_sms
from dispatch.models import Volunteer
from tests.dispatch.factories import organization, volunteer
from tests.web.test_translated_messages import english_words


def names_listed(html: str) -> list[str]:
    table = html.split('id="volunteers"', 1)[1] if 'id="volunteers"' in html else ""
    return re.findall(r"<td>([^<]+?) <span class=\"muted\">", table)


@pytest.fixture(autouse=True)
def known_organizations(app):
    """The organisations the files below name: an import matches them, never makes them."""
    return [organization(name) for name in ("Astana Rescue", "Спасатели")]


def test_filters_by_skill_availability_and_organisation(console):
    volunteer(1, skills=("first_aid",), name="Medic Red", organization="Red Crescent")
    volunteer(2, skills=("water_rescue",), name="Diver Red", organization="Red Crescent")
    volunteer(3, skills=("first_aid",), name="Medic Blue", organization="Blue Team", available=False)
    assert sorted(names_listed(console.get("/console/volunteers").get_data(as_text=True))) == [
        "Diver Red",
        "Medic Blue",
        "Medic Red",
    ]
    assert names_listed(console.get("/console/volunteers?skill=first_aid&available=yes").get_data(as_text=True)) == [
        "Medic Red"
    ]
    assert names_listed(console.get("/console/volunteers?available=no").get_data(as_text=True)) == ["Medic Blue"]
    red, blue = organization("Red Crescent"), organization("Blue Team")
    html = console.get(f"/console/volunteers?organization_id={red.id}&skill=water_rescue").get_data(as_text=True)
    assert names_listed(html) == ["Diver Red"]
    assert f'<option value="{red.id}" selected>Red Crescent</option>' in html
    assert f'<option value="{blue.id}">Blue Team</option>' in html
    # An old link by name (case and spacing ignored) still filters.
    html = console.get("/console/volunteers?organization=red++crescent&available=no").get_data(as_text=True)
    assert names_listed(html) == []


def test_opted_out_and_broken_numbers_are_flagged(console):
    volunteer(1, name="Fine Person")
    volunteer(2, name="Gone Person", status="opted_out")
    volunteer(3, name="Broken Number", phone_problem="invalid_number")
    html = console.get("/console/volunteers").get_data(as_text=True)
    rows = {
        name: row
        for row in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)
        for name in ("Fine Person", "Gone Person", "Broken Number")
        if name in row
    }
    assert 'class="flagged"' not in rows["Fine Person"]
    assert 'class="flagged"' in rows["Gone Person"] and "Opted out by SMS" in rows["Gone Person"]
    assert (
        'class="flagged"' in rows["Broken Number"] and "Number does not work: invalid number" in rows["Broken Number"]
    )


def upload(console, text: str, dry_run: bool = False):
    data = {"file": (io.BytesIO(text.encode()), "people.csv")}
    if dry_run:
        data["dry_run"] = "on"
    return console.post_form("/console/volunteers/import", data, content_type="multipart/form-data")


CSV = (
    "name,phone,lat,lon,skills,language,max_distance_km,organization\n"
    "Нурлан Садыков,8 701 111 22 33,51.17,71.45,first_aid;driver_4x4,kk,30,Astana Rescue\n"
    "Bad Row,12345,95,71.4,first_aid,ru,,\n"
)


def count() -> int:
    return db.session.scalar(select(func.count(Volunteer.id)))


def test_csv_import_reports_each_bad_row_by_line(console):
    checked = upload(console, CSV, dry_run=True).get_data(as_text=True)
    assert "nothing was imported" in checked and count() == 0
    response = upload(console, CSV)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "New: 1" in html and "Rejected: 1" in html
    assert re.search(r"<td>3</td><td>[^<]*(phone|lat)", html)  # line 3, with the reason
    assert db.session.scalar(select(Volunteer.name)) == "Нурлан Садыков"


def test_a_wrong_header_imports_nothing_and_says_why(console):
    response = upload(console, "name,telephone\nA,8 701 111 22 33\n")
    assert response.status_code == 400
    assert "missing: phone" in response.get_data(as_text=True) and count() == 0


def test_the_inbox_lists_only_what_was_not_understood(console, app):
    person = volunteer(1, name="Confused Volunteer")
    receive_sms("SMx1", person.phone, "where do I go??")
    receive_sms("SMx2", person.phone, "HELP")
    html = console.get("/console/inbox").get_data(as_text=True)
    assert "where do I go??" in html and "Confused Volunteer" in html
    assert "HELP" not in html.split('id="attention"', 1)[1]


def test_the_inbox_says_which_texts_were_over_the_per_number_limit(console, app):
    person = volunteer(1, name="Looping Phone")
    for i in range(MAX_TEXTS_PER_NUMBER):
        receive_sms(f"SMloop{i}", person.phone, f"auto-reply {i}")
    receive_sms("SMover", person.phone, "auto-reply over")
    items = console.get("/console/inbox").get_data(as_text=True).split('id="attention"', 1)[1].split("<li>")
    over = [item for item in items if "auto-reply over" in item]
    understood_not = [item for item in items if "auto-reply 0<" in item]
    assert len(over) == 1 and "stored, not acted on" in over[0]
    assert len(understood_not) == 1 and "stored, not acted on" not in understood_not[0]
    russian = console.get("/console/inbox?lang=ru").get_data(as_text=True)
    assert "сохранено, но не обработано" in russian


# -- files as Excel writes them: the page says how it read them, in the page's language --------

EXCEL_RU = (
    "\ufeffname;phone;lat;lon;skills;language;max_distance_km;organization;birth_date;region\r\n"
    'Нурлан Садыков;8 701 111 22 33;51,17;71,45;"first_aid;driver_4x4";kk;30,5;;31.01.1990;\r\n'
    "Айгуль Ким;8 701 111 22 34;51,17;71,45;first_aid;ru;;;;KZ-99\r\n"
).encode()
CP1251 = (
    "name;phone;lat;lon;skills;language;max_distance_km;organization\r\n"
    "Ерлан Жуматов;8 701 111 22 35;51,17;71,45;first_aid;kk;;Спасатели\r\n"
).encode("cp1251")
NOTES = {
    "ru": {
        "semicolons": "Столбцы разделены точкой с запятой.",
        "utf8": "Файл прочитан как UTF-8.",
        "cp1251": "Файл прочитан как Windows-1251.",
        "detected": "Файл не в UTF-8: он прочитан как Windows-1251 (кириллица); проверьте имена.",
        "region": "region: должен быть кодом региона из списка регионов (ISO 3166-2)",
        "neither": "Файл не является текстом ни в UTF-8, ни в Windows-1251; ничего не импортировано.",
    },
    "kk": {
        "semicolons": "Бағандар нүктелі үтірмен бөлінген.",
        "utf8": "Файл UTF-8 ретінде оқылды.",
        "cp1251": "Файл Windows-1251 ретінде оқылды.",
        "detected": "Файл UTF-8 емес: ол Windows-1251 (кирилл әліпбиі) ретінде оқылды; есімдерді тексеріңіз.",
        "region": "region: өңірлер тізіміндегі өңір коды болуы керек (ISO 3166-2)",
        "neither": "Файл UTF-8 мәтіні де, Windows-1251 мәтіні де емес; ештеңе импортталмады.",
    },
}


def upload_bytes(console, data: bytes, encoding: str | None = None, dry_run: bool = False):
    form = {"file": (io.BytesIO(data), "people.csv")}
    if encoding is not None:
        form["encoding"] = encoding
    if dry_run:
        form["dry_run"] = "on"
    return console.post_form("/console/volunteers/import", form, content_type="multipart/form-data")


def note(html: str) -> str | None:
    found = re.search(r'<p class="note" role="status" id="encoding-note">([^<]*)</p>', html)
    return found and found[1]


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_an_excel_file_is_read_and_the_page_says_how_in_its_language(console, language):
    words = NOTES[language]
    console.get(f"/console/?lang={language}")
    response = upload_bytes(console, EXCEL_RU)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert words["semicolons"] in html and words["utf8"] in html and note(html) is None
    assert f"<td>3</td><td>{words['region']}</td>" in html
    assert english_words(html, language, set(EXCEL_RU.decode().split("\r\n")[0][1:].split(";"))) == []
    stored = db.session.scalars(select(Volunteer)).one()
    assert (stored.name, stored.lat, stored.max_distance_km, str(stored.birth_date)) == (
        "Нурлан Садыков",
        51.17,
        30.5,
        "1990-01-31",
    )

    detected = upload_bytes(console, CP1251, dry_run=True).get_data(as_text=True)
    assert note(detected) == words["detected"] and words["cp1251"] in detected
    assert english_words(detected, language, {"name", "phone", "lat", "lon", "skills", "language"}) == []
    chosen = upload_bytes(console, CP1251, encoding="windows-1251", dry_run=True).get_data(as_text=True)
    assert note(chosen) is None and words["cp1251"] in chosen
    assert '<option value="windows-1251" selected>' in chosen

    garbage = upload_bytes(console, bytes(range(256)) * 8)
    assert garbage.status_code == 400 and words["neither"] in garbage.get_data(as_text=True)
    assert count() == 1


def test_a_windows_1251_file_is_refused_when_detection_is_off_unless_chosen(console, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_DETECT_ENCODING", False)
    form = console.get("/console/volunteers/import").get_data(as_text=True)
    assert 'value=""' not in form.split('id="encoding"', 1)[1].split("</select>", 1)[0]
    refused = upload_bytes(console, CP1251)
    assert refused.status_code == 400 and "not UTF-8 text" in refused.get_data(as_text=True) and count() == 0
    chosen = upload_bytes(console, CP1251, encoding="windows-1251")
    assert chosen.status_code == 200 and "Read as Windows-1251." in chosen.get_data(as_text=True)
    assert db.session.scalar(select(Volunteer.name)) == "Ерлан Жуматов"
    crafted = upload_bytes(console, CP1251, encoding="koi8-r")
    assert crafted.status_code == 400 and "encoding from the list." in crafted.get_data(as_text=True)
