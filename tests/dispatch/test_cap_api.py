"""POST /api/v1/cap and POST /api/v1/incidents/{id}/dispatch: warnings become drafts, updates and
cancels follow the CAP references, drafts go out with needs; hostile XML is refused over HTTP
with nothing read from disk or network; the feed poller reads a loopback feed once per entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch import cap_feeds, warnings_in
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Alert, CapFeed, CapFeedEntry, Incident, OutboxMessage
from geo import Point, parse_geojson_area
from tests.cap.test_documents import BILLION_LAUGHS, external_entity
from tests.fakes.cap_feed_server import FakeCapFeed

from .factories import count, volunteer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cap"
XML = {"Content-Type": "application/cap+xml"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def post_cap(client, auth):
    def post(document: bytes, role: str = "coordinator", content_type: str = "application/cap+xml"):
        return client.post("/api/v1/cap", data=document, headers={**auth(role), "Content-Type": content_type})

    return post


def at(monkeypatch, when: datetime) -> None:
    """The service's clock for warnings (documents of the past are current then)."""
    monkeypatch.setattr(warnings_in, "utcnow", lambda: when)


def alert_doc(identifier: str, msg_type: str = "Alert", references: str = "", status: str = "Actual",
              headline: str = "Flood on the Ishim", severity: str = "Severe", polygon: str | None = None,
              expires: str = "2036-04-14T20:00:00+05:00") -> bytes:  # fmt: skip
    polygon = polygon or "51.10,71.30 51.10,71.55 51.20,71.55 51.20,71.30 51.10,71.30"
    refs = f"<references>{references}</references>" if references else ""
    info = (
        "<info><language>en-US</language><category>Met</category><event>Flood</event><urgency>Expected</urgency>"
        f"<severity>{severity}</severity><certainty>Likely</certainty><expires>{expires}</expires>"
        f"<headline>{headline}</headline><description>Water rising.</description>"
        f"<area><areaDesc>Ishim bank</areaDesc><polygon>{polygon}</polygon></area></info>"
    )
    return (
        '<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{identifier}</identifier><sender>kz@example.kz</sender><sent>2036-04-11T08:00:00+05:00</sent>"
        f"<status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}"
        f"{info if msg_type != 'Cancel' else ''}</alert>"
    ).encode()


REF = "kz@example.kz,{},2036-04-11T08:00:00+05:00"


def test_a_kazakh_warning_becomes_a_draft_with_its_area(post_cap, client, auth, sms):
    volunteer(km=2)
    response = post_cap(fixture("kazhydromet-flood-ishim-kk.xml"))
    assert response.status_code == 201, response.get_json()
    [incident] = response.get_json()["incidents"]
    assert incident["status"] == "draft" and incident["kind"] == "flood" and incident["severity"] == "severe"
    assert incident["title"] == "Есіл өзенінде су тасқыны қаупі, Астана маңы"
    assert incident["description"].startswith("Есіл өзенінде судың деңгейі")
    assert incident["source"] == {
        "type": "cap",
        "sender": "warnings@kazhydromet.example.kz",
        "identifier": "KZ.KAZHYDROMET.2036.04.11.0001",
        "sent": "2036-04-11T08:00:00+05:00",
    }
    assert incident["expires_at"] == "2036-04-14T15:00:00Z" and incident["drill"] is False
    area = parse_geojson_area(incident["area"])
    assert area.contains(Point(incident["lat"], incident["lon"]))
    assert area.contains(Point(51.15, 71.40)) and area.contains(Point(51.03, 71.50))  # polygon and circle
    assert not area.contains(Point(51.30, 71.40))
    # Nothing is sent, and the public board does not show drafts.
    assert count(Alert) == 0 and count(OutboxMessage) == 0
    assert client.get("/api/v1/status").get_json()["incidents"] == []
    listed = client.get("/api/v1/incidents?status=draft", headers=auth("viewer")).get_json()["items"]
    assert [i["id"] for i in listed] == [incident["id"]]


