"""The dispatch state machine: waves of alerts, accepts and declines, fills, stand-downs,
timeouts, failed deliveries and the widening radius.

Every change to an incident's needs and alerts happens with the incident row locked
(`lock_incident`, SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers), so two
accepts can never take one place and a wave never races a reply. Callers own the commit.

Waves: for each open need, keep ceil(remaining / EXPECTED_ACCEPTANCE) alerts pending,
nearest first. A decline, an expiry or a failed delivery frees a slot, and the next pass
(run at once, in the same transaction) fills it with the next candidate. When the pool
inside the current radius runs dry the radius widens step by step to max_radius_km; a
need with nobody left to ask and nobody pending makes the incident `unfilled`.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from geo import Point, parse_geojson_area
from notifications.texts import render

from . import audit, channels, matching, provider_health, reply_links, telegram_outbox
from .clock import utcnow
from .extensions import db
from .models import PENDING_ALERT_STATUSES, Alert, Incident, Need, OutboxMessage, Volunteer
from .outbox import enqueue, enqueue_to_chat, enqueue_to_number
from .skills import SkillCatalogue

RADIUS_GROWTH = 1.5
# At most this many new alerts in one run_waves inside a request or a reply (a few tens of ms of
# work, however large the incident), shared between its needs: the scheduler builds the rest of
# a wave (jobs.top_up_waves, WAVE_BATCH * TICK_BATCHES at a time).
WAVE_BATCH = 12
MIN_RADIUS_STEP_KM = 5.0


def lock_incident(incident_id: int) -> Incident:
    # FOR NO KEY UPDATE: exclusive among writers of this incident, yet it does not wait for
    # the KEY SHARE locks that inserts referencing the incident (alerts, outbox) take, so
    # two transactions that both inserted such rows cannot deadlock on it.
    return db.session.execute(
        select(Incident).where(Incident.id == incident_id).with_for_update(key_share=True)
    ).scalar_one()


# -- waves -------------------------------------------------------------------------------


def run_waves(incident: Incident, actor: str = "system", now: datetime | None = None, limit: int | None = None) -> int:
    """Top up pending alerts for every open need; the incident must be locked. Returns new alerts.

    At most `limit` (WAVE_BATCH) new alerts at a time, shared between the open needs: a request
    or a reply stays short however large the incident, and the scheduler's dispatch tick
    (jobs.top_up_waves) builds the rest, a batch at a time, in transactions of their own."""
    if not incident.is_open:
        return 0
    now = now or utcnow()
    budget = WAVE_BATCH if limit is None else limit
    open_needs = [n for n in incident.needs if n.filled < n.count]
    if not open_needs:
        _mark_staffed(incident, actor)
        return 0
    pending = _pending_by_need(incident.id)
    catalogue = SkillCatalogue.load()
    area = parse_geojson_area(incident.area_geojson) if incident.area_geojson else None
    wave = None  # read when the first alert of this pass is made (most replies make none)
    chosen: set[int] = set()
    short: list[str] = []
    created = 0
    # Specific skills first: an "anyone" need should not take the only diver.
    ordered = sorted(open_needs, key=lambda n: (n.skill is None, n.id))
    for index, need in enumerate(ordered):
        wanted = wave_size(need.count - need.filled) - pending[need.id]
        # Each need left gets its share of what is left of the batch.
        want = min(wanted, math.ceil((budget - created) / (len(ordered) - index)))
        searched = want > 0
        while want > 0:
            search = matching.Search(
                point=Point(incident.lat, incident.lon),
                radius_km=incident.current_radius_km,
                skill_bit=catalogue.bits[need.skill] if need.skill else None,
                area=area,
                exclude_inside_area=incident.exclude_inside_area,
                severity=incident.severity,
                incident_id=incident.id,
                limit=want + len(chosen),
            )
            found = [c for c in matching.find_candidates(search, now) if c.volunteer_id not in chosen][:want]
            if found:
                wave = wave or next_wave(incident.id)
                create_alerts(incident, need, found, wave, catalogue, now)
            chosen.update(candidate.volunteer_id for candidate in found)
            created += len(found)
            pending[need.id] += len(found)
            want -= len(found)
            if want > 0 and not _widen(incident, actor):
                break
        if pending[need.id] == 0 and searched:  # not judged when the batch ran out first
            label = need.skill or "any volunteer"
            short.append(
                f"{label}: {need.count - need.filled} of {need.count} open, nobody eligible within "
                f"{incident.current_radius_km:g} km"
            )
    _set_progress(incident, short, actor)
    return created


def wave_size(open_places: int) -> int:
    """How many alerts to keep pending for a need with this many places open."""
    return math.ceil(open_places / current_app.config["EXPECTED_ACCEPTANCE"])


def next_wave(incident_id: int) -> int:
    return (db.session.scalar(select(func.max(Alert.wave)).where(Alert.incident_id == incident_id)) or 0) + 1


def _pending_by_need(incident_id: int) -> Counter:
    rows = db.session.execute(
        select(Alert.need_id, func.count())
        .where(Alert.incident_id == incident_id, Alert.status.in_(PENDING_ALERT_STATUSES))
        .group_by(Alert.need_id)
    ).all()
    return Counter(dict(rows))


def _widen(incident: Incident, actor: str) -> bool:
    if incident.current_radius_km >= incident.max_radius_km:
        return False
    before = incident.current_radius_km
    incident.current_radius_km = min(incident.max_radius_km, max(before * RADIUS_GROWTH, before + MIN_RADIUS_STEP_KM))
    audit.record(
        actor,
        "radius_widened",
        incident_id=incident.id,
        details={"from_km": before, "to_km": incident.current_radius_km},
    )
    return True


def create_alert(incident, need, candidate, wave, catalogue, now) -> Alert:
    return create_alerts(incident, need, [candidate], wave, catalogue, now)[0]


def create_alerts(incident, need, candidates, wave, catalogue, now) -> list[Alert]:
    """Alerts for these candidates of one need, each with its call-out queued and its audit
    event. Written a table at a time (one multi-row INSERT each), not a round trip per row per
    table: a wave's cost in a request was its round trips (issue 13)."""
    ids = [candidate.volunteer_id for candidate in candidates]
    people = {v.id: v for v in db.session.scalars(select(Volunteer).where(Volunteer.id.in_(ids)))}
    down = provider_health.down_providers()
    made = []
    for candidate in candidates:
        volunteer = people[candidate.volunteer_id]
        alert = Alert(
            incident_id=incident.id,
            volunteer_id=volunteer.id,
            need_id=need.id,
            wave=wave,
            status="queued",
            distance_km=round(candidate.distance_km, 3),
            reason=candidate.reason,
            created_at=now,
        )
        route = channels.first_route(volunteer, down)
        # A new alert's reply token goes in with its row (no UPDATE after).
        token = reply_links.issue(alert) if route is not None and route != "telegram" else None
        db.session.add(alert)
        made.append((alert, volunteer, route, token))
    db.session.flush()
    for alert, volunteer, route, token in made:
        volunteer.last_alerted_at = now
        skill_name = catalogue.name(need.skill, volunteer.language) if need.skill else None
        if route is not None:
            _queue_callout(alert, incident, volunteer, route, skill_name, new_token=token)
        audit.record(
            "system",
            "alert_queued",
            incident_id=incident.id,
            alert_id=alert.id,
            volunteer_id=volunteer.id,
            details={"wave": wave, "need": need.skill, "distance_km": alert.distance_km},
        )
    return [alert for alert, _, _, _ in made]


