""" "Posted 5 minutes ago" on the public board, in the page's language: the server's first paint
and the script's updates use one rule and the app's own wording, never the browser's, whose
Kazakh is "-1 min" (Chromium claims kk and formats it from root data)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.web.public import ago_unit
from tests.dispatch.factories import ALMATY, ASTANA, incident

AGES = (timedelta(seconds=5), timedelta(minutes=3), timedelta(hours=3), timedelta(days=3))
WORDING = {
    "en": ["just now", "3 minutes ago", "3 hours ago", "3 days ago"],
    "ru": ["только что", "3 минуты назад", "3 часа назад", "3 дня назад"],
    "kk": ["жаңа ғана", "3 минут бұрын", "3 сағат бұрын", "3 күн бұрын"],
}


def posted_at_ages() -> None:
    for n, age in enumerate(AGES):
        at = ASTANA if n % 2 else ALMATY
        incident(code=f"10{n}", title=f"Posted {n}", lat=at[0] + n / 100, lon=at[1], created_at=utcnow() - age)
    db.session.commit()


def shown_times(html: str) -> list[str]:
    """The times of the cards, in the order the incidents were posted (the board lists newest first)."""
    return list(reversed(re.findall(r'class="ago">([^<]*)</time>', html)))


def test_units_change_at_an_hour_and_at_two_days():
    assert [ago_unit(m) for m in (1, 59, 60, 90, 150, 2879, 2880, 4320)] == [
        ("minute", 1),
        ("minute", 59),
        ("hour", 1),
        ("hour", 2),
        ("hour", 3),
        ("hour", 48),
        ("day", 2),
        ("day", 3),
    ]


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_the_first_paint_says_how_long_ago_in_the_pages_language(client, language):
    posted_at_ages()
    html = client.get(f"/?lang={language}").get_data(as_text=True)
    assert shown_times(html) == WORDING[language]


def test_the_page_hands_its_script_the_same_wording(client):
    html = client.get("/?lang=ru").get_data(as_text=True)
    data = json.loads(re.search(r'id="page-data">(.*?)</script>', html).group(1))
    assert data["ago"]["now"] == "только что"
    assert data["ago"]["minute"]["one"] == "{0} минуту назад"
    assert data["ago"]["minute"]["few"] == "{0} минуты назад"
    assert data["ago"]["hour"]["many"] == "{0} часов назад"


@pytest.mark.browser
@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_board_keeps_the_pages_wording_when_its_script_redraws(open_page, language):
    posted_at_ages()
    page, _ = open_page(locale=f"{language}-KZ")
    page.goto(f"/?lang={language}")
    expect(page.locator("#incident-list .card")).to_have_count(len(AGES))
    # The first poll redraws every card with status.js's own times.
    expect(page.locator("#live-note")).to_contain_text({"kk": "Жаңартылды", "ru": "Обновлено"}[language])
    times = list(reversed(page.locator("#incident-list time.ago").all_inner_texts()))
    assert times == WORDING[language]
    assert not [t for t in times if re.search(r"[-+]\d|\b(min|h|ago|now)\b", t)]
