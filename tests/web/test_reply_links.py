"""Reply links (/r/<token>): the link in every call-out SMS, the page in the volunteer's language,
answers by plain form posts that count once whatever the channel, and the defences (404 for any
other token, 429 for guessers, no action on GET, forged posts refused, private headers)."""

from __future__ import annotations

import hashlib
import math
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch import incidents, jobs, reply_links
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Alert, AuditEvent, InboundMessage, Incident, Need, OutboxMessage, User
from notifications.texts import MAX_SEGMENTS, count_segments
from tests.dispatch import conftest as dispatch_fixtures
from tests.dispatch.factories import ASTANA, volunteer

run_outbox, text_in = dispatch_fixtures.run_outbox, dispatch_fixtures.text_in  # the SMS side, as fixtures

LINK = re.compile(r"(https?://\S+)/r/([A-Za-z0-9_-]+)$")
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


# -- helpers ------------------------------------------------------------------------------------------


def report(client, auth, count: int = 1, **fields) -> dict:
    body = {
        "kind": "flood",
        "title": "Подтопление двора на Кенесары",
        "lat": ASTANA[0],
        "lon": ASTANA[1],
        "needs": [{"skill": None, "count": count}],
        **fields,
    }
    response = client.post("/api/v1/incidents", json=body, headers=auth("coordinator"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def link_of(alert: Alert) -> tuple[str, str]:
    """(base URL, token) of the reply link in the alert's call-out SMS."""
    body = db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.alert_id == alert.id, OutboxMessage.kind == "alert")
    )
    found = LINK.search(body)
    assert found, body
    return found.group(1), found.group(2)


def alert_of(person) -> Alert:
    return db.session.scalar(select(Alert).where(Alert.volunteer_id == person.id))


def called_out(client, auth, language: str = "ru", people: int = 1, count: int = 1, **fields):
    """Volunteers (nearest first), the incident and the nearest one's alert and token."""
    crowd = [volunteer(1 + i, bearing=40 * i, language=language, name=f"Volunteer {i}") for i in range(people)]
    incident = report(client, auth, count, **fields)
    alert = alert_of(crowd[0])
    return crowd, incident, alert, link_of(alert)[1]


def press(client, token: str, answer: str, eta: str | None = None, **headers):
    page = client.get(f"/r/{token}")
    assert page.status_code == 200, page.get_data(as_text=True)
    data = {"form_token": FORM_TOKEN.search(page.get_data(as_text=True)).group(1), "answer": answer}
    if eta is not None:
        data["eta_min"] = eta
    return client.post(f"/r/{token}", data=data, headers=headers)


def snapshot() -> dict:
    """Everything an answer could change."""

    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    state = {
        "alerts": sorted(db.session.execute(select(Alert.id, Alert.status, Alert.eta_min, Alert.responded_at)).all()),
        "filled": db.session.scalar(select(func.sum(Need.filled))),
        "incidents": sorted(db.session.execute(select(Incident.id, Incident.status)).all()),
        "outbox": count(OutboxMessage),
        "inbound": count(InboundMessage),
        "audit": count(AuditEvent),
    }
    db.session.commit()
    return state


def link_replies() -> list[InboundMessage]:
    return list(db.session.scalars(select(InboundMessage).where(InboundMessage.channel == "link")))


# -- the token and the SMS --------------------------------------------------------------------------------


def test_tokens_are_22_url_safe_characters_with_132_bits_of_entropy():
    tokens = [reply_links.new_token() for _ in range(3000)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", t) for t in tokens)
    assert len(set(tokens)) == len(tokens)
    assert len(reply_links.TOKEN_ALPHABET) == 64
    assert reply_links.TOKEN_LENGTH * math.log2(len(reply_links.TOKEN_ALPHABET)) >= 128
    # Every symbol in every position: 132 bits, not a narrower alphabet or a fixed part.
    assert set("".join(tokens)) == set(reply_links.TOKEN_ALPHABET)
    assert all(len({t[i] for t in tokens}) == 64 for i in range(22))


def test_every_call_out_carries_its_own_link_and_only_the_hash_is_stored(client, auth, app):
    _crowd, incident, _alert, _token = called_out(client, auth, people=3)
    alerts = db.session.scalars(select(Alert).where(Alert.incident_id == incident["id"])).all()
    assert len(alerts) == 3
    tokens = set()
    for alert in alerts:
        base, token = link_of(alert)
        assert base == app.config["PUBLIC_BASE_URL"]
        # Made with the alert and its SMS, in the same transaction; stored as SHA-256 only.
        assert alert.reply_token_hash == hashlib.sha256(token.encode()).hexdigest()
        row = db.session.execute(select(Alert.__table__).where(Alert.id == alert.id)).one()
        assert token not in [str(value) for value in row]
        assert reply_links.find_alert(token).id == alert.id
        tokens.add(token)
    assert len(tokens) == 3


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_a_call_out_with_its_link_at_a_long_base_url_stays_within_two_parts(client, auth, app, language):
    app.config["PUBLIC_BASE_URL"] = "https://dispatch.example.kz"
    try:
        volunteer(49, language=language, skills=("first_aid",))
        report(
            client,
            auth,
            kind="animal_rescue",
            drill=True,
            radius_km=50,
            max_radius_km=50,
            title="Пожар в многоэтажном жилом доме, эвакуация жильцов 5-9 этажей",
            needs=[{"skill": "first_aid", "count": 1}],
        )
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "alert"))
        assert message.segments <= MAX_SEGMENTS and count_segments(message.body).segments <= MAX_SEGMENTS
        found = LINK.search(message.body)
        assert found.group(1) == "https://dispatch.example.kz" and len(found.group(2)) == 22
    finally:
        app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"


