"""Responders on scene: ARRIVED / DONE / SAFE by SMS and by a coordinator, bad sequences, the
roll call, HELP from the scene, and the welfare check run by the scheduler's job (a fake clock:
the job is given `now`; deadlines live in the rows, so a new app instance picks them up)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from config import TestConfig
from dispatch import create_app, jobs, users
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.inbox import receive_sms
from dispatch.models import Activity, Alert, AuditEvent, OutboxMessage

from .factories import alerts_of, report, swimmers

_sid = iter(range(10**6))
COORDINATOR_PHONE = "+77017778899"


def text(volunteer, body: str):
    return receive_sms(f"SMscene{next(_sid):08d}", volunteer.phone, body)


def last_sms(volunteer) -> str:
    return db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.to_phone == volunteer.phone).order_by(OutboxMessage.id.desc())
    ).first()


def alert_of(incident_id: int, volunteer) -> Alert:
    found = [a for a in alerts_of(incident_id) if a.volunteer_id == volunteer.id]
    db.session.refresh(found[0])
    return found[0]


@pytest.fixture
def scene(client, auth):
    """An incident with two accepted responders (Russian and Kazakh)."""
    people = swimmers(2)
    people[1].language = "kk"
    db.session.commit()
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}])
    for person in people:
        assert text(person, f"ДА {incident['code']}").outcome == "accepted"
    return incident, people


def responders_of(client, auth, incident_id: int) -> dict[int, dict]:
    body = client.get(f"/api/v1/incidents/{incident_id}", headers=auth("viewer")).get_json()
    return {r["volunteer_id"]: r for r in body["responders"]}, body


def test_arrived_done_safe_by_sms_with_times_audit_and_answers(scene, client, auth):
    incident, (ru, kk) = scene
    assert text(ru, "Прибыл").outcome == "arrived"
    assert "ЗАКОНЧИЛ" in last_sms(ru)
    assert text(kk, f"келдім {incident['code']}").outcome == "arrived"
    assert "БІТІРДІМ" in last_sms(kk)
    people, body = responders_of(client, auth, incident["id"])
    assert people[ru.id]["status"] == "arrived" and people[ru.id]["arrived_at"].endswith("Z")
    assert people[ru.id]["left_at"] is None
    assert text(ru, "закончил").outcome == "left"
    assert "В ПОРЯДКЕ" in last_sms(ru)
    assert text(ru, "Я в порядке").outcome == "safe"
    people, _ = responders_of(client, auth, incident["id"])
    assert people[ru.id]["status"] == "safe" and people[ru.id]["left_at"] and people[ru.id]["safe_at"]
    assert people[kk.id]["status"] == "arrived"
    trail = [
        e["event"]
        for e in client.get(f"/api/v1/incidents/{incident['id']}/audit", headers=auth("coordinator")).get_json()[
            "items"
        ]
    ]
    assert {"responder_arrived", "responder_left", "responder_safe"} <= set(trail)
    # An activity record from ARRIVED to DONE, closed by DONE.
    record = db.session.scalar(select(Activity).where(Activity.volunteer_id == ru.id))
    assert record.source == "dispatch" and record.end_reason == "done" and record.verified
    assert record.ended_at >= record.started_at and record.skill == "water_rescue"


def test_the_webhook_reads_the_words(scene, text_in):
    incident, (ru, _) = scene
    assert text_in(ru.phone, "ARRIVED").status_code == 200
    assert alert_of(incident["id"], ru).arrived_at is not None


def test_arrived_with_no_accepted_call_out_is_answered_and_changes_nothing(app, sms):
    (stranger,) = swimmers(1)
    before = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
    inbound = text(stranger, "ПРИБЫЛ")
    assert inbound.outcome == "not_on_scene"
    assert "ДА" in last_sms(stranger) and "482" in last_sms(stranger)  # how to accept first, in Russian
    assert db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc())) == before
    assert db.session.scalar(select(Activity.id)) is None


def test_done_before_arrived_is_answered_and_changes_nothing(scene):
    incident, (ru, kk) = scene
    assert text(kk, "БІТІРДІМ").outcome == "not_arrived"
    assert "КЕЛДІМ" in last_sms(kk) and incident["code"] in last_sms(kk)
    alert = alert_of(incident["id"], kk)
    assert alert.arrived_at is None and alert.left_at is None
    assert db.session.scalar(select(Activity.id)) is None


def test_a_coordinator_sets_states_and_bad_sequences_are_409(scene, client, auth):
    incident, (ru, _) = scene
    url = f"/api/v1/incidents/{incident['id']}/responders/{ru.id}"
    done_first = client.post(url, json={"status": "done"}, headers=auth("coordinator"))
    assert done_first.status_code == 409 and done_first.get_json()["error"]["code"] == "NOT_ARRIVED"
    assert alert_of(incident["id"], ru).left_at is None
    assert client.post(url, json={"status": "arrived"}, headers=auth("viewer")).status_code == 403
    assert client.post(url, json={"status": "gone"}, headers=auth("coordinator")).status_code == 400
    arrived = client.post(url, json={"status": "arrived"}, headers=auth("coordinator"))
    assert arrived.status_code == 200 and arrived.get_json()["status"] == "arrived"
    left = client.post(url, json={"status": "done"}, headers=auth("coordinator"))
    assert left.get_json()["status"] == "done"
    again = client.post(url, json={"status": "arrived"}, headers=auth("coordinator"))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "ALREADY_LEFT"
    assert client.post(url, json={"status": "safe"}, headers=auth("coordinator")).get_json()["status"] == "safe"
    nobody = client.post(
        f"/api/v1/incidents/{incident['id']}/responders/999999", json={"status": "arrived"}, headers=auth("coordinator")
    )
    assert nobody.status_code == 404


def test_roll_call_counts(scene, client, auth, sms):
    incident, (ru, kk) = scene
    url = f"/api/v1/incidents/{incident['id']}/roll-call"
    empty = client.post(url, headers=auth("coordinator"))
    assert empty.status_code == 409 and empty.get_json()["error"]["code"] == "NOBODY_ON_SCENE"
    assert client.get(url, headers=auth("viewer")).get_json() == {
        "started_at": None,
        "asked": 0,
        "accounted": 0,
        "unaccounted": [],
    }
    text(ru, "на месте")
    text(kk, "келдім")
    started = client.post(url, headers=auth("coordinator"))
    assert started.status_code == 201
    assert started.get_json()["asked"] == 2 and sorted(started.get_json()["unaccounted"]) == sorted([ru.id, kk.id])
    assert "ПЕРЕКЛИЧКА" in last_sms(ru) and "ТҮГЕНДЕУ" in last_sms(kk)
    assert text(kk, f"аманмын {incident['code']}").outcome == "safe"
    state = client.get(url, headers=auth("viewer")).get_json()
    assert (state["asked"], state["accounted"], state["unaccounted"]) == (2, 1, [ru.id])
    # A DONE is not a SAFE: still unaccounted.
    text(ru, "DONE")
    assert client.get(url, headers=auth("viewer")).get_json()["unaccounted"] == [ru.id]


def test_help_from_the_scene_alerts_the_coordinator_at_once(scene, client, auth):
    incident, (ru, kk) = scene
    users.set_phone("coordinator@test.local", "8 701 777 88 99")
    text(ru, "ПРИБЫЛ")
    inbound = text(ru, "ПОМОЩЬ")
    assert inbound.outcome == "help_on_scene" and inbound.incident_id == incident["id"]
    to_coordinator = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_phone == COORDINATOR_PHONE)).all()
    assert len(to_coordinator) == 1 and ru.phone in to_coordinator[0].body and "ПОМОЩЬ" in to_coordinator[0].body
    assert "112" in last_sms(ru)
    _, body = responders_of(client, auth, incident["id"])
    assert body["help_requested"] == [ru.id]
    # HELP from someone not on scene is the help text, as before.
    assert text(kk, "КӨМЕК").outcome == "help"
    # SAFE clears the call for help.
    text(ru, "В ПОРЯДКЕ")
    assert responders_of(client, auth, incident["id"])[1]["help_requested"] == []


def end(client, auth, incident_id: int) -> None:
    assert client.post(f"/api/v1/incidents/{incident_id}/close", headers=auth("coordinator")).status_code == 200


def test_welfare_reminder_then_overdue_through_the_scheduler_job(scene, client, auth, app):
    incident, (ru, kk) = scene
    users.set_phone("coordinator@test.local", COORDINATOR_PHONE)
    check_s = app.config["WELFARE_CHECK_S"]
    text(ru, "ПРИБЫЛ")
    text(kk, "КЕЛДІМ")
    text(kk, "БІТІРДІМ")
    text(kk, "АМАНМЫН")  # safe after leaving: no welfare check for them
    end(client, auth, incident["id"])
    ended = utcnow()
    # Still on scene at the end: the open activity is closed, unverified.
    record = db.session.scalar(select(Activity).where(Activity.volunteer_id == ru.id))
    assert record.end_reason == "incident_ended" and not record.verified and record.ended_at is not None
    assert jobs.welfare_checks(now=ended + timedelta(seconds=check_s / 2 - 5))["welfare_reminded"] == 0
    assert jobs.welfare_checks(now=ended + timedelta(seconds=check_s / 2 + 5))["welfare_reminded"] == 1
    assert "В ПОРЯДКЕ" in last_sms(ru) and "Flood" in last_sms(ru)
    assert jobs.welfare_checks(now=ended + timedelta(seconds=check_s / 2 + 10))["welfare_reminded"] == 0  # once
    assert responders_of(client, auth, incident["id"])[1]["welfare_overdue"] == []
    done = jobs.welfare_checks(now=ended + timedelta(seconds=check_s + 5))
    assert done["welfare_overdue"] == 1
    assert responders_of(client, auth, incident["id"])[1]["welfare_overdue"] == [ru.id]
    to_coordinator = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.to_phone == COORDINATOR_PHONE)
    ).all()
    assert len(to_coordinator) == 1 and ru.name in to_coordinator[0]
    assert jobs.welfare_checks(now=ended + timedelta(seconds=check_s + 60))["welfare_overdue"] == 0  # once
    # Every console page shows it, until they answer SAFE.
    text(ru, "SAFE")
    assert responders_of(client, auth, incident["id"])[1]["welfare_overdue"] == []


def test_the_welfare_deadline_survives_a_scheduler_restart(scene, client, auth, app):
    incident, (ru, _) = scene
    text(ru, "ПРИБЫЛ")
    end(client, auth, incident["id"])
    alert = alert_of(incident["id"], ru)
    due, alert_id = alert.welfare_due_at, alert.id
    assert due is not None
    db.session.commit()
    db.session.remove()
    # Another process: a new app (its own engine and sessions), with another WELFARE_CHECK_S even:
    # the deadline is the row's.
    fresh = create_app(TestConfig.for_database(app.config["DATABASE_URL"], WELFARE_CHECK_S=999_999))
    try:
        with fresh.app_context():
            assert jobs.welfare_checks(now=due - timedelta(seconds=1))["welfare_overdue"] == 0
            assert jobs.welfare_checks(now=due + timedelta(seconds=1))["welfare_overdue"] == 1
            db.session.remove()
    finally:
        with fresh.app_context():
            db.engine.dispose()
    assert db.session.get(Alert, alert_id).welfare_overdue_at is not None


def test_an_activity_left_open_closes_after_12_hours_unverified(scene):
    incident, (ru, _) = scene
    text(ru, "ПРИБЫЛ")
    record = db.session.scalar(select(Activity).where(Activity.volunteer_id == ru.id))
    started = record.started_at
    assert record.ended_at is None
    assert jobs.welfare_checks(now=started + timedelta(hours=11))["activity_closed"] == 0
    assert jobs.welfare_checks(now=started + timedelta(hours=13))["activity_closed"] == 1
    db.session.refresh(record)
    assert record.ended_at == started + timedelta(hours=12) and record.end_reason == "timed_out"
    assert not record.verified and record.duration_s == 12 * 3600
