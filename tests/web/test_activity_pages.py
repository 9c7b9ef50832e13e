"""The console's register page: totals per organisation and period (records, people, hours) in
en/ru/kk, and the CSV and XLSX downloads of the same filter behind the console's sign-in."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl

from dispatch import activity_exports
from dispatch.clock import utcnow
from dispatch.users import create_user
from tests.dispatch.factories import volunteer
from tests.dispatch.test_activity_exports import record

from .conftest import PASSWORD, sign_in


def _register():
    red = volunteer(1, name="Айгерим", organization="Қызыл Жарты Ай", region="KZ-71")
    red2 = volunteer(2, name="Бота", organization="Қызыл Жарты Ай", region="KZ-75")
    rescue = volunteer(3, name="=cmd|' /C calc'!A0", organization="Спасатели", region="KZ-75")
    start = utcnow() - timedelta(days=3)
    record(red, start, 90)
    record(red, start + timedelta(hours=5), 30)
    record(red2, start, 60)
    record(rescue, start, 240)
    record(rescue, start - timedelta(days=200), 600)  # outside a 30-day period


def test_totals_per_organisation_and_period(console):
    _register()
    first = (utcnow() - timedelta(days=30)).date().isoformat()
    page = console.get(f"/console/activity?from={first}&lang=ru")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Волонтёрская деятельность" in html and "Скачать CSV" in html and "Download" not in html
    rows = html.split('<table id="totals">')[1]
    # Спасатели: 4 h, 1 person, 1 record (first: most hours); Қызыл Жарты Ай: 3 h, 2 people, 3 records.
    assert rows.index("Спасатели") < rows.index("Қызыл Жарты Ай")
    assert "<td>Спасатели</td><td>4</td><td>1</td><td>1</td>" in rows
    assert "<td>Қызыл Жарты Ай</td><td>3</td><td>2</td><td>3</td>" in rows
    assert "<td>7</td><td>3</td><td>4</td>" in rows.split('id="overall"')[1]
    everything = console.get("/console/activity?lang=kk").get_data(as_text=True)
    assert "Волонтерлік қызмет" in everything and "<td>17</td><td>3</td><td>5</td>" in everything
    assert f"/console/activity.csv?from={first}" in html


def test_downloads_follow_the_filter(console):
    _register()
    data = console.get("/console/activity.csv?region=KZ-75").get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    names = sorted(r[header.index("volunteer_name")] for r in rows)
    assert names == ["'=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0", "Бота"]
    response = console.get("/console/activity.xlsx?organization=Қызыл Жарты Ай")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.active.max_row == 4  # the header and three rows


def test_bad_periods_and_the_row_cap_are_400(console, monkeypatch):
    _register()
    inverted = console.get("/console/activity?from=2030-02-01&to=2030-01-01&lang=ru")
    assert inverted.status_code == 400 and "Период перевёрнут" in inverted.get_data(as_text=True)
    assert console.get("/console/activity?from=tomorrow").status_code == 400
    assert console.get("/console/activity.csv?from=2030-02-01&to=2030-01-01").status_code == 400
    monkeypatch.setattr(activity_exports, "MAX_ROWS", 2)
    capped = console.get("/console/activity.xlsx?lang=kk")
    assert capped.status_code == 400 and "қысқарақ кезеңді" in capped.get_data(as_text=True)


def test_only_coordinators(client, app):
    assert client.get("/console/activity").status_code == 302
    assert client.get("/console/activity.csv").status_code == 302
    create_user("viewer@test.local", "viewer", password=PASSWORD)
    sign_in(client, "viewer@test.local")
    assert client.get("/console/activity").status_code == 403
    assert client.get("/console/activity.csv").status_code == 403


def test_the_demo_has_a_year_of_history_seeded_once(console):
    from sqlalchemy import func, select

    from dispatch.demo import seed_demo
    from dispatch.extensions import db
    from dispatch.models import Activity

    seed_demo()
    seeded = db.session.scalar(select(func.count(Activity.id)))
    assert seeded > 300
    seed_demo()
    assert db.session.scalar(select(func.count(Activity.id))) == seeded
    html = console.get("/console/activity?lang=ru").get_data(as_text=True)
    assert "деятельности нет" not in html and f"<td>{seeded}</td>" in html