def test_the_previews_show_a_link_of_the_real_length(client, auth, app):
    volunteer(3, skills=("water_rescue",))
    body = client.post(
        "/api/v1/candidates",
        headers=auth("coordinator"),
        json={
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "radius_km": 10,
            "skill": "water_rescue",
            "kind": "flood",
            "title": "Flood on the Ishim embankment",
        },
    ).get_json()
    for preview in body["sms_preview"]:
        found = LINK.search(preview["text"])
        assert found and found.group(1) == app.config["PUBLIC_BASE_URL"], preview
        assert len(found.group(2)) == reply_links.TOKEN_LENGTH
        assert preview["segments"] == count_segments(preview["text"]).segments <= MAX_SEGMENTS
    assert reply_links.find_alert(reply_links.PLACEHOLDER_TOKEN) is None


def test_the_console_preview_shows_the_link_too(console, app):
    from .test_console import INCIDENT_FORM

    volunteer(1, skills=("water_rescue",), language="kk")
    response = console.post_form("/console/incidents/new", {**INCIDENT_FORM, "action": "preview"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"{app.config['PUBLIC_BASE_URL']}/r/{reply_links.PLACEHOLDER_TOKEN}" in html
    assert "ИӘ 000" in html


# -- the page ---------------------------------------------------------------------------------------------------


def test_get_shows_the_call_out_and_changes_nothing(client, auth):
    _crowd, incident, _alert, token = called_out(client, auth, language="ru")
    before = snapshot()
    for _ in range(3):  # a link previewer, then the volunteer, then a reload
        page = client.get(f"/r/{token}")
        assert page.status_code == 200
    assert client.head(f"/r/{token}").status_code == 200
    assert snapshot() == before
    html = page.get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert "Наводнение: Подтопление двора на Кенесары" in html
    assert incident["code"] in html and "51.17,71.45" in html  # approximate place, never the exact point
    assert "51.16940" not in html
    assert "Можете приехать?" in html and "Да, еду" in html and "Нет, не могу" in html
    assert html.count('name="eta_min" value=') == 3 and "15 мин" in html and "60 мин" in html
    assert "<script" not in html


@pytest.mark.parametrize(
    ("volunteer_language", "browser", "expected", "absent"),
    [
        ("kk", "ru-RU,ru;q=0.9", "Келе аласыз ба?", "Можете приехать?"),
        ("ru", "kk-KZ,kk;q=0.9", "Можете приехать?", "Келе аласыз ба?"),
        ("en", "ru-RU,ru;q=0.9", "Can you come?", "Можете приехать?"),
    ],
)
def test_the_page_speaks_the_volunteers_language_not_the_browsers(
    client, auth, volunteer_language, browser, expected, absent
):
    _crowd, _incident, _alert, token = called_out(client, auth, language=volunteer_language)
    html = client.get(f"/r/{token}", headers={"Accept-Language": browser}).get_data(as_text=True)
    assert f'<html lang="{volunteer_language}">' in html
    assert expected in html and absent not in html
    if volunteer_language == "kk":
        text = re.sub(r"<[^>]+>", " ", html)  # what the volunteer reads
        for english in ("Can you come", "Where", "Posted", "min", "Call-out code", "km", "Yes", "No,"):
            assert english not in text
        assert "сізден 1 км" in html and "Су тасқыны" in html


def test_accept_with_an_eta_button_counts_and_shows_the_confirmation(client, auth, run_outbox):
    crowd, incident, alert, token = called_out(client, auth, language="ru", people=3)
    run_outbox()
    response = press(client, token, "accept", "30")
    assert response.status_code == 303 and response.headers["Location"] == f"/r/{token}"
    db.session.refresh(alert)
    assert (alert.status, alert.eta_min) == ("accepted", 30)
    assert db.session.scalar(select(Need.filled).where(Need.incident_id == incident["id"])) == 1
    [reply] = link_replies()
    assert (reply.body, reply.intent, reply.outcome, reply.volunteer_id, reply.incident_id) == (
        f"ДА {incident['code']} 30",
        "accept",
        "accepted",
        crowd[0].id,
        incident["id"],
    )
    # The confirmation SMS with the exact place goes out as for a YES by SMS; the others stand down.
    sent = run_outbox()
    assert any(m.to == crowd[0].phone and "51.16940,71.44910" in m.body for m in sent)
    assert {a.status for a in db.session.scalars(select(Alert).where(Alert.id != alert.id))} == {"stood_down"}
    html = client.get(f"/r/{token}").get_data(as_text=True)
    assert "Вы приняли вызов" in html and "примерно через 30 мин" in html and "51.16940,71.44910" in html
    # No answer forms any more: the one form left is the on-scene button (test_reply_scene.py).
    assert 'name="answer"' not in html and html.count("<form") == 1 and 'value="arrived"' in html
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth("viewer")).get_json()
    assert [(r["volunteer_id"], r["eta_min"]) for r in detail["responders"]] == [(crowd[0].id, 30)]


@pytest.mark.parametrize(("typed", "eta"), [("45", 45), ("", None), (" 7 ", 7)])
def test_accept_with_a_typed_eta_or_none(client, auth, typed, eta):
    _crowd, _incident, alert, token = called_out(client, auth)
    assert press(client, token, "accept", typed).status_code == 303
    db.session.refresh(alert)
    assert (alert.status, alert.eta_min) == ("accepted", eta)


@pytest.mark.parametrize("typed", ["0", "1441", "-5", "abc", "1.5", "٣٠", "99999999999999999999"])
def test_a_bad_eta_is_400_and_changes_nothing(client, auth, typed):
    _crowd, _incident, _alert, token = called_out(client, auth)
    before = snapshot()
    response = press(client, token, "accept", typed)
    assert response.status_code == 400
    assert "Минуты — целое число от 1 до 1440." in response.get_data(as_text=True)
    assert snapshot() == before


def test_decline_is_replaced_at_once(client, auth):
    _crowd, incident, alert, token = called_out(client, auth, people=5)
    queued_before = {a.volunteer_id for a in db.session.scalars(select(Alert))}
    assert press(client, token, "decline").status_code == 303
    db.session.refresh(alert)
    assert alert.status == "declined"
    after = {a.volunteer_id for a in db.session.scalars(select(Alert))}
    assert len(after - queued_before) == 1  # the next nearest is called out in the same transaction
    [reply] = link_replies()
    assert (reply.body, reply.intent, reply.outcome) == (f"НЕТ {incident['code']}", "decline", "declined")
    assert "Вы отказались от этого вызова" in client.get(f"/r/{token}").get_data(as_text=True)


def test_an_answer_without_a_button_is_400(client, auth):
    _crowd, _incident, _alert, token = called_out(client, auth)
    before = snapshot()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    form_token = FORM_TOKEN.search(page).group(1)
    for data in ({"form_token": form_token}, {"form_token": form_token, "answer": "maybe"}):
        response = client.post(f"/r/{token}", data=data)
        assert response.status_code == 400 and "нажмите одну из кнопок" in response.get_data(as_text=True)
    assert snapshot() == before


# -- once, whatever the channel ---------------------------------------------------------------------------------


def test_link_then_sms_counts_once(client, auth, run_outbox, text_in):
    crowd, incident, alert, token = called_out(client, auth)
    run_outbox()
    assert press(client, token, "accept", "15").status_code == 303
    text_in(crowd[0].phone, f"YES {incident['code']} 60")
    db.session.refresh(alert)
    assert (alert.status, alert.eta_min) == ("accepted", 15)
    accepted_events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.event == "alert_accepted")
    )
    assert accepted_events == 1
    assert db.session.scalar(select(Need.filled).where(Need.incident_id == incident["id"])) == 1
    [sms] = db.session.scalars(select(InboundMessage).where(InboundMessage.channel == "sms")).all()
    assert sms.outcome == "already_accepted"
    assert len(link_replies()) == 1