def alert_text(
    incident: Incident,
    language: str,
    distance_km: float,
    skill_name: str | None,
    reply_token: str | None = None,
    with_link: bool = True,
) -> str:
    """The call-out SMS (also what the coordinator's preview shows, with its segment count, and
    a placeholder token of the real length in its reply link). Without the link: the text of a
    Telegram call-out, which is answered by its buttons."""
    return render(
        "alert",
        language,
        code=incident.code,
        kind=incident.kind,
        title=incident.title,
        place=approximate_place(incident),
        distance_km=round(distance_km, 1),
        skill_name=skill_name,
        drill=incident.drill,
        link=reply_links.reply_url(reply_token or reply_links.PLACEHOLDER_TOKEN) if with_link else None,
    )


def _queue_callout(
    alert: Alert,
    incident: Incident,
    volunteer: Volunteer,
    route: str,
    skill_name: str | None,
    new_token: str | None = None,
):
    """Queue the alert's call-out on a route (channels.py), in the caller's transaction.
    `new_token`: the reply token just issued for a new alert (it has no SMS before this one)."""
    if route == "telegram":
        # Buttons answer a Telegram call-out: no reply link.
        body = alert_text(incident, volunteer.language, alert.distance_km, skill_name, with_link=False)
        message = enqueue_to_chat(
            volunteer.telegram_chat_id,
            "alert",
            body,
            volunteer_id=volunteer.id,
            incident_id=incident.id,
            alert_id=alert.id,
        )
        _no_deadline_without_next_route(message, volunteer, route)
        return message
    if new_token is not None:
        body = alert_text(incident, volunteer.language, alert.distance_km, skill_name, reply_token=new_token)
    else:
        # An SMS that follows an SMS carries the same text and so the same reply link (a new
        # token would turn the first SMS's link into a dead one, and it may still arrive).
        body = db.session.scalar(
            select(OutboxMessage.body)
            .where(OutboxMessage.alert_id == alert.id, OutboxMessage.kind == "alert", OutboxMessage.channel == "sms")
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        ) or alert_text(
            incident, volunteer.language, alert.distance_km, skill_name, reply_token=reply_links.issue(alert)
        )
    message = enqueue_to_number(
        volunteer.phone,
        "alert",
        body,
        volunteer_id=volunteer.id,
        incident_id=incident.id,
        alert_id=alert.id,
        route=channels.outbox_route(route),
    )
    _no_deadline_without_next_route(message, volunteer, route)
    return message


