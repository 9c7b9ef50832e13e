"""Pages in English, Russian and Kazakh; times in the coordinator's time zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from dispatch.extensions import db
from tests.dispatch.factories import incident

WEB = Path(__file__).resolve().parents[2] / "dispatch" / "web"


def extracted_messages() -> set:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}
    return {
        msgid for _file, _line, msgid, _comments, _context in extract_from_dir(str(WEB), method_map, keywords=keywords)
    }


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_text_of_the_pages_is_translated(language):
    with open(WEB / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=language)
    extracted = extracted_messages()
    assert len(extracted) > 150  # the extraction itself works
    translated = {m.id for m in catalog if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)}
    missing = extracted - translated
    assert not missing, f"untranslated in {language}: {sorted(map(str, missing))}"


def test_the_language_follows_the_browser_and_then_the_choice(client):
    assert "Открытые происшествия" in client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(
        as_text=True
    )
    assert "Open incidents" in client.get("/").get_data(as_text=True)
    html = client.get("/?lang=kk").get_data(as_text=True)
    assert '<html lang="kk">' in html and "Ашық оқиғалар" in html
    # Remembered for the rest of the visit, whatever the browser says.
    assert "Ашық оқиғалар" in client.get("/", headers={"Accept-Language": "ru"}).get_data(as_text=True)


def test_console_pages_are_translated(console):
    html = console.get("/console/incidents/new?lang=ru").get_data(as_text=True)
    assert "Новое происшествие" in html and "Посмотреть, кого оповестим" in html and "Наводнение" in html
    assert "Первая помощь" in html  # skill names from the catalogue


def test_times_are_shown_in_the_coordinators_time_zone(console):
    posted = incident(title="Timed", created_at=datetime(2030, 1, 1, 10, 0))
    db.session.commit()
    assert "1 Jan 15:00" in console.get("/console/").get_data(as_text=True)  # Asia/Almaty, UTC+5
    response = console.post_form("/preferences", {"language": "en", "timezone": "UTC"})
    assert response.status_code == 302
    assert "1 Jan 10:00" in console.get(f"/console/incidents/{posted.id}").get_data(as_text=True)
    console.post_form("/preferences", {"language": "ru", "timezone": "Mars/Olympus"})
    assert "1 Jan 10:00" in console.get("/console/").get_data(as_text=True)  # refused, unchanged


def test_preferences_change_the_language(console):
    console.post_form("/preferences", {"language": "kk", "timezone": "Asia/Almaty"})
    assert "Оқиғалар" in console.get("/console/").get_data(as_text=True)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_code_table_of_the_pages_is_translated(app, language):
    """Reasons, outcomes, error codes, pydantic error types, import problems, geo and stored
    English patterns, cities: each text differs from its English in Russian and Kazakh."""
    from dispatch.web import i18n, pages

    tables = [
        i18n.LABELS,
        i18n.OUTCOMES,
        i18n.PHONE_PROBLEMS,
        i18n.ERROR_MESSAGES,
        i18n.FIELD_PROBLEMS,
        i18n.PYDANTIC_MESSAGES,
        i18n.WHY_CHOSEN,
        i18n.IMPORT_PROBLEMS,
        i18n.WHERE_WORDS,
    ]
    texts = [text for table in tables for text in table.values()]
    texts += [text for _pattern, text in i18n.ERROR_TEXTS + i18n.VALUE_ERRORS + i18n.PHONE_ERRORS]
    texts += [name for name, _lat, _lon in pages.CITIES]
    with app.test_request_context(f"/?lang={language}"):
        i18n.remember_language()
        same = [text._args[0] for text in texts if str(text) == text._args[0]]
    assert len(texts) > 150 and same == []
