"""The register of volunteer activity: manual records, verification and corrections audited with
a reason, filters and periods, HOURS by SMS, and minors never alerted."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from dispatch import matching
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from dispatch.models import Activity, AuditEvent, OutboxMessage
from dispatch.prefilter import is_minor
from geo import Point

from .factories import ASTANA, report, volunteer

_sid = iter(range(10**6))


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def enter(client, auth, volunteer_id: int, start: datetime, end: datetime, **extra):
    body = {
        "volunteer_id": volunteer_id,
        "activity": "Тренинг по первой помощи",
        "started_at": iso(start),
        "ended_at": iso(end),
        **extra,
    }
    return client.post("/api/v1/activity", json=body, headers=auth("coordinator"))


def test_a_manual_record_with_hours_and_its_listing(client, auth):
    person = volunteer(1, name="Айгерим", organization="Красный Полумесяц")
    end = utcnow() - timedelta(days=1)
    made = enter(client, auth, person.id, end - timedelta(hours=2, minutes=15), end, skill="first_aid", place="Астана")
    assert made.status_code == 201, made.get_json()
    row = made.get_json()
    assert row["hours"] == 2.25 and row["source"] == "manual" and row["verified"] is True
    assert row["organization"] == "Красный Полумесяц" and row["volunteer_name"] == "Айгерим"
    assert row["activity"] == "Тренинг по первой помощи" and row["incident"] is None
    listed = client.get(f"/api/v1/activity?volunteer_id={person.id}", headers=auth("viewer")).get_json()
    assert listed["total"] == 1 and listed["total_hours"] == 2.25 and listed["items"][0]["id"] == row["id"]
    by_org = client.get("/api/v1/activity?organization=Красный Полумесяц", headers=auth("viewer")).get_json()
    assert by_org["total"] == 1
    assert client.get("/api/v1/activity?organization=Other", headers=auth("viewer")).get_json()["total"] == 0


@pytest.mark.parametrize(
    ("start_offset", "length", "field"),
    [
        (timedelta(hours=-3), timedelta(hours=-1), "ended_at"),  # ends before it starts
        (timedelta(hours=-3), timedelta(0), "ended_at"),  # no length
        (timedelta(hours=-30), timedelta(hours=25), "ended_at"),  # over 24 h
        (timedelta(hours=2), timedelta(hours=1), "ended_at"),  # in the future
    ],
)
def test_bad_manual_records_are_400_and_change_nothing(client, auth, start_offset, length, field):
    person = volunteer(1)
    start = utcnow() + start_offset
    response = enter(client, auth, person.id, start, start + length)
    assert response.status_code == 400 and field in response.get_json()["error"]["details"]["fields"]
    assert db.session.scalar(select(Activity.id)) is None


def test_other_bad_input(client, auth):
    person = volunteer(1)
    end = utcnow() - timedelta(hours=1)
    assert enter(client, auth, 999999, end - timedelta(hours=1), end).status_code == 400
    assert enter(client, auth, person.id, end - timedelta(hours=1), end, skill="juggling").status_code == 400
    assert (
        client.post("/api/v1/activity", json={"volunteer_id": person.id}, headers=auth("coordinator")).status_code
        == 400
    )
    assert enter(client, auth, person.id, end - timedelta(hours=1), end).status_code == 201
    assert client.post("/api/v1/activity", json={}, headers=auth("viewer")).status_code == 403
    assert db.session.scalar(select(Activity.id).where(Activity.skill == "juggling")) is None


def test_period_filters_and_an_inverted_period(client, auth):
    person = volunteer(1)
    for days in (40, 10, 2):
        end = utcnow() - timedelta(days=days)
        assert enter(client, auth, person.id, end - timedelta(hours=1), end).status_code == 201
    since = (utcnow() - timedelta(days=20)).date().isoformat()
    recent = client.get(f"/api/v1/activity?from={since}", headers=auth("viewer")).get_json()
    assert recent["total"] == 2 and recent["total_hours"] == 2.0
    inverted = client.get("/api/v1/activity?from=2030-02-01&to=2030-01-01", headers=auth("viewer"))
    assert inverted.status_code == 400 and "inverted" in inverted.get_json()["error"]["message"]
    assert client.get("/api/v1/activity?from=yesterday", headers=auth("viewer")).status_code == 400
    # Bad values are refused, never silently ignored (exports and the region filter:
    # tests/dispatch/test_activity_exports.py; organisations: tests/dispatch/test_organizations.py).
    for query in ("format=pdf", "region=KZ-00", "organization_id=0"):
        refused = client.get(f"/api/v1/activity?{query}", headers=auth("viewer"))
        assert refused.status_code == 400, query


def test_patch_verifies_and_corrects_with_a_reason_kept_in_the_audit(client, auth):
    person = volunteer(1)
    end = utcnow() - timedelta(days=1)
    start = end - timedelta(hours=3)
    row = enter(client, auth, person.id, start, end).get_json()
    url = f"/api/v1/activity/{row['id']}"
    no_reason = client.patch(url, json={"ended_at": iso(end - timedelta(hours=1))}, headers=auth("coordinator"))
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["error"]["details"]["fields"]
    inverted = client.patch(
        url, json={"reason": "typo", "ended_at": iso(start - timedelta(hours=1))}, headers=auth("coordinator")
    )
    assert inverted.status_code == 400
    assert db.session.get(Activity, row["id"]).duration_s == 3 * 3600  # unchanged
    fixed = client.patch(
        url,
        json={"reason": "left at 17:00 by the sign-out sheet", "ended_at": iso(end - timedelta(hours=1))},
        headers=auth("coordinator"),
    )
    assert fixed.status_code == 200 and fixed.get_json()["hours"] == 2.0 and fixed.get_json()["corrected_at"]
    trail = client.get(f"{url}/audit", headers=auth("coordinator")).get_json()["items"]
    corrected = [e for e in trail if e["event"] == "activity_corrected"]
    assert len(corrected) == 1
    details = corrected[0]["details"]
    assert details["reason"] == "left at 17:00 by the sign-out sheet"
    assert details["before"]["ended_at"] == iso(end) and details["after"]["ended_at"] == iso(end - timedelta(hours=1))
    unverified = client.patch(
        url, json={"reason": "to be checked again", "verified": False}, headers=auth("coordinator")
    )
    assert unverified.get_json()["verified"] is False
    assert (
        client.patch(
            "/api/v1/activity/999999", json={"reason": "xyz", "verified": True}, headers=auth("coordinator")
        ).status_code
        == 404
    )
    assert (
        client.patch(url, json={"reason": "xyz"}, headers=auth("coordinator")).status_code == 400
    )  # nothing to change


def test_dispatch_activity_from_arrived_to_done_is_in_the_register(client, auth):
    person = volunteer(1, skills=("water_rescue",), organization="ДСО")
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    receive_sms(f"SMa{next(_sid)}", person.phone, "YES")
    receive_sms(f"SMa{next(_sid)}", person.phone, "ARRIVED")
    open_row = client.get(f"/api/v1/activity?incident_id={incident['id']}", headers=auth("viewer")).get_json()["items"][
        0
    ]
    assert open_row["ended_at"] is None and open_row["hours"] is None and open_row["source"] == "dispatch"
    assert open_row["incident"] == {"kind": "flood", "title": "Flood on the Ishim embankment"}
    assert open_row["activity"] == "Flood on the Ishim embankment" and open_row["organization"] == "ДСО"
    receive_sms(f"SMa{next(_sid)}", person.phone, "DONE")
    closed = client.get(f"/api/v1/activity/{open_row['id']}", headers=auth("viewer")).get_json()
    assert closed["ended_at"] and closed["hours"] == 0.0 and closed["verified"] is True


def test_hours_answers_with_this_year_and_the_last_30_days(client, auth):
    person = volunteer(1, language="kk")
    now = utcnow()
    db.session.add_all(
        [
            Activity(
                volunteer_id=person.id,
                started_at=now - timedelta(days=3),
                ended_at=now - timedelta(days=3) + timedelta(hours=2, minutes=30),
                duration_s=9000,
                source="manual",
                verified=True,
            ),
            Activity(
                volunteer_id=person.id,
                started_at=now - timedelta(days=400),
                ended_at=now - timedelta(days=400) + timedelta(hours=5),
                duration_s=18000,
                source="manual",
                verified=True,
            ),
        ]
    )
    # One within the year but over 30 days ago, unless the year is younger than that.
    older = now - timedelta(days=45)
    db.session.add(
        Activity(
            volunteer_id=person.id,
            started_at=older,
            ended_at=older + timedelta(hours=1),
            duration_s=3600,
            source="manual",
            verified=True,
        )
    )
    db.session.commit()
    inbound = receive_sms(f"SMh{next(_sid)}", person.phone, "САҒАТ")
    assert inbound.outcome == "hours"
    answer = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.kind == "hours")).one()
    in_year = older.year == now.year
    assert f"биыл {'3,5' if in_year else '2,5'} сағ" in answer and "30 күнде 2,5 сағ" in answer, answer


def test_hours_in_russian_and_english(client, auth):
    ru, en = volunteer(1, language="ru"), volunteer(2, language="en")
    receive_sms(f"SMh{next(_sid)}", ru.phone, "часы")
    receive_sms(f"SMh{next(_sid)}", en.phone, "HOURS")
    bodies = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.kind == "hours").order_by(OutboxMessage.id)
    ).all()
    assert "0 ч в этом году" in bodies[0] and "0 h this year" in bodies[1]


# -- minors ---------------------------------------------------------------------------------


def test_the_age_rule_on_the_day():
    now = datetime(2026, 3, 1, 6, 0)  # 11:00 in Almaty
    assert not is_minor(date(2008, 3, 1), now)  # 18 today
    assert is_minor(date(2008, 3, 2), now)  # 18 tomorrow
    assert not is_minor(None, now)
    # Born on 29 February: of age on 1 March in a year without one.
    assert is_minor(date(2008, 2, 29), datetime(2026, 2, 28, 12, 0))
    assert not is_minor(date(2008, 2, 29), datetime(2026, 3, 1, 12, 0))
    # The day in Almaty, not in UTC: 20:00 UTC on 28 Feb is already 1 March there.
    assert not is_minor(date(2008, 3, 1), datetime(2026, 2, 28, 20, 0))


def test_minors_are_never_alerted_and_explained(client, auth):
    adult = volunteer(2, skills=("water_rescue",))
    minor = volunteer(1, skills=("water_rescue",), birth_date=date.today() - timedelta(days=365 * 16))
    search = matching.Search(point=Point(*ASTANA), radius_km=10.0)
    assert [c.volunteer_id for c in matching.find_candidates(search)] == [adult.id]
    _, excluded = matching.explain(search)
    assert {e.volunteer_id: e.reason for e in excluded} == {minor.id: "minor"}
    preview = client.post(
        "/api/v1/candidates",
        json={"lat": ASTANA[0], "lon": ASTANA[1], "radius_km": 10, "explain": True},
        headers=auth("coordinator"),
    ).get_json()
    assert preview["excluded"] == {"minor": 1}
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    chosen = client.post(
        f"/api/v1/incidents/{incident['id']}/alerts", json={"volunteer_ids": [minor.id]}, headers=auth("coordinator")
    )
    assert chosen.status_code == 400 and "under 18" in chosen.get_json()["error"]["message"]
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.to_phone == minor.phone)) is None


def test_birth_date_in_the_api_and_the_csv(client, auth):
    body = {
        "name": "Ерлан",
        "phone": "+77015550001",
        "lat": ASTANA[0],
        "lon": ASTANA[1],
        "skills": [],
        "language": "kk",
        "birth_date": "2001-05-17",
    }
    made = client.post("/api/v1/volunteers", json=body, headers=auth("coordinator"))
    assert made.status_code == 201 and made.get_json()["birth_date"] == "2001-05-17"
    vid = made.get_json()["id"]
    future = client.patch(f"/api/v1/volunteers/{vid}", json={"birth_date": "2999-01-01"}, headers=auth("coordinator"))
    assert future.status_code == 400
    patched = client.patch(f"/api/v1/volunteers/{vid}", json={"birth_date": "2010-01-01"}, headers=auth("coordinator"))
    assert patched.get_json()["birth_date"] == "2010-01-01"
    csv = "name,phone,lat,lon,skills,language,birth_date\nАсель,+77015550002,51.1,71.4,first_aid,ru,1999-12-31\nБек,+77015550003,51.1,71.4,first_aid,ru,\nДана,+77015550004,51.1,71.4,first_aid,ru,31.12.99\n"
    imported = client.post(
        "/api/v1/volunteers/import", data=csv.encode(), headers={**auth("coordinator"), "Content-Type": "text/csv"}
    )
    report_ = imported.get_json()
    assert report_["created"] == 2 and [r["line"] for r in report_["rejected"]] == [4]
    born = client.get("/api/v1/volunteers?per_page=10", headers=auth("viewer")).get_json()["items"]
    assert {v["name"]: v["birth_date"] for v in born}["Асель"] == "1999-12-31"
    assert {v["name"]: v["birth_date"] for v in born}["Бек"] is None


def test_audit_of_manual_records(client, auth):
    person = volunteer(1)
    end = utcnow() - timedelta(hours=2)
    row = enter(client, auth, person.id, end - timedelta(hours=1), end).get_json()
    events = db.session.scalars(select(AuditEvent.event).where(AuditEvent.volunteer_id == person.id)).all()
    assert "activity_recorded" in events and row["verified"]