def _no_deadline_without_next_route(message: OutboxMessage, volunteer: Volunteer, route: str) -> None:
    """A call-out with no other route to go on for this volunteer gets no failover deadline: it
    could only ever be checked and left alone (with one SMS provider and no linked chat, every
    silent call-out was, one locked transaction each: 11% of the scheduler in a mass event).
    A failed report still fails it over (delivery.py), and a silent one waits out its alert."""
    if message.failover_at is not None and not channels.has_next_route(volunteer, route):
        message.failover_at = None


def fail_over(alert_id: int, from_message_id: int, why: str, *, failed: bool) -> str | None:
    """The call-out `from_message_id` failed (`failed`: the provider said so, or it could not be
    sent) or had no delivery report in time: it goes once more on the volunteer's next channel.
    Returns that route, or None when nothing was sent. With no channel left a failed call-out
    fails its alert, which is replaced; a silent one waits out the alert's reply time.

    Safe to call twice for one call-out, and for an old one: a call-out that is not the alert's
    latest, an alert that reached the volunteer somewhere (delivered), was answered or ended,
    changes nothing. The caller commits."""
    alert = db.session.get(Alert, alert_id)
    incident = lock_incident(alert.incident_id)
    db.session.refresh(alert)
    if alert.status not in ("queued", "sent") or not incident.is_open:
        return None
    tried = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.alert_id == alert.id, OutboxMessage.kind == "alert")
        .order_by(OutboxMessage.id)
    ).all()
    if any(row.id > from_message_id for row in tried) or any(row.status == "delivered" for row in tried):
        return None  # it went on already (this is late news), or it reached them
    source = next((row for row in tried if row.id == from_message_id), None)
    volunteer = db.session.get(Volunteer, alert.volunteer_id)
    route = channels.next_route(volunteer, tried)
    if route is None:
        if failed:
            alert_sms_failed(alert.id, f"{why}; no channel left")
        return None
    if source is not None and source.status == "pending":
        # Still waiting in the outbox (its provider is failing): it goes on the next channel
        # instead, never on both. One in a sender's hands already may still go (once).
        source.status, source.failover_at = "cancelled", None
        source.last_error = f"failed over: {why}"[:300]
    need = db.session.get(Need, alert.need_id) if alert.need_id else None
    skill_name = SkillCatalogue.load().name(need.skill, volunteer.language) if need and need.skill else None
    _queue_callout(alert, incident, volunteer, route, skill_name)
    audit.record(
        "system",
        "alert_failed_over",
        incident_id=incident.id,
        alert_id=alert.id,
        volunteer_id=volunteer.id,
        details={
            "from": channels.route_of(source.channel, source.route) if source is not None else None,
            "to": route,
            "why": why,
        },
    )
    return route


