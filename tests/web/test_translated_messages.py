"""Nothing English on a Russian or Kazakh page: reasons, reply outcomes, the unfilled reason,
form and import errors, error pages, distances and decimals, the cities on the maps.

The API keeps its English and its codes (programs read it); these tests hold the pages to
the page's language, with hostile and invalid input as well as the happy path."""

from __future__ import annotations

import ast
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

import dispatch
from dispatch import errors, schemas
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from dispatch.models import Alert, Incident
from dispatch.web import i18n
from geo import GeoError, parse_geojson_area
from tests.dispatch.factories import ASTANA, organization, volunteer

ROOT = Path(dispatch.__file__).resolve().parent
LANGUAGES = ("ru", "kk")
# Latin words a Russian or Kazakh page may show: formats, protocols, SMS keywords a volunteer
# types, and the language codes and names of the language switcher.
ALLOWED = {
    "SMS",
    "Telegram",
    "QR",  # "QR-код" in ru and kk
    "GeoJSON",
    "Polygon",
    "MultiPolygon",
    "Feature",
    "JSON",
    "CSV",
    "UTF",
    "Windows",
    "Excel",
    "ETA",
    "YES",
    "NO",
    "STOP",
    "HELP",
    "BUSY",
    "ISO",
    "kk",
    "ru",
    "en",
    "T",
    "GSM",
    "UCS",
}


class VisibleText(HTMLParser):
    """The text a person reads (text nodes and labelling attributes), except scripts, code
    samples, what they typed themselves (a textarea sent back), and elements in another
    language (lang="en" SMS previews, the language menu)."""

    SKIPPED = frozenset({"script", "style", "code", "textarea"})
    VOID = frozenset({"br", "input", "meta", "link", "img", "hr", "source", "wbr"})

    def __init__(self, language: str):
        super().__init__()
        self.language = language
        self.stack: list[bool] = []  # per open element: is it hidden from this check?
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        hidden = (
            bool(self.stack and self.stack[-1])
            or tag in self.SKIPPED
            or (attrs.get("lang") not in (None, "", self.language))
        )
        if not hidden:
            self.parts += [attrs[name] for name in ("aria-label", "title", "placeholder", "alt") if attrs.get(name)]
        if tag not in self.VOID:
            self.stack.append(hidden)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_text(html: str, language: str) -> str:
    reader = VisibleText(language)
    reader.feed(html)
    return " ".join(reader.parts)


def english_words(html: str, language: str, also_allowed: set[str] = frozenset()) -> list[str]:
    # A link (the reply link in an SMS preview) is an address, not words.
    text = re.sub(r"https?://\S+", " ", visible_text(html, language))
    words = re.findall(r"[A-Za-z][A-Za-z_]+", text)
    return sorted({w for w in words if w not in ALLOWED and w not in also_allowed})


# -- the tables cover every code the use cases produce ----------------------------------------