def test_sms_then_link_counts_once_and_the_page_says_so(client, auth, run_outbox, text_in):
    crowd, incident, alert, token = called_out(client, auth)
    run_outbox()
    text_in(crowd[0].phone, f"YES {incident['code']} 20")
    before = snapshot()
    html = client.get(f"/r/{token}").get_data(as_text=True)
    assert "Вы приняли вызов" in html and "примерно через 20 мин" in html and 'name="answer"' not in html
    # A page opened before the SMS answer still posts: it changes nothing and shows what happened.
    for answer in ("accept", "decline"):
        response = client.post(
            f"/r/{token}", data={"form_token": reply_links_form_token(client, alert), "answer": answer, "eta_min": "60"}
        )
        assert response.status_code == 303
    assert snapshot() == before
    db.session.refresh(alert)
    assert (alert.status, alert.eta_min) == ("accepted", 20)
    assert link_replies() == []


def reply_links_form_token(client, alert) -> str:
    """A form token as a page opened while the alert was pending carried it."""
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(client.application.secret_key, salt="reply-link-form").dumps(alert.reply_token_hash)


def _expire(alert: Alert) -> None:
    alert.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    jobs.expire_alerts()


@pytest.mark.parametrize(
    ("ending", "state", "says"),
    [
        ("expired", "expired", "Время ответа на этот вызов истекло"),
        ("filled", "stood_down", "Все места заняты"),
        ("closed", "stood_down", "Этот вызов закрыт"),
        ("cancelled", "stood_down", "Этот вызов отменён"),
        ("declined_by_sms", "declined", "Вы отказались от этого вызова"),
    ],
)
def test_an_alert_no_longer_pending_shows_what_happened_and_changes_nothing(
    client, auth, run_outbox, text_in, ending, state, says
):
    crowd, incident, alert, token = called_out(client, auth, people=3)
    run_outbox()
    form_token = reply_links_form_token(client, alert)
    if ending == "expired":
        _expire(alert)
    elif ending == "filled":
        text_in(crowd[1].phone, "YES")
    elif ending == "declined_by_sms":
        text_in(crowd[0].phone, "NO")
    else:
        coordinator = db.session.scalar(select(User).where(User.role == "coordinator"))
        incidents.end_incident(incident["id"], ending, coordinator)
        db.session.commit()
    db.session.refresh(alert)
    assert alert.status == state
    before = snapshot()
    html = client.get(f"/r/{token}").get_data(as_text=True)
    assert says in html and "<form" not in html
    for answer in ("accept", "decline"):
        response = client.post(f"/r/{token}", data={"form_token": form_token, "answer": answer, "eta_min": "15"})
        assert response.status_code == 303
        assert says in client.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot() == before
    assert link_replies() == []


