"""One preview for the API and the console (dispatch/preview.py): the same skill check, the
same candidates, the same SMS with its place name; an unknown skill is a 400 on both paths
(a form error in the page's language on the console) and nothing is posted."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from dispatch.extensions import db
from dispatch.models import Alert, AuditEvent, Incident, OutboxMessage
from dispatch.web.incident_form import read_incident_form
from tests.dispatch.factories import ASTANA, volunteer

FORM = {
    "kind": "flood",
    "title": "Ishim embankment flooding",
    "lat": f"{ASTANA[0]}",
    "lon": f"{ASTANA[1]}",
    "radius_km": "10",
    "max_radius_km": "50",
    "severity": "severe",
    "drill": "on",
    "need_skill_0": "water_rescue",
    "need_count_0": "1",
}
API_PREVIEW = {
    "lat": ASTANA[0],
    "lon": ASTANA[1],
    "radius_km": 10,
    "skill": "water_rescue",
    "kind": "flood",
    "title": "Ishim embankment flooding",
    "drill": True,
}
_SMS = re.compile(r'<span class="sms" lang="(\w\w)">(.*?)</span>', re.S)
_ROW = re.compile(r"<tr><td>(.*?)</td><td>([\d.]+) km</td>")


def nothing_posted() -> None:
    for model in (Incident, Alert, OutboxMessage, AuditEvent):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__name__


def console_form(console, form: dict, action: str, lang: str | None = None):
    path = "/console/incidents/new" + (f"?lang={lang}" if lang else "")
    data = {**form, "action": action}
    if action == "send":
        # What a crafted post would carry: the digest of exactly this form, as if previewed.
        data["previewed"] = read_incident_form(MultiDict(form)).digest
    return console.post_form(path, data)


def test_an_unknown_skill_is_a_400_on_the_api_and_nothing_is_posted(client, auth):
    response = client.post("/api/v1/candidates", json={**API_PREVIEW, "skill": "juggling"}, headers=auth("coordinator"))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["fields"] == {"skill": "unknown skill"}
    assert "juggling" in error["message"]
    response = client.post(
        "/api/v1/incidents",
        headers=auth("coordinator"),
        json={
            "kind": "flood",
            "title": "x",
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "needs": [{"skill": "juggling", "count": 1}],
        },
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["details"]["fields"] == {"needs": "unknown skill"}
    nothing_posted()


def test_an_unknown_skill_in_the_console_preview_or_send_is_a_form_error(console):
    volunteer(1, skills=("water_rescue",))
    crafted = {**FORM, "need_skill_0": "juggling"}
    for action in ("preview", "send"):
        response = console_form(console, crafted, action)
        assert response.status_code == 400, action
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert 'id="needs-error"' in page and "juggling is not a skill in the catalogue." in page, action
        assert "Preview: nothing has been sent yet" not in page
    nothing_posted()


def test_the_unknown_skill_error_speaks_the_pages_language(console):
    crafted = {**FORM, "need_skill_1": "<b>juggling</b>", "need_count_1": "1"}
    for lang, text in (("ru", "такого навыка нет в справочнике"), ("kk", "анықтамалықта мұндай дағды жоқ")):
        for action in ("preview", "send"):
            response = console_form(console, crafted, action, lang)
            assert response.status_code == 400
            page = response.get_data(as_text=True)
            assert f"&lt;b&gt;juggling&lt;/b&gt; — {text}." in page, (lang, action)
            assert "is not a skill in the catalogue" not in page
    nothing_posted()


def test_the_api_and_the_console_preview_the_same_candidates_and_sms(client, console, auth, nominatim):
    nominatim.set_reverse({"city": "Astana", "country": "Kazakhstan"}, "Astana, Kazakhstan")
    near = volunteer(1.5, skills=("water_rescue",), name="Near Swimmer")
    far = volunteer(4.2, 90, skills=("water_rescue", "first_aid"), name="Far Swimmer")
    volunteer(2, skills=("first_aid",), name="Not A Swimmer")
    api = client.post("/api/v1/candidates", json=API_PREVIEW, headers=auth("coordinator")).get_json()
    response = console_form(console, FORM, "preview")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    names = {near.name: near.id, far.name: far.id}
    listed = [(names[html.unescape(name)], float(km)) for name, km in _ROW.findall(page)]
    assert listed == [(c["volunteer_id"], round(c["distance_km"], 1)) for c in api["candidates"]]
    assert listed == [(near.id, 1.5), (far.id, 4.2)]

    shown = {lang: html.unescape(text) for lang, text in _SMS.findall(page)}
    assert shown == {p["language"]: p["text"] for p in api["sms_preview"]}
    assert all("Astana" in text for text in shown.values())  # the place name, as the report will have it
    assert "4.2 km from you" in shown["en"] and shown["en"].startswith("DRILL")
    nothing_posted()