def string_constants(path: Path, functions: set[str]) -> set[str]:
    """Strings a function returns (alone or first/second in a tuple) or assigns to `.outcome`
    or to a subscript (reasons[vid] = "..."), in the named functions of a module."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            for inner in ast.walk(node):
                values = []
                if isinstance(inner, ast.Return) and inner.value is not None:
                    values = inner.value.elts if isinstance(inner.value, ast.Tuple) else [inner.value]
                elif isinstance(inner, ast.Assign):
                    if any(isinstance(t, ast.Subscript) or getattr(t, "attr", "") == "outcome" for t in inner.targets):
                        values = inner.value.elts if isinstance(inner.value, ast.Tuple) else [inner.value]
                elif isinstance(inner, ast.Call) and getattr(inner.func, "attr", "") == "setdefault":
                    values = inner.args[1:]
                found |= {
                    v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value
                }
    return found


def test_every_exclusion_reason_has_a_label():
    reasons = string_constants(ROOT / "matching.py", {"exclusion_reason", "_local_reason", "_history"})
    assert {"opted_out", "lacks_skill", "quiet_hours", "already_alerted", "alert_limit", "minor"} <= reasons
    assert reasons - set(i18n.LABELS) - set(i18n.EXCLUSION_LABELS) == set()
    # "minor" is a severity's label too: the exclusion has its own words.
    assert "minor" in i18n.EXCLUSION_LABELS


def test_every_reply_outcome_has_a_text():
    outcomes = (
        string_constants(ROOT / "inbox.py", {"receive_sms", "_act", "_answer_alert", "_target_alert"})
        | string_constants(ROOT / "alerting.py", {"accept", "decline"})
        | string_constants(
            ROOT / "responders.py",
            {"reply_from_scene", "_arrived_reply", "_done_reply", "_safe_reply", "help_from_scene"},
        )
        | string_constants(ROOT / "activity.py", {"answer_hours"})
    ) - {""}
    outcomes |= {dispatch.inbox.RATE_LIMITED}
    assert {"accepted", "declined", "not_understood", "unknown_number", "ambiguous", "standby"} <= outcomes
    assert {"arrived", "left", "safe", "not_arrived", "not_on_scene", "help_on_scene", "hours"} <= outcomes
    assert outcomes - set(i18n.OUTCOMES) == set()


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


def test_every_error_code_has_a_page_text(app):
    codes = {cls.code for cls in all_subclasses(errors.DispatchError)} | {errors.DispatchError.code}
    codes |= set(errors.HTTP_CODES.values()) | {"HTTP_ERROR", "INTERNAL_ERROR"}
    assert {"NOT_FOUND", "CSV_HEADER", "INCIDENT_ENDED", "PAYLOAD_TOO_LARGE"} <= codes
    assert codes - set(i18n.ERROR_MESSAGES) == set()


# Every input model, with values that break each kind of rule it has.
HOSTILE_BODIES = [
    (schemas.IncidentIn, {}),
    (
        schemas.IncidentIn,
        {
            "kind": "volcano",
            "title": "",
            "lat": 95,
            "lon": -200,
            "needs": [],
            "severity": 3,
            "radius_km": 0,
            "max_radius_km": 5000,
            "drill": "maybe",
            "extra": 1,
            "area": "x",
        },
    ),
    (
        schemas.IncidentIn,
        {
            "kind": "fire",
            "title": "x" * 201,
            "lat": "north",
            "lon": float("nan"),
            "needs": [{"skill": "s" * 40, "count": 0}] * 21,
            "description": 5,
            "area": [],
        },
    ),
    (
        schemas.IncidentIn,
        {
            "kind": "fire",
            "title": "t",
            "lat": 51,
            "needs": [{"skill": None, "count": 1.5}],
            "exclude_inside_area": [],
            "radius_km": -1,
            "max_radius_km": "far",
        },
    ),
    (schemas.IncidentIn, {"kind": "fire", "title": "t", "needs": "many"}),
    (
        schemas.VolunteerIn,
        {
            "name": " ",
            "phone": "",
            "skills": "first_aid",
            "language": "de",
            "lat": 1,
            "lon": 2,
            "quiet_hours": "late",
            "max_distance_km": float("inf"),
            "organization": "o" * 201,
        },
    ),
    (
        schemas.VolunteerIn,
        {
            "name": "n",
            "phone": "1",
            "skills": [""] * 40,
            "language": "kk",
            "address": "ab",
            "quiet_hours": "25:00-26:00",
        },
    ),
    (schemas.VolunteerRow, {"name": "n", "phone": "1", "skills": [], "language": "kk", "lat": "", "lon": "x"}),
    (
        schemas.VolunteerRow,
        {"name": "n", "phone": "1", "skills": [], "language": "kk", "lat": 1, "lon": 1, "region": "KZ-99"},
    ),
    (schemas.VolunteerPatch, {"busy_until": "soon", "available": "perhaps", "status": "gone", "name": None}),
    (schemas.VolunteerPatch, {"busy_until": 10**20, "lat": True}),
    (schemas.CandidatesIn, {"lat": 1, "lon": 1, "radius_km": 1, "limit": 0, "explain": [], "title": ""}),
    (schemas.CandidatesIn, {"lat": 1, "lon": 1, "radius_km": 1, "limit": 10**30}),
    (schemas.BroadcastIn, {"body": "", "to": "everyone"}),
    (schemas.BroadcastIn, {"body": "b" * 601, "to": None}),
    (schemas.ManualAlertIn, {"volunteer_ids": []}),
    (schemas.VolunteerPatch, {"birth_date": "2100-01-01"}),
    (schemas.VolunteerPatch, {"birth_date": "yesterday"}),
    (schemas.VolunteerPatch, {"birth_date": "2000-01-01T10:30:00"}),
    (schemas.ResponderStatusIn, {"status": "gone"}),
    (schemas.ResponderStatusIn, {}),
    (
        schemas.ActivityIn,
        {"volunteer_id": 0, "activity": "", "started_at": "soon", "ended_at": 5, "skill": "", "place": "p" * 301},
    ),
    (schemas.ActivityIn, {"volunteer_id": "x", "activity": "a" * 201, "started_at": "10000-01-01T00:00"}),
    (schemas.ActivityPatch, {"reason": "", "verified": "perhaps", "ended_at": "later", "extra": 1}),
    (schemas.ActivityPatch, {"verified": True}),
    (schemas.ActivityRow, {"activity": "a\nb", "place": "p" * 301, "skill": "", "note": "n" * 501}),
    (schemas.ManualAlertIn, {"volunteer_ids": [0, 2**40, "x"]}),
    (schemas.DispatchIn, {"needs": [], "radius_km": 0, "max_radius_km": "far"}),
    (schemas.IncidentPatch, {}),
    (schemas.IncidentPatch, {"lat": 51.0}),
    (
        schemas.IncidentPatch,
        {"title": None, "needs": [{"skill": None, "count": 1}, {"skill": None, "count": 2}], "meeting_point": ""},
    ),
    (schemas.IncidentPatch, {"status": "closed", "radius_km": 0, "severity": "bad", "area": 5}),
    (schemas.NeedChange, {"skill": "", "count": -1}),
    (schemas.OrganizationIn, {"name": "", "region": "KZ-99", "email": "not-an-address", "address": "a" * 301}),
    (schemas.OrganizationIn, {"name": "n" * 201, "active": "perhaps", "organization_id": 1}),
    (schemas.OrganizationPatch, {}),
    (schemas.OrganizationPatch, {"name": None, "active": None, "email": "a@b"}),
]


def hostile_errors() -> list[dict]:
    found = []
    for model, body in HOSTILE_BODIES:
        with pytest.raises(ValidationError) as caught:
            model.model_validate(body)
        found += caught.value.errors(include_url=False)
    return found


def test_every_pydantic_error_our_schemas_raise_has_its_own_text():
    found = hostile_errors()
    types = {error["type"] for error in found}
    assert {"missing", "literal_error", "string_too_long", "greater_than", "float_parsing", "value_error"} <= types
    assert types - set(i18n.PYDANTIC_MESSAGES) == set()
    # Every model the pages and the API read is covered by the list above.
    models = {
        cls
        for _, cls in vars(schemas).items()
        if isinstance(cls, type)
        and issubclass(cls, BaseModel)
        and cls.__module__ == schemas.__name__
        and cls not in (schemas.Body, schemas.Patch, schemas.Placed, schemas.VolunteerFields, schemas.NeedIn)
    }
    assert models - {model for model, _ in HOSTILE_BODIES} == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_pydantic_messages_are_in_the_language(app, language):
    with app.test_request_context(f"/?lang={language}"):
        i18n.remember_language()
        messages = {i18n.validation_message(error) for error in hostile_errors()}
    assert len(messages) > 20
    for message in messages:
        assert english_words(message, language) == [], message
    assert i18n.NOT_VALID not in messages  # nothing fell back to the general sentence


# Areas a coordinator may paste, each broken in another way (geo's GeoError texts).
HOSTILE_AREAS = [
    [],
    {"type": "Point", "coordinates": [71, 51]},
    {"type": "Feature", "geometry": None},
    {"type": "MultiPolygon", "coordinates": []},
    {"type": "Polygon", "coordinates": []},
    {"type": "Polygon", "coordinates": "x"},
    {"type": "Polygon", "coordinates": [[[71, 51], [72, 51], [71, 51]]]},
    {"type": "Polygon", "coordinates": [[[71, 51], [72, 51], [72, 52], [71, 52.5]]]},
    {"type": "Polygon", "coordinates": [[[71, 51], [72, 51], ["x", 52], [71, 51]]]},
    {"type": "Polygon", "coordinates": [[[71, 95], [72, 51], [72, 52], [71, 95]]]},
    {"type": "Polygon", "coordinates": [[[200, 51], [72, 51], [72, 52], [200, 51]]]},
    {"type": "MultiPolygon", "coordinates": [[[[71, 51], [72, 51], [72, 52], [71, 51]]], [[[71, 51], [72]]]]},
    {"type": "Polygon", "coordinates": [[[71, 51], [72, 52], [72, 51], [71, 52], [71, 51]]]},
    {"type": "Polygon", "coordinates": [[[71 + i / 10**4, 51] for i in range(20_000)]]},
    {"type": "MultiPolygon", "coordinates": [[] for _ in range(10_000)]},
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_geo_area_errors_are_translated(app, language):
    texts = []
    for area in HOSTILE_AREAS:
        with pytest.raises(GeoError) as caught:
            parse_geojson_area(area)
        texts.append(str(caught.value))
    with app.test_request_context(f"/?lang={language}"):
        i18n.remember_language()
        for text in texts:
            message = i18n.value_error_message(text)
            assert message != str(i18n.NOT_VALID), f"no pattern for {text!r}"
            assert english_words(message, language) == [], (text, message)


@pytest.mark.parametrize("language", LANGUAGES)
def test_stored_english_reads_back_in_the_language(app, language):
    with app.test_request_context(f"/?lang={language}"):
        i18n.remember_language()
        for stored in (
            "12.3 km away, has the skill, available",
            "0.4 km away, any volunteer, available",
            "inside the area, has the skill, available",
            "inside the area, any volunteer, available",
        ):
            text = i18n.why_chosen(stored)
            assert english_words(text, language) == [] and "км" in text or "inside" in stored, text
        assert "12,3 км" in i18n.why_chosen("12.3 km away, has the skill, available")
        unfilled = i18n.unfilled_reason(
            "water_rescue: 2 of 3 open, nobody eligible within 12.5 km; "
            "any volunteer: 1 of 1 open, nobody eligible within 50 km"
        )
        assert english_words(unfilled, language) == [] and "12,5 км" in unfilled and "50 км" in unfilled
        assert english_words(i18n.unfilled_reason("something new"), language) == []
        assert english_words(i18n.why_chosen("something new"), language) == []
        assert i18n.number(12345.67, 2) == "12\xa0345,67"


# -- the pages, in Russian and Kazakh --------------------------------------------------------

FORM = {
    "kind": "flood",
    "title": "Подтопление",
    "lat": f"{ASTANA[0]}",
    "lon": f"{ASTANA[1]}",
    "radius_km": "10",
    "max_radius_km": "50",
    "severity": "severe",
    "need_skill_0": "",
    "need_count_0": "1",
}
HOSTILE_FORMS = [
    {"title": "", "lat": "north", "lon": "", "radius_km": "nan", "max_radius_km": "-3"},
    {"title": "Т" * 201, "lat": "95", "lon": "-200", "kind": "volcano", "severity": "apocalyptic"},
    {"radius_km": "0", "max_radius_km": "5000", "need_count_0": "0"},
    {"need_count_0": "1.5", "lat": "", "lon": ""},
    {"need_count_0": "", "area": "{not json"},
    {"area": json.dumps({"type": "Point", "coordinates": [71, 51]})},
    {"area": json.dumps({"type": "Polygon", "coordinates": [[[71, 51], [72, 51], [72, 52], [71, 52.5]]]})},
    {"area": json.dumps({"type": "Polygon", "coordinates": [[[71, 95], [72, 51], [72, 52], [71, 95]]]})},
    {"area": json.dumps({"type": "Polygon", "coordinates": [[[71, 51], [72, 52], [72, 51], [71, 52], [71, 51]]]})},
    {"radius_km": "30", "max_radius_km": "20", "action": "send", "previewed": "x"},
    {"need_skill_0": "s" * 40, "need_count_0": "501"},
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_incident_form_says_what_is_wrong_in_the_language(console, language):
    console.get(f"/console/?lang={language}")
    for changes in HOSTILE_FORMS:
        response = console.post_form("/console/incidents/new", {**FORM, "action": "preview", **changes})
        html = response.get_data(as_text=True)
        assert response.status_code in (400, 200), (changes, response.status_code)
        assert "field-error" in html or 'class="flash error"' in html, changes
        assert english_words(html, language) == [], (changes, english_words(html, language))
    assert db.session.scalar(select(Incident.id)) is None


CSV_HEADER = "name,phone,lat,lon,skills,language,max_distance_km,organization\n"
HOSTILE_CSV = CSV_HEADER + "\n".join(
    [
        "Айгүл,8 701 111 22 33,51.17,71.45,first_aid,kk,30,Құтқарушылар",
        ",8 701 111 22 34,51.17,71.45,first_aid,kk,,",
        "Арман,8 701 111 22 35,north,71.45,first_aid,kk,,",
        "Арман,8 701 111 22 36,95,200,first_aid,kk,,",
        "Арман,8 701 111 22 37,51.1,71.4,first_aid,de,0,",
        "Арман,8 701 111 22 38,51.1,71.4,first_aid,kk,5000,",
        "Арман,12345,51.1,71.4,first_aid,kk,,",
        "Арман,8 7172 55 55 55,51.1,71.4,first_aid,kk,,",
        "Арман,8 701 111 22 39,51.1,71.4,juggling;first_aid,kk,,",
        "Арман,8 701 111 22 33,51.1,71.4,first_aid,kk,,",
        "Арман,8 701 111 22 40,51.1,71.4,first_aid,kk,,,extra",
        "Арман,8 701 111 22 41,51.1,71.4,first_aid,kk,inf,",
        "Арман,8 701 111 22 42,51.1,71.4,first_aid,kk,," + "О" * 201,
        "Арман,8 701 111 22 43,51.1,71.4,first_aid,kk,,Белгісіз ұйым",
    ]
)


def upload(console, text: str):
    organization("Құтқарушылар")  # the first row's, known; the last row's is not
    data = {"file": (io.BytesIO(text.encode()), "people.csv"), "dry_run": "on"}
    return console.post_form("/console/volunteers/import", data, content_type="multipart/form-data")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_import_report_is_in_the_language(console, language):
    console.get(f"/console/?lang={language}")
    html = upload(console, HOSTILE_CSV).get_data(as_text=True)
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", html)
    assert [int(line) for line, _ in rows] == list(range(3, 16))
    columns = set(CSV_HEADER.strip().split(","))
    assert english_words(html, language, columns | {"juggling"}) == []  # the file's own words
    assert all(why for _, why in rows)
    for bad_header in ("", "name,telephone\nA,8 701 111 22 33\n", "\ufeffname;phone\n"):
        response = upload(console, bad_header)
        assert response.status_code == 400
        assert english_words(response.get_data(as_text=True), language, columns | {"telephone"}) == []


def test_the_import_report_in_english_keeps_its_details(console):
    html = upload(console, HOSTILE_CSV).get_data(as_text=True)
    assert "lat: must be a number" in html and "language: must be one of: kk, ru, en" in html
    assert "phone: phone +77011112233 already appears on line 2" in html
    assert "skills: unknown skill juggling" in html
    assert "organization: no organisation named “Белгісіз ұйым”: add it on the Organisations page first" in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_incident_page_reads_in_the_language(console, sms, language):
    swimmers = [volunteer(0.5 + i, bearing=90 * i, name=f"Пловец {i}", skills=("water_rescue",)) for i in range(4)]
    console.get(f"/console/?lang={language}")
    form = {
        **FORM,
        "need_skill_0": "water_rescue",
        "need_count_0": "1",
        "need_skill_1": "diver",
        "need_count_1": "2",
        "radius_km": "2.5",
        "max_radius_km": "2.5",
    }
    page = console.post_form("/console/incidents/new", {**form, "action": "preview"}).get_data(as_text=True)
    assert english_words(page, language) == []
    digest = re.search(r'name="previewed" value="([0-9a-f]+)"', page).group(1)
    response = console.post_form("/console/incidents/new", {**form, "action": "send", "previewed": digest})
    assert response.status_code == 302
    posted = db.session.scalar(select(Incident))
    alerts = db.session.scalars(select(Alert).order_by(Alert.id)).all()
    assert posted.status == "unfilled" and "nobody eligible" in posted.unfilled_reason  # the API's English
    code = posted.code
    receive_sms("SMi1", swimmers[0].phone, f"YES {code} 15")
    receive_sms("SMi2", swimmers[1].phone, f"NO {code}")
    receive_sms("SMi3", swimmers[2].phone, "YES 999")
    receive_sms("SMi4", swimmers[3].phone, "что?")
    html = console.get(f"/console/incidents/{posted.id}").get_data(as_text=True)
    assert len(alerts) >= 2 and "2,5 км" in html and "0,5 км" in html
    assert not re.search(r"\d\.\d", visible_text(html, language))  # decimal commas only
    assert english_words(html, language) == []
    assert str(i18n.OUTCOMES["accepted"]) != "accepted"
    for page in (
        "/console/",
        "/console/volunteers",
        "/console/inbox",
        "/console/volunteers/import",
        "/console/incidents/new",
        f"/console/incidents/{posted.id}/live",
    ):
        assert english_words(console.get(page).get_data(as_text=True), language) == [], page


@pytest.mark.parametrize("language", LANGUAGES)
def test_error_pages_are_in_the_language(console, language):
    volunteer(1, name="Сломанный номер", phone_problem="not_mobile")
    console.get(f"/console/?lang={language}")
    for path in ("/console/incidents/999999", "/console/incidents/999999/live", "/console/simulator/999999"):
        response = console.get(path)
        assert response.status_code == 404
        assert english_words(response.get_data(as_text=True), language) == [], path
    ended = console.post_form("/console/incidents/new", {**FORM, "action": "preview"})
    assert ended.status_code == 200
    assert english_words(console.get("/console/volunteers").get_data(as_text=True), language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_public_board_writes_numbers_and_cities_in_the_language(client, language):
    from tests.dispatch.factories import incident

    incident(title="Пожар", lat=51.16942, lon=71.44913)
    html = client.get(f"/?lang={language}").get_data(as_text=True)
    assert "51,17; 71,45" in html and not re.search(r"\d\.\d", visible_text(html, language))
    data = json.loads(
        re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.DOTALL).group(1)
    )
    cities = {city["name"] for city in data["map"]["cities"]}
    assert {"Астана", "Алматы"} <= cities and not any(re.search("[A-Za-z]", name) for name in cities)
    assert ("Өскемен" if language == "kk" else "Усть-Каменогорск") in cities
    assert data["map"]["decimal"] == "," and data["map"]["coordinates"] == "{lat}; {lon}"
    assert english_words(html, language) == []
    english = json.loads(
        re.search(r'id="page-data">(.*?)</script>', client.get("/?lang=en").get_data(as_text=True), re.DOTALL).group(1)
    )
    assert "Oskemen" in {city["name"] for city in english["map"]["cities"]} and english["map"]["decimal"] == "."


@pytest.mark.browser
def test_in_a_kazakh_browser_the_maps_and_numbers_are_kazakh(open_page):
    from playwright.sync_api import expect

    from dispatch.users import create_user
    from tests.dispatch.factories import incident

    from .conftest import PASSWORD

    volunteer(1, name="Жүзуші", skills=("water_rescue",))
    incident(title="Су тасқыны", lat=51.16942, lon=71.44913)
    create_user("kk@test.local", "coordinator", password=PASSWORD)
    db.session.commit()  # SQLite: hold no transaction while the server works
    board, _ = open_page(locale="kk-KZ")
    board.goto("/?lang=kk")
    expect(board.locator(".city-label", has_text="Қарағанды")).to_have_count(1)
    expect(board.locator(".city-label", has_text="Karaganda")).to_have_count(0)
    expect(board.locator("#live-note")).to_contain_text(re.compile(r"\d"))  # redrawn by status.js
    expect(board.locator("#incident-list")).to_contain_text("51,17; 71,45")

    console, _ = open_page(locale="kk-KZ")
    console.goto("/login?lang=kk")
    console.locator("#email").fill("kk@test.local")
    console.locator("#password").fill(PASSWORD)
    console.locator("#password").press("Enter")
    console.goto("/console/incidents/new")
    expect(console.locator(".city-label", has_text="Өскемен")).to_have_count(1)
    box = console.locator("#incident-map").bounding_box()
    console.locator("#incident-map").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert re.fullmatch(r"-?\d+,\d{5}", console.input_value("#lat")), console.input_value("#lat")
    console.locator("#title").fill("Су тасқыны")
    console.get_by_role("button", name="Кім хабарланатынын қарау").click()
    expect(console.locator(".preview")).to_be_visible()
    expect(console.locator(".field-error")).to_have_count(0)  # the comma is read back as a decimal


@pytest.mark.parametrize("language", LANGUAGES)
def test_control_characters_and_phone_letters_are_explained_in_the_language(app, language):
    from dispatch.schemas import CONTROL_CHARACTERS
    from notifications.phones import InvalidPhone, normalize_phone

    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("8 701 000 0ABC", "KZ")
    with app.test_request_context(f"/?lang={language}"):
        i18n.remember_language()
        for message in (i18n.value_error_message(CONTROL_CHARACTERS), i18n.field_problem(str(caught.value))):
            assert message not in (str(i18n.NOT_VALID), "")
            assert english_words(message, language) == [], message