def fail_over_due(now: datetime | None = None, limit: int = 200) -> int:
    """Call-outs past their failover deadline (outbox.failover_at) go on the next channel.

    Each deadline is claimed by a conditional UPDATE in the transaction that acts on it: any
    number of schedulers act on each once, and a crash before the commit leaves it due."""
    now = now or utcnow()
    due = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.alert_id)
        .where(OutboxMessage.failover_at <= now, OutboxMessage.kind == "alert")
        .order_by(OutboxMessage.failover_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    moved = 0
    for message_id, alert_id in due:
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.failover_at <= now)
            .values(failover_at=None)
        ).rowcount
        if claimed and alert_id is not None:
            seconds = current_app.config["FAILOVER_AFTER_S"]
            if fail_over(alert_id, message_id, f"no delivery report in {seconds} s", failed=False):
                moved += 1
        db.session.commit()
    return moved


def approximate_place(incident: Incident) -> str:
    """What an alert may say about where: a place name, or coordinates to about a kilometre.
    The exact point goes only to those who accept."""
    return incident.place or f"{incident.lat:.2f},{incident.lon:.2f}"


def _set_progress(incident: Incident, short: list[str], actor: str) -> None:
    status = "unfilled" if short else "dispatching"
    reason = "; ".join(short) or None
    if (incident.status, incident.unfilled_reason) != (status, reason):
        audit.record(actor, f"incident_{status}", incident_id=incident.id, details={"reason": reason})
    incident.status, incident.unfilled_reason = status, reason


def _mark_staffed(incident: Incident, actor: str) -> None:
    if incident.status != "staffed":
        incident.status, incident.unfilled_reason = "staffed", None
        audit.record(actor, "incident_staffed", incident_id=incident.id)
    stand_down_pending(incident, "stand_down", actor)


def stand_down_pending(incident: Incident, template: str, actor: str) -> None:
    """Everyone still pending is told they are not needed (or that the incident ended)."""
    alerts = db.session.scalars(
        select(Alert).where(Alert.incident_id == incident.id, Alert.status.in_(PENDING_ALERT_STATUSES))
    ).all()
    stand_down(incident, list(alerts), template, actor)


