"""The dispatch loop through HTTP and signed webhooks: waves, replies, fills, stand-downs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch import jobs
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import AuditEvent, InboundMessage, Incident, Volunteer
from notifications.gateway import SmsPermanent

from .factories import alerts_of, by_status, queued, report, swimmers, volunteer


def test_first_wave_is_need_over_acceptance_nearest_first(client, auth, run_outbox):
    people = swimmers(10)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}])
    # ceil(2 / 0.35) = 6: the six nearest are alerted, nobody else.
    assert incident["alerts"]["queued"] == 6
    sent = run_outbox()
    assert [m.to for m in sent] == [v.phone for v in people[:6]]
    assert by_status(incident["id"], "sent") == [v.id for v in people[:6]]
    body = sent[0].body
    assert incident["code"] in body
    assert "51.16940" not in body  # the exact point goes only to those who accept
    assert sent[0].validity_s == 600 and sent[0].status_callback.endswith("/sms/status")


def test_one_alert_per_volunteer_even_with_several_needed_skills(client, auth, run_outbox):
    both = volunteer(1, skills=("water_rescue", "first_aid"))
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}, {"skill": "first_aid", "count": 1}])
    assert [a.volunteer_id for a in alerts_of(incident["id"])] == [both.id]
    assert [m.to for m in run_outbox()] == [both.phone]


def test_a_decline_is_replaced_at_once(client, auth, run_outbox, text_in):
    people = swimmers(8)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])  # ceil(1/0.35) = 3
    run_outbox()
    text_in(people[0].phone, "NO")
    assert by_status(incident["id"], "declined") == [people[0].id]
    assert by_status(incident["id"], "queued") == [people[3].id]
    sent = run_outbox()
    assert {m.to for m in sent} == {people[0].phone, people[3].phone}  # the ack, and the replacement


def test_silence_expires_and_is_replaced(client, auth, run_outbox, app):
    people = swimmers(5)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    run_outbox()
    first = alerts_of(incident["id"])[0]
    assert first.expires_at == first.sent_at + timedelta(seconds=app.config["ALERT_TIMEOUT_S"])
    first.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert jobs.expire_alerts() == 1
    assert by_status(incident["id"], "expired") == [people[0].id]
    assert by_status(incident["id"], "queued") == [people[3].id]


def test_an_alert_not_yet_sent_never_expires(client, auth, app):
    swimmers(3)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    assert all(a.expires_at is None for a in alerts_of(incident["id"]))
    assert jobs.expire_alerts() == 0


def test_failed_delivery_is_replaced(client, auth, run_outbox, status_in, sms):
    people = swimmers(6)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    sent = run_outbox()
    assert status_in(sent[1].provider_id, "undelivered", "30003").status_code == 200
    assert by_status(incident["id"], "failed") == [people[1].id]
    assert by_status(incident["id"], "queued") == [people[3].id]


def test_an_invalid_number_fails_for_good_flags_the_volunteer_and_is_replaced(client, auth, run_outbox, sms):
    people = swimmers(6)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    sms.fail_next(SmsPermanent("The 'To' number is not valid", code=21211, status=400, reason="invalid_number"))
    run_outbox()
    db.session.expire_all()
    assert db.session.get(Volunteer, people[0].id).phone_problem == "invalid_number"
    assert by_status(incident["id"], "failed") == [people[0].id]
    assert people[3].id in by_status(incident["id"], "queued") + by_status(incident["id"], "sent")


def test_the_radius_widens_when_the_pool_runs_dry(client, auth):
    far = [volunteer(km=14 + i, bearing=i * 90, skills=("water_rescue",)) for i in range(3)]
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}], radius_km=10, max_radius_km=40)
    assert incident["current_radius_km"] > 10
    assert sorted(a.volunteer_id for a in alerts_of(incident["id"])) == sorted(v.id for v in far)
    events = [e.event for e in db.session.scalars(select(AuditEvent).where(AuditEvent.incident_id == incident["id"]))]
    assert "radius_widened" in events
    assert incident["status"] == "dispatching"


def test_unfilled_when_nobody_is_left_within_the_largest_radius(client, auth):
    volunteer(km=60, skills=("water_rescue",))
    volunteer(km=2, skills=("first_aid",))
    incident = report(
        client,
        auth,
        [{"skill": "water_rescue", "count": 2}, {"skill": "first_aid", "count": 1}],
        radius_km=10,
        max_radius_km=30,
    )
    assert incident["status"] == "unfilled"
    assert incident["current_radius_km"] == 30
    assert "water_rescue: 2 of 2 open" in incident["unfilled_reason"]
    assert "first_aid" not in incident["unfilled_reason"]


def test_fill_confirms_with_the_exact_place_then_stands_the_rest_down(client, auth, run_outbox, text_in):
    people = swimmers(6)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}])
    run_outbox()
    text_in(people[2].phone, f"YES {incident['code']} 20 min")
    confirmation = run_outbox()
    assert [m.to for m in confirmation] == [people[2].phone]
    assert "51.16940,71.44910" in confirmation[0].body
    text_in(people[4].phone, "да")
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth("viewer")).get_json()
    assert detail["status"] == "staffed"
    assert detail["needs"] == [{"skill": "water_rescue", "count": 2, "filled": 2}]
    assert [(r["volunteer_id"], r["eta_min"]) for r in detail["responders"]] == [
        (people[2].id, 20),
        (people[4].id, None),
    ]
    stood_down = by_status(incident["id"], "stood_down")
    assert sorted(stood_down) == sorted(v.id for v in (people[0], people[1], people[3], people[5]))
    sent = run_outbox()
    assert sorted(m.to for m in sent) == sorted(
        [people[4].phone] + [v.phone for v in (people[0], people[1], people[3], people[5])]
    )
    # A late YES: already filled, thank you, you are on standby.
    text_in(people[0].phone, "YES")
    late = run_outbox()
    assert [m.to for m in late] == [people[0].phone]
    assert by_status(incident["id"], "accepted") == [people[2].id, people[4].id]
    assert db.session.get(Incident, incident["id"]).needs[0].filled == 2


def test_the_acceptor_fills_the_need_where_their_skill_is_scarcest(client, auth, text_in):
    volunteer(1, skills=("first_aid",))
    volunteer(1.5, skills=("first_aid",))
    both = volunteer(2, skills=("first_aid", "diver"))
    incident = report(client, auth, [{"skill": "first_aid", "count": 1}, {"skill": "diver", "count": 1}])
    text_in(both.phone, "YES")
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth("viewer")).get_json()
    assert {n["skill"]: n["filled"] for n in detail["needs"]} == {"first_aid": 0, "diver": 1}


def test_a_bare_yes_with_two_pending_asks_which_and_changes_nothing(client, auth, run_outbox, text_in):
    person = volunteer(1, skills=("water_rescue", "first_aid"))
    first = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    second = report(client, auth, [{"skill": "first_aid", "count": 1}], kind="fire", title="Grass fire")
    run_outbox()
    text_in(person.phone, "YES")
    question = run_outbox()
    assert len(question) == 1 and first["code"] in question[0].body and second["code"] in question[0].body
    assert by_status(first["id"], "sent") == [person.id] and by_status(second["id"], "sent") == [person.id]
    text_in(person.phone, f"ИӘ {second['code']}")
    assert by_status(second["id"], "accepted") == [person.id]
    assert by_status(first["id"], "sent") == [person.id]


def test_close_tells_accepted_and_pending_and_stops_alerting(client, auth, run_outbox, text_in):
    people = swimmers(6)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}])
    run_outbox()
    text_in(people[0].phone, "YES")
    run_outbox()
    response = client.post(f"/api/v1/incidents/{incident['id']}/close", headers=auth("coordinator"))
    assert response.status_code == 200 and response.get_json()["status"] == "closed"
    told = run_outbox()
    assert sorted(m.to for m in told) == sorted(v.phone for v in people[:6])
    # Nothing more goes out: a decline is not replaced, a late YES is answered politely.
    text_in(people[1].phone, "NO")
    text_in(people[2].phone, "YES")
    after = run_outbox()
    assert sorted(m.to for m in after) == sorted([people[1].phone, people[2].phone])
    assert len(alerts_of(incident["id"])) == 6
    assert client.post(f"/api/v1/incidents/{incident['id']}/close", headers=auth("coordinator")).status_code == 409


def test_cancel_before_any_alert_went_out_texts_nobody(client, auth, run_outbox, sms):
    people = swimmers(4)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    client.post(f"/api/v1/incidents/{incident['id']}/cancel", headers=auth("coordinator"))
    assert run_outbox() == []  # the alerts were still queued: they are dropped, nobody was bothered
    assert set(by_status(incident["id"], "stood_down")) == {v.id for v in people[:3]}
    assert {m.status for m in queued(incident_id=incident["id"], kind="alert")} == {"cancelled"}


def test_cancel_after_the_alerts_went_out_sends_the_cancelled_text(client, auth, run_outbox, text_in):
    people = swimmers(4)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 2}, {"skill": None, "count": 1}])
    alerted = sorted(m.to for m in run_outbox())
    text_in(people[0].phone, "YES")
    run_outbox()
    response = client.post(f"/api/v1/incidents/{incident['id']}/cancel", headers=auth("coordinator"))
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    told = run_outbox()
    # The responder and everyone still asked hear it is off; nobody else is texted.
    assert sorted(m.to for m in told) == alerted
    assert all(incident["code"] in m.body and "вызов отменён" in m.body for m in told), [m.body for m in told]


def test_drill_is_marked_in_every_sms(client, auth, run_outbox, text_in):
    people = swimmers(3)
    report(client, auth, [{"skill": "water_rescue", "count": 1}], drill=True)
    sent = run_outbox()
    text_in(people[0].phone, "YES")
    sent += run_outbox()
    # Three alerts, then the confirmation to the one who accepted and the stand-down to the
    # other two: none of them unmarked.
    assert sorted(m.to for m in sent) == sorted(2 * [v.phone for v in people])
    for message in sent:
        assert message.body.startswith(("DRILL", "УЧЕНИЯ", "ЖАТТЫҒУ")), message.body


def test_broadcast_reaches_the_chosen_group(client, auth, run_outbox, text_in):
    people = swimmers(4)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    run_outbox()
    text_in(people[0].phone, "YES")
    run_outbox()
    response = client.post(
        f"/api/v1/incidents/{incident['id']}/messages",
        json={"body": "Meet at the north gate", "to": "accepted"},
        headers=auth("coordinator"),
    )
    assert response.get_json() == {"queued": 1}
    sent = run_outbox()
    assert [m.to for m in sent] == [people[0].phone] and "Meet at the north gate" in sent[0].body


def test_alerts_view_and_audit_trail(client, auth, run_outbox, text_in):
    people = swimmers(4)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    run_outbox()
    text_in(people[1].phone, "NO")
    rows = client.get(f"/api/v1/incidents/{incident['id']}/alerts", headers=auth("viewer")).get_json()["items"]
    assert [(r["volunteer_id"], r["wave"], r["status"]) for r in rows] == [
        (people[0].id, 1, "sent"),
        (people[1].id, 1, "declined"),
        (people[2].id, 1, "sent"),
        (people[3].id, 2, "queued"),
    ]
    assert "km away" in rows[0]["why_chosen"] and rows[0]["sms_status"] == "sent"
    trail = client.get(f"/api/v1/incidents/{incident['id']}/audit", headers=auth("coordinator")).get_json()["items"]
    events = [(e["actor"], e["event"]) for e in trail]
    assert events[0][1] == "incident_reported"
    assert (f"volunteer:{people[1].id}", "alert_declined") in events


def test_manual_alert_skips_distance_but_never_an_opt_out(client, auth, run_outbox):
    near = volunteer(1, skills=("water_rescue",))
    far = volunteer(200, skills=("medical",))
    gone = volunteer(3, skills=("medical",), status="opted_out")
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    url = f"/api/v1/incidents/{incident['id']}/alerts"
    response = client.post(url, json={"volunteer_ids": [far.id, near.id]}, headers=auth("coordinator"))
    assert response.status_code == 201 and response.get_json() == {"alerted": [far.id]}
    assert client.post(url, json={"volunteer_ids": [gone.id]}, headers=auth("coordinator")).status_code == 400


def test_incident_validation(client, auth):
    base = {"kind": "flood", "title": "x", "lat": 51, "lon": 71, "needs": [{"skill": "water_rescue", "count": 1}]}
    for change, field in [
        ({"kind": "picnic"}, "kind"),
        ({"needs": []}, "needs"),
        ({"needs": [{"skill": "water_rescue", "count": 0}]}, "needs.0.count"),
        ({"lat": None, "lon": None}, "body"),
        ({"radius_km": -1}, "radius_km"),
        ({"severity": "bad"}, "severity"),
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}, "area"),
    ]:
        response = client.post("/api/v1/incidents", json={**base, **change}, headers=auth("coordinator"))
        assert response.status_code == 400, change
        assert field in response.get_json()["error"]["details"]["fields"], response.get_json()
    response = client.post(
        "/api/v1/incidents", json={**base, "needs": [{"skill": "juggling", "count": 1}]}, headers=auth("coordinator")
    )
    assert response.status_code == 400
    response = client.post(
        "/api/v1/incidents", json={**base, "lat": None, "lon": None, "address": "Astana"}, headers=auth("coordinator")
    )
    assert response.status_code == 400  # no geocoder configured
    assert db.session.scalars(select(Incident)).all() == []


def test_reply_codes_are_unique_among_open_incidents(client, auth):
    codes = [report(client, auth, [{"skill": None, "count": 1}])["code"] for _ in range(30)]
    assert len(set(codes)) == 30 and all(len(c) == 3 and c.isdigit() for c in codes)


def test_inbound_messages_are_stored_with_their_outcome(client, auth, text_in, run_outbox):
    person = volunteer(1)
    text_in(person.phone, "what is this about?")
    message = db.session.scalars(select(InboundMessage)).one()
    assert (message.intent, message.outcome, message.needs_attention) == ("unknown", "not_understood", True)
    assert len(run_outbox()) == 1  # the hint


def test_logs_never_carry_a_whole_phone_number(client, auth, text_in, sms, app, caplog):
    import logging

    from notifications.gateway import ConsoleGateway
    from notifications.phones import local_forms

    caplog.set_level(logging.DEBUG)
    people = swimmers(4)
    saved = app.extensions["sms_gateway"]
    app.extensions["sms_gateway"] = ConsoleGateway()
    try:
        incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
        jobs.send_outbox()
        text_in(people[0].phone, "YES 15")
        text_in(people[1].phone, "what?")
        text_in("+77779990011", "hello")
        jobs.send_outbox()
    finally:
        app.extensions["sms_gateway"] = saved
    assert by_status(incident["id"], "accepted") == [people[0].id]
    logged = caplog.text
    assert "SMS to" in logged
    for phone in [v.phone for v in people] + ["+77779990011"]:
        for form in local_forms(phone):
            assert form not in logged, form