def test_the_incident_page_shows_the_answer_and_its_channel(console):
    from dispatch.users import issue_token

    headers = {"Authorization": f"Bearer {issue_token('coord@test.local')}"}
    person = volunteer(1, language="en", name="Aigerim Link")
    response = console.post(
        "/api/v1/incidents",
        headers=headers,
        json={
            "kind": "fire",
            "title": "Grass fire",
            "lat": ASTANA[0],
            "lon": ASTANA[1],
            "needs": [{"skill": None, "count": 1}],
        },
    )
    incident = response.get_json()
    _base, token = link_of(alert_of(person))
    assert press(console, token, "accept", "30").status_code == 303
    html = console.get(f"/console/incidents/{incident['id']}").get_data(as_text=True)
    assert "Aigerim Link" in html and f"YES {incident['code']} 30" in html and "via reply link" in html
    html = console.get(f"/console/incidents/{incident['id']}?lang=ru").get_data(as_text=True)
    assert "ответ по ссылке" in html


# -- unknown tokens, guessing, forged posts, headers -----------------------------------------------------------------


def test_unknown_or_altered_tokens_are_the_same_404(client, auth):
    _crowd, _incident, _alert, token = called_out(client, auth)
    before = snapshot()
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    candidates = [
        reply_links.new_token(),
        flipped,
        token[:-1],
        token + "A",
        token.upper() if token.upper() != token else token.lower(),
        "x" * 22,
        "ж" * 22,
        "a" * 300,
    ]
    bodies = set()
    for bad in candidates:
        response = client.get(f"/r/{bad}")
        assert response.status_code == 404, bad
        bodies.add(response.get_data())
        assert client.post(f"/r/{bad}", data={"answer": "accept"}).status_code == 404
    assert len(bodies) == 1
    assert "This link does not work" in bodies.pop().decode()
    after = snapshot()
    # Only the failure counts were added (one audit row per request), nothing else.
    assert after["audit"] - before["audit"] == 2 * len(candidates)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}