def stand_down(incident: Incident, alerts: list[Alert], template: str, actor: str) -> None:
    """These pending alerts are not needed any more; the incident must be locked.

    The accept that fills an incident stands down its whole wave inside a reply's request: what
    is read for that (volunteers, Telegram call-outs, SMS in flight) is read once for all, and
    the writes go to the database together, not a few round trips per alert."""
    if not alerts:
        return
    ids = [alert.id for alert in alerts]
    callouts = (OutboxMessage.alert_id.in_(ids), OutboxMessage.kind == "alert")
    on_telegram = set(
        db.session.scalars(select(OutboxMessage.alert_id).where(*callouts, OutboxMessage.channel == "telegram"))
    )
    in_flight = set(
        db.session.scalars(select(OutboxMessage.alert_id).where(*callouts, OutboxMessage.status == "sending"))
    )
    # Held here, so in the session's identity map: tell() finds each without a query.
    people = db.session.scalars(select(Volunteer).where(Volunteer.id.in_({a.volunteer_id for a in alerts}))).all()
    ending = template if template in ("closed", "cancelled") else "stood_down"
    for alert in alerts:
        was = alert.status
        alert.status = "stood_down"
        if alert.id in on_telegram:
            telegram_outbox.close_callout(alert, ending)
        audit.record(
            actor, "alert_stood_down", incident_id=incident.id, alert_id=alert.id, volunteer_id=alert.volunteer_id
        )
        # An alert still in the outbox is simply never sent; one that went out gets a message,
        # and so does one in the sender's hands (`sending`: it may be out, and a sender that
        # dies now never says so).
        if was != "queued" or alert.id in in_flight:
            tell(alert.volunteer_id, incident, template)
    del people


def tell(volunteer_id: int, incident: Incident, template: str, **values) -> None:
    volunteer = db.session.get(Volunteer, volunteer_id)
    values.setdefault("code", incident.code)
    values.setdefault("drill", incident.drill)
    if template in ("stand_down", "closed", "cancelled"):
        values.setdefault("title", incident.title)
    enqueue(volunteer, template, render(template, volunteer.language, **values), incident_id=incident.id)


# -- replies -----------------------------------------------------------------------------


def accept(alert_id: int, eta_min: int | None, actor: str) -> str:
    """A YES. Returns the outcome; the volunteer's answer SMS is queued here."""
    alert = db.session.get(Alert, alert_id)
    incident = lock_incident(alert.incident_id)
    db.session.refresh(alert)
    volunteer = db.session.get(Volunteer, alert.volunteer_id)
    if not incident.is_open:
        tell(volunteer.id, incident, incident.status if incident.status in ("closed", "cancelled") else "closed")
        return "incident_ended"
    if alert.status == "accepted":
        _confirm(alert, incident, volunteer)
        return "already_accepted"
    need = need_to_fill(incident, volunteer)
    if need is None:
        if alert.status in PENDING_ALERT_STATUSES:
            alert.status = "stood_down"
            telegram_outbox.close_callout(alert, "stood_down")
        tell(volunteer.id, incident, "standby")
        audit.record(
            actor, "late_accept_standby", incident_id=incident.id, alert_id=alert.id, volunteer_id=volunteer.id
        )
        return "standby"
    need.filled += 1
    was = alert.status
    alert.status, alert.filled_need_id, alert.eta_min, alert.responded_at = "accepted", need.id, eta_min, utcnow()
    if was in PENDING_ALERT_STATUSES or was == "expired":
        telegram_outbox.close_callout(alert, "accepted")
    audit.record(
        actor,
        "alert_accepted",
        incident_id=incident.id,
        alert_id=alert.id,
        volunteer_id=volunteer.id,
        details={"need": need.skill, "eta_min": eta_min},
    )
    _confirm(alert, incident, volunteer)
    run_waves(incident, actor)
    return "accepted"


def need_to_fill(incident: Incident, volunteer: Volunteer) -> Need | None:
    """The open need this volunteer can fill where their skill is scarcest: the one with the
    fewest other people still pending per open place (a specific skill before "anyone")."""
    catalogue = SkillCatalogue.load()
    pending = _pending_by_need(incident.id)
    fits = [
        n
        for n in incident.needs
        if n.filled < n.count and (n.skill is None or volunteer.skill_mask >> catalogue.bits[n.skill] & 1)
    ]
    if not fits:
        return None
    return min(fits, key=lambda n: (pending[n.id] / (n.count - n.filled), n.skill is None, n.id))


