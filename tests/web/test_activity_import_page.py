"""The console's upload of activity outside dispatch: the form on the register page, the report,
and a refused file with every bad line listed in the page's language."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import func, select

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Activity
from tests.dispatch.factories import volunteer
from tests.web.test_translated_messages import english_words


def day(days_ago: int) -> str:
    moment = utcnow() - timedelta(days=days_ago)
    return f"{moment.day:02d}.{moment.month:02d}.{moment.year}"


def upload(console, text: str, lang: str = "en", dry_run: bool = False, encoding: str = "utf-8"):
    data = {"file": (io.BytesIO(text.encode(encoding)), "activity.csv")}
    if dry_run:
        data["dry_run"] = "on"
    return console.post_form(f"/console/activity/import?lang={lang}", data, content_type="multipart/form-data")


def count() -> int:
    return db.session.scalar(select(func.count(Activity.id)))


def test_the_register_page_offers_the_upload(console):
    html = console.get("/console/activity?lang=ru").get_data(as_text=True)
    assert 'id="activity-import-form"' in html and 'enctype="multipart/form-data"' in html
    assert "Импорт деятельности вне вызовов" in html


def test_an_upload_in_russian_with_its_report(console):
    volunteer(1, phone="+77011234567")
    text = f"phone;programme;start;hours\n+77011234567;Тренинг;{day(3)} 09:00;1,5\n+77011234567;Тренинг;{day(3)} 09:00;1,5\n"
    checked = upload(console, text, "ru", dry_run=True)
    assert checked.status_code == 200 and count() == 0
    assert "Только проверка" in checked.get_data(as_text=True)
    response = upload(console, text, "ru", encoding="cp1251")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and count() == 1
    assert "Новых: 1" in html and 'id="encoding-note"' in html and "Строка 3 повторяет строку 2." in html
    assert english_words(html, "ru") == []


def test_a_bad_file_lists_every_bad_line_and_imports_nothing(console):
    person = volunteer(1, phone="+77011234567")
    text = (
        "phone,volunteer_id,programme,start,end,hours\n"
        f"+77011234567,,Тренинг,{day(3)} 09:00,{day(3)} 12:00,\n"
        f"+77019999999,,Тренинг,{day(3)} 09:00,,2\n"
        f",{person.id},,{day(3)} 09:00,,2\n"
        f",{person.id},Тренинг,вчера,,2\n"
    )
    for lang in ("kk", "ru", "en"):
        response = upload(console, text, lang)
        html = response.get_data(as_text=True)
        assert response.status_code == 400 and count() == 0
        rows = html.split('id="bad-lines"')[1]
        assert "<td>3</td>" in rows and "<td>4</td>" in rows and "<td>5</td>" in rows and "<td>2</td>" not in rows
        if lang != "en":
            assert english_words(html, lang, {"phone", "programme", "start", "volunteer_id"}) == [], lang


def test_a_wrong_header_says_which_columns(console):
    response = upload(console, "phone,colour\n")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "missing: programme|action, start, end|hours" in html and "unknown: colour" in html
