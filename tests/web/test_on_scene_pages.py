"""The console's side of being on scene: the safety banner on every console page, the roll call
button, birth dates in the registry; nothing English on Russian and Kazakh pages."""

from __future__ import annotations

from datetime import date

import pytest

from dispatch.clock import utcnow
from dispatch.extensions import db
from tests.dispatch.factories import alert, incident, volunteer

from .test_translated_messages import english_words


@pytest.fixture
def worrying(app):
    flood = incident(code="731", title="Flood in Zhagalau")
    lost = volunteer(1, name="Aidos")
    calling = volunteer(2, name="Bota")
    minor = volunteer(3, name="Dana", birth_date=date(date.today().year - 15, 1, 1))
    a = alert(flood, lost, status="accepted")
    a.arrived_at = a.welfare_overdue_at = utcnow()
    b = alert(flood, calling, status="accepted")
    b.arrived_at = b.help_requested_at = utcnow()
    db.session.commit()
    return flood, minor


def test_the_banner_is_on_every_console_page_and_not_on_the_public_board(console, client, worrying):
    flood, _ = worrying
    for path in (
        "/console/",
        "/console/volunteers",
        "/console/inbox",
        f"/console/incidents/{flood.id}",
        "/preferences",
    ):
        html = console.get(path).get_data(as_text=True)
        assert "safety in question" in html, path
        assert "asked for help on scene: Bota" in html and "no SAFE after the welfare check: Aidos" in html, path
    live = console.get("/console/concerns/live").get_data(as_text=True)
    assert "Aidos" in live
    assert "safety in question" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_on_scene_pages_in_the_language(console, worrying, language):
    flood, _ = worrying
    console.get(f"/console/?lang={language}")
    for path in (f"/console/incidents/{flood.id}", "/console/volunteers", f"/console/incidents/{flood.id}/live"):
        html = console.get(path).get_data(as_text=True)
        assert english_words(html, language, {"Flood", "in", "Zhagalau", "Aidos", "Bota", "Dana"}) == [], path


def test_the_roll_call_button_asks_and_the_registry_shows_minors(console, worrying, sms):
    flood, minor = worrying
    page = console.get(f"/console/incidents/{flood.id}").get_data(as_text=True)
    assert 'id="roll-call-button"' in page
    response = console.post_form(f"/console/incidents/{flood.id}/roll-call")
    assert response.status_code == 302
    live = console.get(f"/console/incidents/{flood.id}/live").get_data(as_text=True)
    assert "Asked: 2" in live and "Aidos" in live
    registry = console.get("/console/volunteers").get_data(as_text=True)
    assert minor.birth_date.isoformat() in registry and "Under 18: never alerted" in registry
    # Nobody on scene: a clear message, nothing changed.
    empty = incident(code="732", title="Quiet")
    assert console.post_form(f"/console/incidents/{empty.id}/roll-call").status_code == 302
    assert "Nobody is on scene" in console.get(f"/console/incidents/{empty.id}").get_data(as_text=True)