def _confirm(alert: Alert, incident: Incident, volunteer: Volunteer) -> None:
    need = db.session.get(Need, alert.filled_need_id) if alert.filled_need_id else None
    catalogue = SkillCatalogue.load()
    tell(
        volunteer.id,
        incident,
        "confirmation",
        title=incident.title,
        lat=incident.lat,
        lon=incident.lon,
        address=incident.meeting_point or incident.address,
        eta_min=alert.eta_min,
        skill_name=catalogue.name(need.skill, volunteer.language) if need and need.skill else None,
    )


def decline(alert_id: int, actor: str) -> str:
    alert = db.session.get(Alert, alert_id)
    incident = lock_incident(alert.incident_id)
    db.session.refresh(alert)
    if alert.status == "accepted" and incident.is_open:
        # Changing one's mind after accepting frees the place for someone else.
        need = db.session.get(Need, alert.filled_need_id)
        need.filled -= 1
    elif alert.status not in PENDING_ALERT_STATUSES and alert.status != "expired":
        tell(alert.volunteer_id, incident, "declined")
        return "nothing_pending"
    alert.status, alert.responded_at = "declined", utcnow()
    telegram_outbox.close_callout(alert, "declined")
    audit.record(actor, "alert_declined", incident_id=incident.id, alert_id=alert.id, volunteer_id=alert.volunteer_id)
    tell(alert.volunteer_id, incident, "declined")
    run_waves(incident, actor)
    return "declined"


def withdraw_pending(volunteer_id: int, actor: str) -> int:
    """The volunteer opted out or went busy: their pending alerts are replaced."""
    alerts = db.session.scalars(
        select(Alert)
        .where(Alert.volunteer_id == volunteer_id, Alert.status.in_(PENDING_ALERT_STATUSES))
        .order_by(Alert.incident_id)  # incidents are always locked in id order: no deadlock
    ).all()
    for alert in alerts:
        incident = lock_incident(alert.incident_id)
        db.session.refresh(alert)
        if alert.status in PENDING_ALERT_STATUSES:
            alert.status, alert.responded_at = "declined", utcnow()
            telegram_outbox.close_callout(alert, "declined")
            audit.record(
                actor, "alert_withdrawn", incident_id=incident.id, alert_id=alert.id, volunteer_id=volunteer_id
            )
            run_waves(incident, actor)
    return len(alerts)


# -- what the outbox and the scheduler report ----------------------------------------------


def alert_sms_sent(alert_id: int, now: datetime | None = None) -> None:
    """The alert SMS was handed to the provider: its reply clock starts now."""
    alerts_sms_sent([alert_id], now)


def alerts_sms_sent(alert_ids: list[int], now: datetime | None = None) -> None:
    """alert_sms_sent for a sender's batch: the common case (a queued alert becomes sent) is one
    UPDATE for all of them and needs no incident lock; the rest are done one by one."""
    if not alert_ids:
        return
    now = now or utcnow()
    expires_at = now + timedelta(seconds=current_app.config["ALERT_TIMEOUT_S"])
    alerts = Alert.__table__  # a Core UPDATE: the sender's hot path (see outbox.start_sending)
    started = set(
        db.session.scalars(
            update(alerts)
            .where(alerts.c.id.in_(alert_ids), alerts.c.status == "queued")
            .values(status="sent", sent_at=now, expires_at=expires_at)
            .returning(alerts.c.id)
        )
    )
    for alert_id in alert_ids:
        if alert_id not in started:
            _sent_after_it_ended(alert_id, now)


def _sent_after_it_ended(alert_id: int, now: datetime) -> None:
    alert = db.session.get(Alert, alert_id)
    incident = lock_incident(alert.incident_id)
    db.session.refresh(alert)
    if alert.status == "stood_down" and alert.sent_at is None:
        # Stood down while its SMS was on its way: they got the alert, so they get the
        # stand-down, once (stand_down queued it already when the SMS was in the sender's hands).
        alert.sent_at = now
        told = db.session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.volunteer_id == alert.volunteer_id,
                OutboxMessage.incident_id == incident.id,
                OutboxMessage.kind.in_(("stand_down", "closed", "cancelled")),
            )
            .limit(1)
        )
        if told is None:
            tell(alert.volunteer_id, incident, "stand_down" if incident.is_open else incident.status)