def test_guessing_is_refused_with_429_per_address(client, auth):
    _crowd, _incident, alert, token = called_out(client, auth)
    guesser = {"REMOTE_ADDR": "198.51.100.7"}
    for _ in range(reply_links.MAX_UNKNOWN_PER_ADDRESS):
        assert client.get(f"/r/{reply_links.new_token()}", environ_base=guesser).status_code == 404
    audit_rows = snapshot()["audit"]
    refused = client.get(f"/r/{reply_links.new_token()}", environ_base=guesser)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "900"
    assert refused.headers["Cache-Control"] == "no-store"
    # Once over the limit the address learns nothing, not even about a real token, and writes nothing.
    assert client.get(f"/r/{token}", environ_base=guesser).status_code == 429
    assert client.post(f"/r/{token}", data={"answer": "accept"}, environ_base=guesser).status_code == 429
    assert snapshot()["audit"] == audit_rows
    # Another address is not affected; and the window passes.
    assert client.get(f"/r/{token}", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.event == reply_links.UNKNOWN_EVENT)):
        event.at -= reply_links.UNKNOWN_WINDOW
    db.session.commit()
    assert client.get(f"/r/{token}", environ_base=guesser).status_code == 200
    db.session.refresh(alert)
    assert alert.status in ("queued", "sent")


def test_posts_without_this_pages_form_token_or_from_another_site_change_nothing(client, auth):
    crowd, _incident, _alert, token = called_out(client, auth, people=2)
    other_token = link_of(alert_of(crowd[1]))[1]
    other_form = FORM_TOKEN.search(client.get(f"/r/{other_token}").get_data(as_text=True)).group(1)
    good_form = FORM_TOKEN.search(client.get(f"/r/{token}").get_data(as_text=True)).group(1)
    before = snapshot()
    for data in (
        {"answer": "accept"},
        {"answer": "accept", "form_token": "forged"},
        {"answer": "accept", "form_token": other_form},
    ):
        response = client.post(f"/r/{token}", data=data)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "Страница устарела" in html and FORM_TOKEN.search(html)  # a fresh form to press again
    for headers in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
    ):
        response = client.post(f"/r/{token}", data={"answer": "accept", "form_token": good_form}, headers=headers)
        assert response.status_code == 403 and "не с этой страницы" in response.get_data(as_text=True)
    assert snapshot() == before
    # What a browser sends on this page's own form (no-referrer makes the Origin "null").
    response = client.post(
        f"/r/{token}",
        data={"answer": "accept", "form_token": good_form},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
    )
    assert response.status_code == 303


def test_private_headers_no_cookie_and_nothing_from_elsewhere(client, auth):
    _crowd, _incident, _alert, token = called_out(client, auth)
    responses = [
        client.get(f"/r/{token}"),
        client.get(f"/r/{reply_links.new_token()}"),
        press(client, token, "accept", "30"),
        client.get(f"/r/{token}"),
    ]
    for response in responses:
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        # A first-time visitor needs no cookie, and gets none.
        assert "Set-Cookie" not in response.headers
    for response in (responses[0], responses[3]):
        html = response.get_data(as_text=True)
        urls = re.findall(r'(?:src|href|action)="([^"]*)"', html)
        assert urls and all(u.startswith(("/", "geo:")) for u in urls), urls


def test_simultaneous_answers_by_link_and_by_sms_count_once(client, auth, migrated_app):
    from dispatch import inbox

    crowd, incident, alert, _token = called_out(client, auth, people=2)
    alert_id, phone, code = alert.id, crowd[0].phone, incident["code"]
    db.session.commit()  # SQLite: hold no transaction while the threads work
    start = threading.Barrier(4)
    errors: list[str] = []

    def answer(how: str, i: int) -> None:
        try:
            with migrated_app.app_context():
                start.wait()
                if how == "link":
                    reply_links.answer(alert_id, True, 15)
                else:
                    inbox.receive_sms(f"SM{i:032d}", phone, f"YES {code}")
                db.session.remove()
        except Exception as exc:  # pragma: no cover - asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=answer, args=(how, i)) for i, how in enumerate(("link", "link", "sms", "sms"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    db.session.refresh(alert)
    assert alert.status == "accepted"
    assert db.session.scalar(select(Need.filled).where(Need.incident_id == incident["id"])) == 1
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event == "alert_accepted")) == 1
    )
    assert len(link_replies()) <= 1