def test_the_same_warning_twice_changes_nothing(post_cap):
    first = post_cap(fixture("kazhydromet-storm-almaty-ru.xml"))
    again = post_cap(fixture("kazhydromet-storm-almaty-ru.xml"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["incidents"][0]["id"] == first.get_json()["incidents"][0]["id"]
    assert count(Incident) == 1
    storm = first.get_json()["incidents"][0]
    assert (storm["kind"], storm["severity"]) == ("storm", "extreme")
    assert storm["title"] == "Штормовое предупреждение по Алматинской области"


@pytest.mark.parametrize(
    ("name", "now", "kind", "severity", "title"),
    [
        ("metno-gale-2021-09-21.xml", datetime(2021, 9, 21, 8), "storm", "moderate", "Gale, yellow level"),
        (
            "nws-severe-thunderstorm-ksto.xml",
            datetime(2003, 6, 17, 22),
            "storm",
            "severe",
            "SEVERE THUNDERSTORM WARNING",
        ),
        ("eccc-air-quality-2022-10-10.xml", datetime(2022, 10, 10, 18), "other", "moderate", "special air quality"),
    ],
)
def test_real_documents_of_national_systems(post_cap, monkeypatch, name, now, kind, severity, title):
    at(monkeypatch, now)
    response = post_cap(fixture(name))
    assert response.status_code == 201, response.get_json()
    [incident] = response.get_json()["incidents"]
    assert (incident["kind"], incident["severity"], incident["status"]) == (kind, severity, "draft")
    assert incident["title"].startswith(title)


def test_an_expired_warning_creates_nothing(post_cap):
    response = post_cap(fixture("nws-severe-thunderstorm-ksto.xml"))  # expired in 2003
    assert response.status_code == 200 and response.get_json() == {"incidents": []}
    assert count(Incident) == 0


def test_an_update_changes_the_incident_it_references(post_cap):
    draft = post_cap(alert_doc("A-1")).get_json()["incidents"][0]
    wider = "51.00,71.20 51.00,71.70 51.30,71.70 51.30,71.20 51.00,71.20"
    response = post_cap(
        alert_doc("A-2", "Update", REF.format("A-1"), headline="Flood widening", severity="Extreme", polygon=wider)
    )
    assert response.status_code == 201
    [updated] = response.get_json()["incidents"]
    assert updated["id"] == draft["id"] and updated["title"] == "Flood widening" and updated["severity"] == "extreme"
    assert parse_geojson_area(updated["area"]).contains(Point(51.25, 71.65))
    assert count(Incident) == 1


def test_an_update_of_an_unknown_alert_is_a_new_alert(post_cap):
    response = post_cap(alert_doc("B-2", "Update", REF.format("B-1")))
    assert response.status_code == 201 and response.get_json()["incidents"][0]["status"] == "draft"


def test_a_cancel_dismisses_the_draft(post_cap):
    draft = post_cap(alert_doc("C-1")).get_json()["incidents"][0]
    response = post_cap(alert_doc("C-2", "Cancel", REF.format("C-1")))
    assert response.status_code == 201
    assert response.get_json()["incidents"][0]["id"] == draft["id"]
    assert db.session.get(Incident, draft["id"]).status == "cancelled"


def test_a_cancel_before_its_alert_keeps_the_late_alert_from_opening_an_incident(post_cap):
    assert post_cap(alert_doc("D-2", "Cancel", REF.format("D-1"))).status_code == 200
    late = post_cap(alert_doc("D-1"))
    assert late.status_code == 200 and late.get_json() == {"incidents": []}
    assert count(Incident) == 0


def test_exercise_and_test_are_drills(post_cap):
    for n, status in enumerate(("Exercise", "Test")):
        incident = post_cap(alert_doc(f"E-{n}", status=status)).get_json()["incidents"][0]
        assert incident["drill"] is True


def test_dispatching_a_draft_alerts_like_a_posted_incident_and_a_cancel_tells_volunteers(
    client, auth, post_cap, sms, run_outbox
):
    near = [volunteer(km=1, bearing=b, skills=("first_aid",)) for b in (0, 90)]
    draft = post_cap(
        alert_doc("F-1", polygon="51.15,71.40 51.15,71.50 51.19,71.50 51.19,71.40 51.15,71.40")
    ).get_json()["incidents"][0]
    url = f"/api/v1/incidents/{draft['id']}/dispatch"
    bad = client.post(url, json={"needs": []}, headers=auth("coordinator"))
    assert bad.status_code == 400 and db.session.get(Incident, draft["id"]).status == "draft"
    response = client.post(
        url, json={"needs": [{"skill": "first_aid", "count": 1}], "radius_km": 5}, headers=auth("coordinator")
    )
    assert response.status_code == 200, response.get_json()
    incident = response.get_json()
    assert incident["status"] == "dispatching" and len(incident["code"]) == 3 and incident["radius_km"] == 5
    assert incident["needs"] == [{"skill": "first_aid", "count": 1, "filled": 0}]
    alerted = {a.volunteer_id for a in db.session.scalars(select(Alert).where(Alert.incident_id == draft["id"]))}
    assert alerted and alerted <= {v.id for v in near}
    assert (
        client.post(url, json={"needs": [{"skill": None, "count": 1}]}, headers=auth("coordinator")).status_code == 409
    )
    called = {m.to for m in run_outbox()}
    assert called and called <= {v.phone for v in near}
    # The warning is cancelled: the incident is, and the volunteers called are told.
    assert post_cap(alert_doc("F-2", "Cancel", REF.format("F-1"))).status_code == 201
    assert db.session.get(Incident, draft["id"]).status == "cancelled"
    assert {m.to for m in run_outbox()} == called


def test_a_draft_dismissed_with_cancel(client, auth, post_cap):
    draft = post_cap(alert_doc("G-1")).get_json()["incidents"][0]
    response = client.post(f"/api/v1/incidents/{draft['id']}/cancel", headers=auth("coordinator"))
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"


def test_incidents_from_warnings_close_when_the_warning_expires(post_cap):
    draft = post_cap(alert_doc("H-1", expires="2036-04-14T20:00:00+05:00")).get_json()["incidents"][0]
    assert warnings_in.close_expired(now=datetime(2036, 4, 14, 14, 59)) == 0
    assert warnings_in.close_expired(now=datetime(2036, 4, 14, 15, 0)) == 1
    assert db.session.get(Incident, draft["id"]).status == "closed"


# --- Refused over HTTP ------------------------------------------------------------------------


def test_who_and_what_may_post(post_cap):
    assert post_cap(alert_doc("I-1"), role="viewer").status_code == 403
    assert post_cap(alert_doc("I-1"), content_type="application/json").status_code == 415
    invalid = post_cap(alert_doc("I-1", polygon="51,71 52,71 52,72"))
    assert invalid.status_code == 400 and invalid.get_json()["error"]["code"] == "INVALID_CAP"
    assert "at least 4" in invalid.get_json()["error"]["message"]
    assert count(Incident) == 0


@pytest.mark.parametrize("document", [BILLION_LAUGHS, external_entity("file:///etc/passwd")])
def test_hostile_xml_is_refused(post_cap, document):
    response = post_cap(document, content_type="application/xml")
    assert response.status_code == 400 and "DTD" in response.get_json()["error"]["message"]
    assert "root:" not in response.get_data(as_text=True)
    assert count(Incident) == 0


def test_an_external_entity_to_the_loopback_is_never_fetched(post_cap):
    with FakeCapFeed() as server:
        server.serve("/secret", b"secret")
        assert post_cap(external_entity(server.url("/secret"))).status_code == 400
        assert server.requests == []


def test_a_10_mb_body_is_413(post_cap):
    response = post_cap(b"<alert>" + b" " * (10 * 1024 * 1024) + b"</alert>")
    assert response.status_code == 413 and count(Incident) == 0


# --- The feed poller --------------------------------------------------------------------------

ATOM = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>KZ</title>
<entry><id>urn:kz:1</id><link href="/cap/1.xml" type="application/cap+xml"/></entry>
<entry><id>urn:kz:2</id><link href="{base}/cap/2.xml"/></entry>
<entry><id>urn:kz:3</id><link href="file:///etc/passwd"/></entry></feed>"""


@pytest.fixture
def feeds(app):
    saved = app.config["CAP_FEEDS"]
    with FakeCapFeed() as server:
        yield server
    app.config["CAP_FEEDS"] = saved


def test_the_poller_reads_an_atom_feed_once_per_entry_with_conditional_gets(app, feeds):
    feeds.serve("/feed", ATOM.format(base=feeds.base_url), "application/atom+xml", etag='"v1"')
    feeds.serve("/cap/1.xml", fixture("kazhydromet-flood-ishim-kk.xml"))
    feeds.serve("/cap/2.xml", fixture("kazhydromet-storm-almaty-ru.xml"))
    app.config["CAP_FEEDS"] = (feeds.url("/feed"),)
    assert cap_feeds.poll_feeds()["documents"] == 2
    assert sorted(i.kind for i in db.session.scalars(select(Incident))) == ["flood", "storm"]
    assert count(CapFeedEntry) == 2
    # Not due yet: nothing is read.
    feeds.requests.clear()
    assert cap_feeds.poll_feeds()["polled"] == 0 and feeds.requests == []
    # Due again: a conditional GET, answered 304; no entry is fetched twice.
    db.session.execute(CapFeed.__table__.update().values(next_poll_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    cap_feeds.poll_feeds()
    assert feeds.paths() == ["/feed"] and feeds.requests[0].headers.get("If-None-Match") == '"v1"'
    # A changed feed: its entries already processed are not fetched again.
    feeds.serve("/feed", ATOM.format(base=feeds.base_url), "application/atom+xml", etag='"v2"')
    db.session.execute(CapFeed.__table__.update().values(next_poll_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    feeds.requests.clear()
    cap_feeds.poll_feeds()
    assert feeds.paths() == ["/feed"] and count(Incident) == 2


def test_the_poller_backs_off_and_never_follows_a_redirect_off_http(app, feeds):
    feeds.serve("/feed", status=302, location="file:///etc/passwd")
    feeds.serve("/down", b"", status=503)
    app.config["CAP_FEEDS"] = (feeds.url("/feed"), feeds.url("/down"))
    assert cap_feeds.poll_feeds()["failed"] == 2
    states = {f.url: f for f in db.session.scalars(select(CapFeed))}
    assert "non-http" in states[feeds.url("/feed")].last_error
    down = states[feeds.url("/down")]
    assert down.failures == 1 and down.last_error == "HTTP 503"
    assert down.next_poll_at >= utcnow() + timedelta(seconds=app.config["CAP_POLL_S"])
    assert count(Incident) == 0


def test_a_feed_that_is_one_cap_document(app, feeds):
    feeds.serve("/one", fixture("kazhydromet-storm-almaty-ru.xml"))
    app.config["CAP_FEEDS"] = (feeds.url("/one"),)
    cap_feeds.poll_feeds()
    db.session.execute(CapFeed.__table__.update().values(next_poll_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    cap_feeds.poll_feeds()
    assert count(Incident) == 1


def test_the_scheduler_polls_cap_feeds_only_when_some_are_configured(app, feeds):
    from apscheduler.schedulers.background import BackgroundScheduler

    from dispatch import scheduler

    for urls, expected in (((), None), ((feeds.url("/feed"),), app.config["CAP_POLL_S"])):
        app.config["CAP_FEEDS"] = urls
        jobs = BackgroundScheduler()
        scheduler._add_jobs(jobs, app)
        job = jobs.get_job(scheduler.CAP_JOB)
        assert (job.trigger.interval.total_seconds() if job else None) == expected


def test_cap_settings_are_read_from_the_environment():
    from config import ConfigError, TestConfig

    config = TestConfig.for_database(
        "sqlite://", CAP_FEEDS="http://a.example/feed, https://b.example/cap.xml", CAP_POLL_S="30"
    )
    assert config.CAP_FEEDS == ("http://a.example/feed", "https://b.example/cap.xml") and config.CAP_POLL_S == 30
    assert TestConfig.for_database("sqlite://").CAP_FEEDS == ()
    with pytest.raises(ConfigError, match="CAP_FEEDS"):
        TestConfig.for_database("sqlite://", CAP_FEEDS="file:///etc/passwd")


def test_the_same_alert_committed_meanwhile_by_another_request_is_a_repeat(post_cap, monkeypatch):
    """Two posts of one document at once: the second one looked before the first committed, so
    its insert of the message loses the race; it answers as a repeat and adds nothing."""
    first = post_cap(alert_doc("R-1")).get_json()["incidents"][0]
    seen, looks = warnings_in._seen, []

    def not_yet_visible_the_first_time(sender, identifier):
        looks.append(identifier)
        return None if len(looks) == 1 else seen(sender, identifier)

    monkeypatch.setattr(warnings_in, "_seen", not_yet_visible_the_first_time)
    response = post_cap(alert_doc("R-1"))
    assert response.status_code == 200
    assert [i["id"] for i in response.get_json()["incidents"]] == [first["id"]]
    assert count(Incident) == 1