def alert_sms_delivered(alert_id: int) -> None:
    alert = db.session.get(Alert, alert_id)
    if alert.status == "sent":
        alert.status = "delivered"


def alert_sms_failed(alert_id: int, why: str) -> None:
    """Not delivered: counts as no reply, replaced at once."""
    alert = db.session.get(Alert, alert_id)
    incident = lock_incident(alert.incident_id)
    db.session.refresh(alert)
    if alert.status in PENDING_ALERT_STATUSES:
        alert.status = "failed"
        audit.record(
            "sms_provider",
            "alert_failed",
            incident_id=incident.id,
            alert_id=alert.id,
            volunteer_id=alert.volunteer_id,
            details={"why": why},
        )
        run_waves(incident, "sms_provider")


def alert_still_wanted(message) -> str | None:
    """For the outbox (given the message's row): why a call-out should not go out any more. A
    call-out that failed over may be still in a sender's hands: the later one makes it moot."""
    if message.kind != "alert" or message.alert_id is None:
        return None
    status = db.session.scalar(select(Alert.status).where(Alert.id == message.alert_id))
    if status not in ("queued", "sent"):
        return f"alert is {status or 'gone'}"
    later = db.session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.alert_id == message.alert_id,
            OutboxMessage.kind == "alert",
            OutboxMessage.id > message.id,
        )
        .limit(1)
    )
    if later is not None:
        return "the call-out went on by another channel"
    return None


def still_wanted_reasons(messages) -> dict[int, str]:
    """alert_still_wanted for a claimed batch at once (two reads, not two per call-out):
    {message id: why not to send it} for the call-outs that should not go out any more."""
    callouts = [m for m in messages if m.kind == "alert" and m.alert_id is not None]
    if not callouts:
        return {}
    alert_ids = {m.alert_id for m in callouts}
    statuses = dict(db.session.execute(select(Alert.id, Alert.status).where(Alert.id.in_(alert_ids))).tuples().all())
    latest = dict(
        db.session.execute(
            select(OutboxMessage.alert_id, func.max(OutboxMessage.id))
            .where(OutboxMessage.alert_id.in_(alert_ids), OutboxMessage.kind == "alert")
            .group_by(OutboxMessage.alert_id)
        )
        .tuples()
        .all()
    )
    reasons = {}
    for m in callouts:
        status = statuses.get(m.alert_id)
        if status not in ("queued", "sent"):
            reasons[m.id] = f"alert is {status or 'gone'}"
        elif latest.get(m.alert_id, m.id) > m.id:
            reasons[m.id] = "the call-out went on by another channel"
    return reasons


def expire_alerts(now: datetime | None = None, limit: int = 500) -> int:
    """Alerts whose reply clock ran out become `expired` and are replaced."""
    now = now or utcnow()
    due = db.session.execute(
        select(Alert.id, Alert.incident_id)
        .where(Alert.status.in_(("sent", "delivered")), Alert.expires_at <= now)
        .order_by(Alert.expires_at)
        .limit(limit)
    ).all()
    expired = 0
    for incident_id in sorted({row.incident_id for row in due}):
        incident = lock_incident(incident_id)
        for alert_id in (row.id for row in due if row.incident_id == incident_id):
            alert = db.session.get(Alert, alert_id)
            db.session.refresh(alert)
            if alert.status in ("sent", "delivered") and alert.expires_at <= now:
                alert.status = "expired"
                telegram_outbox.close_callout(alert, "expired")
                audit.record(
                    "scheduler",
                    "alert_expired",
                    incident_id=incident_id,
                    alert_id=alert.id,
                    volunteer_id=alert.volunteer_id,
                )
                expired += 1
        run_waves(incident, "scheduler", now)
        db.session.commit()
    return expired
