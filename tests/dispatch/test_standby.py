"""Standby notices: the available volunteers in and near an incident's area are told to be ready
(no answer expected), once per volunteer and incident, quiet hours respected unless extreme, for
drafts and open incidents, never ended ones, at most a cap per call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from dispatch import standby, warnings_in
from dispatch.extensions import db
from dispatch.models import AuditEvent, OutboxMessage, StandbyNotice
from dispatch.outbox import PRIORITY

from .factories import ASTANA, incident, report, square_around, volunteer

# 02:00 in Almaty is 21:00 UTC the day before; 12:00 in Almaty is 07:00 UTC.
NIGHT = datetime(2026, 3, 1, 21, 0)
NOON = datetime(2026, 3, 2, 7, 0)


def notices(incident_id: int) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.incident_id == incident_id, OutboxMessage.kind == "standby_notice")
            .order_by(OutboxMessage.id)
        )
    )


def draft_over_astana(half_km: float = 3.0, severity: str = "severe", radius_km: float = 5.0):
    return incident(
        code="",
        status="draft",
        area_geojson=square_around(ASTANA, half_km),
        radius_km=radius_km,
        current_radius_km=radius_km,
        severity=severity,
        title="Паводок на Ишиме",
    )


def test_a_draft_tells_those_inside_and_near_the_area_once(client, auth, app):
    inside = volunteer(km=1, language="kk")
    near = volunteer(km=7, bearing=90, language="en")  # 4 km beyond the 3 km square: within radius 5
    far = volunteer(km=12, bearing=180)
    unavailable = volunteer(km=2, available=False)
    draft = draft_over_astana()
    headers = auth("coordinator")
    first = client.post(f"/api/v1/incidents/{draft.id}/standby", headers=headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"notified": 2, "already": 0, "skipped_quiet_hours": 0, "remaining": 0}
    sent = notices(draft.id)
    assert {m.volunteer_id for m in sent} == {inside.id, near.id}
    assert far.id not in {m.volunteer_id for m in sent} and unavailable.id not in {m.volunteer_id for m in sent}
    by_id = {m.volunteer_id: m for m in sent}
    assert "Жауап берудің қажеті жоқ" in by_id[inside.id].body  # in their language: no answer expected
    assert "No need to reply" in by_id[near.id].body and "Паводок на Ишиме" in by_id[near.id].body
    assert all(m.segments <= 2 and m.priority == PRIORITY["standby_notice"] > PRIORITY["alert"] for m in sent)
    # Twice: nobody is told again.
    second = client.post(f"/api/v1/incidents/{draft.id}/standby", headers=headers)
    assert second.get_json() == {"notified": 0, "already": 2, "skipped_quiet_hours": 0, "remaining": 0}
    assert len(notices(draft.id)) == 2
    shown = client.get(f"/api/v1/incidents/{draft.id}", headers=headers).get_json()
    assert shown["standby_notified"] == 2 and shown["status"] == "draft"
    audited = db.session.scalars(
        select(AuditEvent).where(AuditEvent.event == "standby_notified").order_by(AuditEvent.id)
    ).all()
    assert [e.details["notified"] for e in audited] == [2, 0]


def test_quiet_hours_are_respected_unless_extreme(app):
    sleeper = volunteer(km=1, quiet_from_min=22 * 60, quiet_to_min=7 * 60)
    awake = volunteer(km=2)
    draft = draft_over_astana()
    night = standby.notify_standby(draft.id, None, now=NIGHT)
    assert (night.notified, night.skipped_quiet_hours) == (1, 1)
    assert [m.volunteer_id for m in notices(draft.id)] == [awake.id]
    # Skipped is not told: in the morning the sleeper is reached, the other not again.
    morning = standby.notify_standby(draft.id, None, now=NOON)
    assert (morning.notified, morning.already, morning.skipped_quiet_hours) == (1, 1, 0)
    assert [m.volunteer_id for m in notices(draft.id)] == [awake.id, sleeper.id]

    severe_storm = draft_over_astana(severity="extreme")
    extreme = standby.notify_standby(severe_storm.id, None, now=NIGHT)
    assert (extreme.notified, extreme.skipped_quiet_hours) == (2, 0)


def test_open_incidents_too_and_those_already_called_out_count_as_told(client, auth, sms):
    called = volunteer(km=1, skills=("water_rescue",))
    other = volunteer(km=2, skills=("first_aid",))
    posted = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    answer = client.post(f"/api/v1/incidents/{posted['id']}/standby", headers=auth("coordinator")).get_json()
    assert answer == {"notified": 1, "already": 1, "skipped_quiet_hours": 0, "remaining": 0}
    assert [m.volunteer_id for m in notices(posted["id"])] == [other.id]
    assert called.id not in {n.volunteer_id for n in db.session.scalars(select(StandbyNotice))}


def test_ended_incidents_answer_409_and_tell_nobody(client, auth):
    volunteer(km=1)
    ended = incident(status="closed")
    response = client.post(f"/api/v1/incidents/{ended.id}/standby", headers=auth("coordinator"))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "INCIDENT_ENDED"
    assert notices(ended.id) == []
    assert client.post("/api/v1/incidents/99999/standby", headers=auth("coordinator")).status_code == 404
    assert client.post(f"/api/v1/incidents/{ended.id}/standby", headers=auth("viewer")).status_code == 403


def test_a_call_is_capped_nearest_first_and_the_next_call_goes_on(app):
    crowd = [volunteer(km=0.5 + i * 0.3, bearing=i * 40) for i in reversed(range(7))][::-1]
    draft = incident(code="", status="draft", radius_km=5.0, current_radius_km=5.0)  # no area: its point
    first = standby.notify_standby(draft.id, None, limit=3)
    assert (first.notified, first.remaining) == (3, 4)
    # The nearest three (created farthest first, so not by id).
    assert {m.volunteer_id for m in notices(draft.id)} == {v.id for v in crowd[:3]}
    second = standby.notify_standby(draft.id, None, limit=3)
    assert (second.notified, second.already, second.remaining) == (3, 3, 1)
    third = standby.notify_standby(draft.id, None, limit=3)
    assert (third.notified, third.already, third.remaining) == (1, 6, 0)
    assert db.session.scalar(select(func.count()).select_from(StandbyNotice)) == 7
    assert standby.MAX_NOTICES_PER_CALL == 5_000


def test_a_draft_without_an_area_uses_its_point_and_stays_a_draft(app):
    near = volunteer(km=3)
    volunteer(km=20)
    beyond_own_reach = volunteer(km=4, max_distance_km=2)
    draft = incident(code="", status="draft", radius_km=5.0, current_radius_km=5.0)
    assert standby.notify_standby(draft.id, None).notified == 1
    assert [m.volunteer_id for m in notices(draft.id)] == [near.id] and beyond_own_reach.id != near.id
    assert [d.id for d in warnings_in.drafts()] == [draft.id]  # nothing was dispatched
    assert "51.17,71.45" in notices(draft.id)[0].body  # the approximate place, as an alert says it
