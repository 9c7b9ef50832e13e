"""POST /sms/smsgate: signed SMSGate events from the phone, through the real inbox and outbox."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from dispatch import jobs
from dispatch.extensions import db
from dispatch.inbox import MAX_TEXTS_PER_NUMBER
from dispatch.models import (
    Alert,
    AuditEvent,
    EarlyStatus,
    InboundMessage,
    OutboxMessage,
    Volunteer,
)
from dispatch.webhooks import (
    FORGED_EVENT,
    FORGED_WINDOW,
    MAX_FORGED_PER_ADDRESS,
    SMSGATE_MALFORMED_EVENT,
)
from notifications.smsgate_webhooks import MAX_EVENT_BYTES, sign
from tests.fakes.smsgate_server import SignedEvent

from .factories import volunteer
from .test_alerting import by_status, report, swimmers
from .test_webhook_limits import assert_rate_limited, forged, forged_failures
from .test_webhooks import count


def as_reported(phone: str) -> str:
    """How the phone writes a sender: without the '+'."""
    return phone.lstrip("+")


def unchanged_since(before: dict) -> bool:
    return snapshot() == before


def snapshot() -> dict:
    db.session.expire_all()
    return {
        "inbound": count(InboundMessage),
        "outbox": count(OutboxMessage),
        "held": count(EarlyStatus),
        "alerts": sorted((a.id, a.status) for a in db.session.scalars(select(Alert))),
        "volunteers": sorted((v.id, v.status, v.available) for v in db.session.scalars(select(Volunteer))),
        "outbox_rows": sorted((m.id, m.status, m.provider_status) for m in db.session.scalars(select(OutboxMessage))),
    }


def audited(event: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)))


def with_headers(event: SignedEvent, body: bytes | None = None, **headers: str | None) -> SignedEvent:
    merged = {k: v for k, v in {**event.headers, **headers}.items() if v is not None}
    return SignedEvent(body=event.body if body is None else body, headers=merged, id=event.id, event=event.event)


def signed_raw(smsgate, body: bytes, timestamp: int | None = None) -> SignedEvent:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "X-Signature": sign(body, stamp, smsgate.signing_key),
        "X-Timestamp": stamp,
    }
    return SignedEvent(body=body, headers=headers, id="", event="")


# -- texts to the phone ----------------------------------------------------------------------------


def test_a_yes_to_the_phone_accepts_and_the_confirmation_goes_back_through_the_phone(client, auth, smsgate, smsgate_in):
    people = swimmers(3)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    jobs.send_outbox()
    event = smsgate.received_event(as_reported(people[0].phone), f"YES {incident['code']} 15")
    response = smsgate_in(event)
    assert response.status_code == 200
    assert response.get_json() == {"id": event.id, "event": "sms:received", "result": "handled"}
    assert by_status(incident["id"], "accepted") == [people[0].id]
    inbound = db.session.scalars(select(InboundMessage)).one()
    assert (inbound.message_sid, inbound.from_phone, inbound.volunteer_id, inbound.intent) == (
        f"smsgate:{event.id}",
        people[0].phone,
        people[0].id,
        "accept",
    )
    jobs.send_outbox()
    to_acceptor = [m for m in smsgate.messages if m.phone_numbers == [people[0].phone]]
    assert len(to_acceptor) == 2  # the call-out, then the confirmation, both through the phone
    confirmation = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "confirmation")).one()
    assert confirmation.to_phone == people[0].phone and to_acceptor[1].id == confirmation.idempotency_key


@pytest.mark.parametrize("reported", ["7{rest}", "8{rest}", "+7{rest}"])
def test_the_sender_is_read_however_the_phone_writes_it(smsgate, smsgate_in, reported):
    person = volunteer(1)
    rest = person.phone.removeprefix("+7")
    assert smsgate_in(smsgate.received_event(reported.format(rest=rest), "HELP")).status_code == 200
    inbound = db.session.scalars(select(InboundMessage)).one()
    assert (inbound.from_phone, inbound.volunteer_id, inbound.outcome) == (person.phone, person.id, "help")


def test_the_same_event_id_twice_is_handled_once(smsgate, smsgate_in):
    person = volunteer(1)
    event = smsgate.received_event(as_reported(person.phone), "HELP")
    assert smsgate_in(event).get_json()["result"] == "handled"
    again = smsgate_in(event)
    assert again.status_code == 200 and again.get_json()["result"] == "duplicate"
    assert count(InboundMessage) == 1 and count(OutboxMessage) == 1


def test_two_texts_with_the_same_message_id_are_both_handled(smsgate, smsgate_in):
    """The app derives payload.messageId from the content: two identical texts share it."""
    person = volunteer(1, available=True)
    first = smsgate.received_event(as_reported(person.phone), "BUSY")
    second = smsgate.received_event(as_reported(person.phone), "BUSY")
    assert first.json()["payload"]["messageId"] == second.json()["payload"]["messageId"]
    assert first.id != second.id
    assert [smsgate_in(e).get_json()["result"] for e in (first, second)] == ["handled", "handled"]
    assert count(InboundMessage) == 2


def test_over_the_per_number_limit_a_text_is_stored_not_acted_on_and_answered_2xx(client, auth, smsgate, smsgate_in):
    people = swimmers(3)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    jobs.send_outbox()
    phone = as_reported(people[0].phone)
    for i in range(MAX_TEXTS_PER_NUMBER):
        assert smsgate_in(smsgate.received_event(phone, f"auto-reply {i}")).status_code == 200
    outbox_before = count(OutboxMessage)
    response = smsgate_in(smsgate.received_event(phone, f"YES {incident['code']}"))
    # SMSGate retries anything but a 2xx for about two days: the refusal is a 2xx.
    assert response.status_code == 200 and response.get_json()["result"] == "stored_not_acted_on"
    assert by_status(incident["id"], "accepted") == []
    stored = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert (stored.body, stored.outcome) == (f"YES {incident['code']}", "rate_limited")
    assert count(OutboxMessage) == outbox_before


def test_a_carriers_own_text_is_stored_and_never_answered(smsgate, smsgate_in):
    for sender in ("Kcell", "7070"):
        assert smsgate_in(smsgate.received_event(sender, "Balans: 1500 tg")).status_code == 200
    stored = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [(m.from_phone, m.outcome) for m in stored] == [("Kcell", "unknown_number"), ("7070", "unknown_number")]
    assert count(OutboxMessage) == 0


def test_an_unknown_number_gets_the_polite_answer_through_the_phone(smsgate, smsgate_in):
    assert smsgate_in(smsgate.received_event("77779998877", "hello?")).status_code == 200
    jobs.send_outbox()
    assert [m.phone_numbers for m in smsgate.messages] == [["+77779998877"]]


# -- delivery reports ------------------------------------------------------------------------------


def test_delivery_reports_move_the_outbox_row_and_the_alert_forward_only(client, auth, smsgate, smsgate_in):
    people = swimmers(3)
    incident = report(client, auth, [{"skill": "water_rescue", "count": 1}])
    jobs.send_outbox()
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_phone == people[0].phone)).one()
    sent = smsgate.delivery_event(row.provider_id, "sms:sent")
    assert smsgate_in(sent).get_json() == {"id": sent.id, "event": "sms:sent", "result": "handled"}
    db.session.refresh(row)
    assert (row.status, row.provider_status) == ("sent", "sent")
    assert smsgate_in(smsgate.delivery_event(row.provider_id, "sms:delivered")).status_code == 200
    db.session.refresh(row)
    assert (row.status, row.provider_status) == ("delivered", "delivered")
    assert by_status(incident["id"], "delivered") == [people[0].id]
    # A late sms:sent (at least once, out of order) moves nothing back.
    assert smsgate_in(smsgate.delivery_event(row.provider_id, "sms:sent")).status_code == 200
    db.session.refresh(row)
    assert (row.status, row.provider_status) == ("delivered", "delivered")


def test_a_report_for_an_id_not_yet_recorded_is_held(smsgate, smsgate_in):
    event = smsgate.signed_event(
        "sms:delivered",
        {"messageId": "not-recorded-yet", "phoneNumber": "77010001000", "deliveredAt": "2026-11-29T10:00:00.000+05:00"},
    )
    assert smsgate_in(event).status_code == 200
    assert db.session.scalars(select(EarlyStatus.provider_id)).all() == ["not-recorded-yet"]


def test_unknown_events_are_200_and_ignored(smsgate, smsgate_in):
    volunteer(1)
    before = snapshot()
    for event in (
        smsgate.signed_event("system:ping", {"health": {"status": "pass"}}),
        smsgate.signed_event("mms:received", {"messageId": "m1", "phoneNumber": "77010001000"}),
    ):
        response = smsgate_in(event)
        assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    assert unchanged_since(before) and count(AuditEvent) == 0


# -- refused -------------------------------------------------------------------------------------


def test_bad_signatures_and_timestamps_are_403_audited_and_change_nothing(client, smsgate, smsgate_in):
    person = volunteer(1)
    good = smsgate.received_event(as_reported(person.phone), "STOP")
    now = int(time.time())
    stop_for_other_key = smsgate.received_event(as_reported(person.phone), "STOP", signing_key="another-key")
    cases = {
        "missing": with_headers(good, **{"X-Signature": None, "X-Timestamp": None}),
        "no signature": with_headers(good, **{"X-Signature": None}),
        "no timestamp": with_headers(good, **{"X-Timestamp": None}),
        "not hex": with_headers(good, **{"X-Signature": "zz" * 32}),  # right length: just a mismatch
        "short": with_headers(good, **{"X-Signature": good.headers["X-Signature"][:40]}),
        "timestamp not a number": with_headers(good, **{"X-Timestamp": "yesterday"}),
        "altered body": with_headers(good, body=good.body.replace(b"STOP", b"STAR")),
        "altered timestamp": with_headers(good, **{"X-Timestamp": str(now + 1)}),
        "another key": stop_for_other_key,
        "stale": smsgate.received_event(as_reported(person.phone), "STOP", timestamp=now - 310),
        "future": smsgate.received_event(as_reported(person.phone), "STOP", timestamp=now + 310),
    }
    before = snapshot()
    for name, event in cases.items():
        response = smsgate_in(event)
        assert response.status_code == 403, name
        assert response.get_json()["error"]["code"] == "FORBIDDEN"
    assert unchanged_since(before)
    records = audited(FORGED_EVENT)
    assert len(records) == len(cases)
    assert all(r.actor == "address:127.0.0.1" and r.details["path"] == "/sms/smsgate" for r in records)
    assert [r.details["reason"] for r in records] == [
        "missing",
        "missing",
        "missing",
        "mismatch",
        "malformed",
        "malformed",
        "mismatch",
        "mismatch",
        "mismatch",
        "stale",
        "future",
    ]
    # Just inside the window on either side is fine.
    for stamp in (now - 290, now + 290):
        event = smsgate.received_event(as_reported(person.phone), "HELP", timestamp=stamp)
        assert smsgate_in(event).status_code == 200
    assert db.session.get(Volunteer, person.id).status == "active"


def test_without_a_signing_key_every_event_is_refused(app, smsgate, smsgate_in):
    person = volunteer(1)
    app.config["SMSGATE_SIGNING_KEY"] = None
    assert smsgate_in(smsgate.received_event(as_reported(person.phone), "STOP")).status_code == 403
    assert count(InboundMessage) == 0 and audited(FORGED_EVENT)[0].details["reason"] == "missing"


def test_an_oversized_body_is_413_before_anything(client, smsgate):
    before = snapshot()
    body = b'{"id": "x", "pad": "' + b"a" * MAX_EVENT_BYTES + b'"}'
    event = signed_raw(smsgate, body)  # signed, even: the size alone refuses it
    response = client.post("/sms/smsgate", data=event.body, headers=event.headers)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    unsigned = client.post("/sms/smsgate", data=b"a" * (MAX_EVENT_BYTES + 1))
    assert unsigned.status_code == 413
    as_form = client.post(
        "/sms/smsgate", data=b"a=" + b"b" * MAX_EVENT_BYTES, content_type="application/x-www-form-urlencoded"
    )
    assert as_form.status_code == 413
    assert unchanged_since(before) and count(AuditEvent) == 0


def test_an_event_just_under_the_limit_is_read(client, smsgate, smsgate_in):
    person = volunteer(1)
    event = smsgate.received_event(as_reported(person.phone), "HELP")
    document = event.json()
    document["padding"] = ""
    document["padding"] = "a" * (MAX_EVENT_BYTES - len(json.dumps(document).encode()))
    body = json.dumps(document).encode()
    assert len(body) == MAX_EVENT_BYTES
    assert smsgate_in(signed_raw(smsgate, body)).status_code == 200
    assert count(InboundMessage) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json at all", "body"),
        (b"[1, 2, 3]", "body"),
        (b'{"event": "sms:received", "payload": {}}', "id"),
        (json.dumps({"id": "e" * 57, "event": "system:ping", "payload": {}}).encode(), "id"),
        (
            json.dumps(
                {"id": "ev1", "event": "sms:received", "payload": {"messageId": "m", "message": "YES"}}
            ).encode(),
            "payload.phoneNumber",
        ),
        (json.dumps({"id": "ev2", "event": "sms:delivered", "payload": "delivered"}).encode(), "payload"),
        (b'\xff\xfe{"id": "ev3"}', "body"),
    ],
)
def test_a_signed_but_malformed_event_is_400_audited_and_changes_nothing(client, smsgate, smsgate_in, body, field):
    volunteer(1)
    before = snapshot()
    response = smsgate_in(signed_raw(smsgate, body))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and list(error["details"]["fields"]) == [field]
    assert unchanged_since(before)
    (record,) = audited(SMSGATE_MALFORMED_EVENT)
    assert record.actor == "smsgate" and record.details["field"] == (None if field == "body" else field)
    assert forged_failures() == 0  # signed: not a forgery, never counted towards the 429


def test_forged_events_count_towards_the_same_per_address_limit(client, smsgate, smsgate_in):
    person = volunteer(1)
    bad = with_headers(smsgate.received_event(as_reported(person.phone), "STOP"), **{"X-Signature": "0" * 64})
    for i in range(MAX_FORGED_PER_ADDRESS):
        # The Twilio routes and this one share the count: one address, one budget.
        response = forged(client) if i % 2 else smsgate_in(bad)
        assert response.status_code == 403
    assert forged_failures() == MAX_FORGED_PER_ADDRESS
    assert_rate_limited(smsgate_in(bad), FORGED_WINDOW)
    assert_rate_limited(client.post("/sms/smsgate", data=b"{}"), FORGED_WINDOW)
    assert forged_failures() == MAX_FORGED_PER_ADDRESS  # a 429 writes nothing
    # The phone's own signed events still go through from that address.
    assert smsgate_in(smsgate.received_event(as_reported(person.phone), "HELP")).status_code == 200
    assert count(InboundMessage) == 1
    assert db.session.get(Volunteer, person.id).status == "active"


def test_it_takes_no_csrf_token_and_only_post(client, smsgate, smsgate_in):
    assert client.get("/sms/smsgate").status_code == 405
    assert smsgate_in(smsgate.signed_event("system:ping", {})).status_code == 200
