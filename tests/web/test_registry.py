"""The volunteer registry pages (filters, flags, CSV import with its report) and the inbox."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.inbox import MAX_TEXTS_PER_NUMBER, receive_sms
from dispatch.models import Volunteer
from tests.dispatch.factories import volunteer


def names_listed(html: str) -> list[str]:
    table = html.split('id="volunteers"', 1)[1] if 'id="volunteers"' in html else ""
    return re.findall(r"<td>([^<]+?) <span class=\"muted\">", table)


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
    html = console.get("/console/volunteers?organization=Red+Crescent&skill=water_rescue").get_data(as_text=True)
    assert names_listed(html) == ["Diver Red"]
    assert "<option selected>Red Crescent</option>" in html and "<option>Blue Team</option>" in html


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
