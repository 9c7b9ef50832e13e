"""Responders on scene, after they accept: ARRIVED, DONE, SAFE (by their replies or set by a
coordinator), the roll call, HELP from the scene, and the welfare check after an incident ends.

A responder's state is their accepted alert's times: `arrived_at`, `left_at`, `safe_at`; the
status shown is the latest of them (accepted < arrived < done, and safe whenever SAFE came
after the others). Every change happens with the incident row locked (alerting.lock_incident)
and is audited. The welfare check's deadlines are columns of the alert (`welfare_remind_at`,
`welfare_due_at`) that the scheduler's job claims with a conditional UPDATE (and SKIP LOCKED
on PostgreSQL), so a restart or a second scheduler neither loses nor repeats one.

Functions named after a reply (`reply_from_scene`, `help_from_scene`) are the inbox's: the
caller commits. The coordinator's use cases (`set_status`, `start_roll_call`) commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, update

from notifications.texts import render

from . import activity, alerting, audit, scopes
from .clock import isoformat, utcnow
from .coordinator_alerts import alert_coordinators
from .errors import DispatchError, NotFound
from .extensions import db
from .models import Alert, Incident, Need, User, Volunteer
from .outbox import enqueue

# The roll call: an unaccounted responder is highlighted this long after they were asked.
ROLL_CALL_OVERDUE = timedelta(minutes=5)
# A SAFE with nothing asked still counts for a responder who arrived this recently.
RECENT_SCENE = timedelta(hours=12)
SCENE_STATUSES = ("arrived", "done", "safe")


class NotArrived(DispatchError):
    status, code, message = 409, "NOT_ARRIVED", "This responder has not arrived on scene yet."


class AlreadyLeft(DispatchError):
    status, code, message = 409, "ALREADY_LEFT", "This responder has already left the scene."


class NobodyOnScene(DispatchError):
    status, code, message = 409, "NOBODY_ON_SCENE", "Nobody is on scene: there is no one to ask."


def responder_status(alert: Alert) -> str:
    """accepted | arrived | done | safe: the latest thing the responder reported."""
    if alert.safe_at is not None and alert.safe_at >= max(
        alert.arrived_at or alert.safe_at, alert.left_at or alert.safe_at
    ):
        return "safe"
    if alert.left_at is not None:
        return "done"
    if alert.arrived_at is not None:
        return "arrived"
    return "accepted"


def on_scene(alert: Alert) -> bool:
    return alert.status == "accepted" and alert.arrived_at is not None and alert.left_at is None


# -- the state changes (incident locked, caller commits) ----------------------------------------


def _arrive(alert: Alert, incident: Incident, actor: str, now: datetime) -> None:
    alert.arrived_at = now
    audit.record(
        actor, "responder_arrived", incident_id=incident.id, alert_id=alert.id, volunteer_id=alert.volunteer_id
    )
    volunteer = db.session.get(Volunteer, alert.volunteer_id)
    need = db.session.get(Need, alert.filled_need_id) if alert.filled_need_id else None
    activity.open_dispatch_record(alert, incident, volunteer, need.skill if need else None, now)


def _leave(alert: Alert, incident: Incident, actor: str, now: datetime) -> None:
    alert.left_at = now
    audit.record(actor, "responder_left", incident_id=incident.id, alert_id=alert.id, volunteer_id=alert.volunteer_id)
    activity.close_dispatch_record(alert.id, now, "done")


def _safe(alert: Alert, incident: Incident, actor: str, now: datetime) -> None:
    details = {
        "roll_call": alert.roll_call_at is not None and (alert.safe_at is None or alert.safe_at < alert.roll_call_at),
        "welfare": alert.welfare_due_at is not None or alert.welfare_overdue_at is not None,
        "help": alert.help_requested_at is not None,
    }
    alert.safe_at = now
    alert.help_requested_at = None
    alert.welfare_remind_at = alert.welfare_due_at = alert.welfare_overdue_at = None
    audit.record(
        actor,
        "responder_safe",
        incident_id=incident.id,
        alert_id=alert.id,
        volunteer_id=alert.volunteer_id,
        details={k: v for k, v in details.items() if v},
    )


# -- replies by SMS (the inbox commits) -------------------------------------------------------


def _accepted(volunteer_id: int, code: str | None, *where) -> list[Alert]:
    """The volunteer's accepted alerts (of the incident with this code, when given), open
    incidents first, then the most recent."""
    query = (
        select(Alert)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Alert.volunteer_id == volunteer_id, Alert.status == "accepted", *where)
        .order_by(Incident.status.in_(("dispatching", "staffed", "unfilled")).desc(), Alert.responded_at.desc())
    )
    if code is not None:
        query = query.where(Incident.code == code)
    return list(db.session.scalars(query))


def reply_from_scene(
    volunteer: Volunteer, intent: str, code: str | None, actor: str, alert_id: int | None = None
) -> tuple[str, int | None]:
    """ARRIVED, DONE or SAFE by SMS (or a button of the reply link page, for `alert_id` alone):
    (outcome, incident id). The answer SMS is queued here; a reply that does not fit the
    responder's state changes nothing and says why."""
    now = utcnow()
    only = (Alert.id == alert_id,) if alert_id is not None else ()
    if intent == "arrived":
        return _arrived_reply(volunteer, code, actor, now, *only)
    if intent == "done":
        return _done_reply(volunteer, code, actor, now, *only)
    return _safe_reply(volunteer, code, actor, now, *only)


def _arrived_reply(volunteer: Volunteer, code: str | None, actor: str, now: datetime, *only) -> tuple[str, int | None]:
    alerts = _accepted(volunteer.id, code, *only)
    if not alerts:
        _tell_volunteer(volunteer, "not_on_scene")
        return "not_on_scene", None
    waiting = [a for a in alerts if a.arrived_at is None] or alerts
    alert = waiting[0]
    incident = alerting.lock_incident(alert.incident_id)
    db.session.refresh(alert)
    if not incident.is_open:
        alerting.tell(
            volunteer.id, incident, incident.status if incident.status in ("closed", "cancelled") else "closed"
        )
        return "incident_ended", incident.id
    if alert.left_at is not None:
        alerting.tell(volunteer.id, incident, "left")
        return "already_left", incident.id
    if alert.arrived_at is not None:
        alerting.tell(volunteer.id, incident, "arrived")
        return "already_arrived", incident.id
    _arrive(alert, incident, actor, now)
    alerting.tell(volunteer.id, incident, "arrived")
    return "arrived", incident.id


def _done_reply(volunteer: Volunteer, code: str | None, actor: str, now: datetime, *only) -> tuple[str, int | None]:
    alerts = _accepted(volunteer.id, code, *only)
    here = [a for a in alerts if a.arrived_at is not None and a.left_at is None]
    if not here:
        not_yet = [a for a in alerts if a.arrived_at is None]
        if not_yet:
            incident = db.session.get(Incident, not_yet[0].incident_id)
            alerting.tell(volunteer.id, incident, "not_arrived")
            return "not_arrived", incident.id
        gone = [a for a in alerts if a.left_at is not None]
        if gone:
            incident = db.session.get(Incident, gone[0].incident_id)
            alerting.tell(volunteer.id, incident, "left")
            return "already_left", incident.id
        _tell_volunteer(volunteer, "not_on_scene")
        return "not_on_scene", None
    alert = here[0]
    incident = alerting.lock_incident(alert.incident_id)
    db.session.refresh(alert)
    if alert.left_at is not None:  # a DONE by another channel a moment ago
        alerting.tell(volunteer.id, incident, "left")
        return "already_left", incident.id
    _leave(alert, incident, actor, now)
    alerting.tell(volunteer.id, incident, "left")
    return "left", incident.id


def waiting_for_safe(alert: Alert) -> bool:
    """A roll call, a welfare check or a HELP of this responder waits for their SAFE."""
    return (
        (alert.roll_call_at is not None and (alert.safe_at is None or alert.safe_at < alert.roll_call_at))
        or alert.welfare_due_at is not None
        or alert.welfare_overdue_at is not None
        or alert.help_requested_at is not None
    )


def _safe_reply(volunteer: Volunteer, code: str | None, actor: str, now: datetime, *only) -> tuple[str, int | None]:
    """SAFE answers everything that waits for it (a roll call, a welfare check, a HELP), on
    every incident; with nothing asked, it is noted for the latest responder who arrived."""
    arrived = _accepted(volunteer.id, code, Alert.arrived_at.is_not(None), *only)
    chosen = [a for a in arrived if waiting_for_safe(a)]
    if not chosen:
        chosen = [a for a in arrived if a.arrived_at > now - RECENT_SCENE and (a.left_at is None or a.safe_at is None)][
            :1
        ]
    if not chosen:
        _tell_volunteer(volunteer, "safe_thanks")
        return "safe_noted", None
    incident = None
    for alert_id, incident_id in sorted((a.id, a.incident_id) for a in chosen):
        incident = alerting.lock_incident(incident_id)
        alert = db.session.get(Alert, alert_id)
        db.session.refresh(alert)
        _safe(alert, incident, actor, now)
    alerting.tell(volunteer.id, incident, "safe")
    return "safe", incident.id


def help_from_scene(volunteer: Volunteer, actor: str, alert_id: int | None = None) -> tuple[str, int | None] | None:
    """HELP from a responder on scene (or one the welfare check still waits for): the
    coordinators are alerted at once and the incident lists them under help_requested. None
    when they are not on scene: HELP is then the usual help text. `alert_id`: that call-out
    alone (the reply link page's button)."""
    only = (Alert.id == alert_id,) if alert_id is not None else ()
    alerts = [
        a
        for a in _accepted(volunteer.id, None, Alert.arrived_at.is_not(None), *only)
        if a.left_at is None or a.welfare_due_at is not None or a.welfare_overdue_at is not None
    ]
    if not alerts:
        return None
    now = utcnow()
    incident = None
    for alert_id, incident_id in sorted((a.id, a.incident_id) for a in alerts):
        incident = alerting.lock_incident(incident_id)
        alert = db.session.get(Alert, alert_id)
        db.session.refresh(alert)
        alert.help_requested_at = now
        audit.record(actor, "help_requested", incident_id=incident.id, alert_id=alert.id, volunteer_id=volunteer.id)
        alert_coordinators(
            incident,
            "coordinator_help",
            name=volunteer.name or f"#{volunteer.id}",
            phone=volunteer.phone or "",
        )
    alerting.tell(volunteer.id, incident, "help_on_scene")
    return "help_on_scene", incident.id


def _tell_volunteer(volunteer: Volunteer, template: str) -> None:
    enqueue(volunteer, template, render(template, volunteer.language))


# -- a coordinator sets a state ---------------------------------------------------------------


def set_status(incident_id: int, volunteer_id: int, status: str, by: User) -> Alert:
    """arrived | done | safe, set by a coordinator (on the radio, at the scene). A sequence that
    cannot be (done before arrived, arrived again after leaving) is a 409 and changes nothing."""
    incident = alerting.lock_incident(_existing(incident_id))
    scopes.of(by).check_incident(incident)
    alert = db.session.scalar(
        select(Alert).where(
            Alert.incident_id == incident.id, Alert.volunteer_id == volunteer_id, Alert.status == "accepted"
        )
    )
    if alert is None:
        raise NotFound(f"Volunteer {volunteer_id} is not a responder of incident {incident_id}.")
    actor, now = f"user:{by.id}", utcnow()
    if status == "arrived":
        if alert.left_at is not None:
            raise AlreadyLeft()
        if alert.arrived_at is None:
            if not incident.is_open:
                from .incidents import IncidentEnded

                raise IncidentEnded()
            _arrive(alert, incident, actor, now)
    elif status == "done":
        if alert.arrived_at is None:
            raise NotArrived("This responder has not arrived on scene yet: set arrived first.")
        if alert.left_at is None:
            _leave(alert, incident, actor, now)
    else:
        if alert.arrived_at is None:
            raise NotArrived("Only a responder who arrived on scene can be marked safe.")
        _safe(alert, incident, actor, now)
    db.session.commit()
    return alert


def _existing(incident_id: int) -> int:
    if db.session.get(Incident, incident_id) is None:
        raise NotFound(f"No incident {incident_id}.")
    return incident_id


# -- the roll call ----------------------------------------------------------------------------


@dataclass
class RollCall:
    started_at: datetime | None
    asked: list[tuple[int, str | None]]  # (volunteer id, name)
    accounted: list[int]
    unaccounted: list[tuple[int, str | None]]
    overdue: bool  # asked over ROLL_CALL_OVERDUE ago, with someone still unaccounted
    elapsed_min: int = 0  # whole minutes since it started (the console's timer)

    def as_json(self) -> dict:
        return {
            "started_at": isoformat(self.started_at),
            "asked": len(self.asked),
            "accounted": len(self.accounted),
            "unaccounted": [vid for vid, _ in self.unaccounted],
        }


def start_roll_call(incident_id: int, by: User) -> RollCall:
    """Everyone on scene (arrived, not done) is asked by SMS to answer SAFE."""
    incident = alerting.lock_incident(_existing(incident_id))
    scopes.of(by).check_incident(incident)
    here = db.session.scalars(
        select(Alert)
        .where(
            Alert.incident_id == incident.id,
            Alert.status == "accepted",
            Alert.arrived_at.is_not(None),
            Alert.left_at.is_(None),
        )
        .order_by(Alert.id)
    ).all()
    if not here:
        raise NobodyOnScene()
    now = utcnow()
    incident.roll_call_at = now
    for alert in here:
        alert.roll_call_at = now
        alerting.tell(alert.volunteer_id, incident, "roll_call")
    audit.record(
        f"user:{by.id}",
        "roll_call_started",
        incident_id=incident.id,
        details={"volunteer_ids": [a.volunteer_id for a in here]},
    )
    db.session.commit()
    return roll_call(incident.id)


def roll_call(incident_id: int, now: datetime | None = None) -> RollCall:
    incident = db.session.get(Incident, _existing(incident_id))
    if incident.roll_call_at is None:
        return RollCall(None, [], [], [], False)
    now = now or utcnow()
    rows = db.session.execute(
        select(Alert.volunteer_id, Volunteer.name, Alert.safe_at)
        .join(Volunteer, Volunteer.id == Alert.volunteer_id)
        .where(Alert.incident_id == incident.id, Alert.roll_call_at == incident.roll_call_at)
        .order_by(Alert.id)
    ).all()
    started = incident.roll_call_at
    accounted = [vid for vid, _, safe_at in rows if safe_at is not None and safe_at >= started]
    unaccounted = [(vid, name) for vid, name, safe_at in rows if vid not in accounted]
    overdue = bool(unaccounted) and now - started >= ROLL_CALL_OVERDUE
    elapsed_min = max(0, int((now - started).total_seconds() // 60))
    return RollCall(started, [(vid, name) for vid, name, _ in rows], accounted, unaccounted, overdue, elapsed_min)


# -- the end of an incident and the welfare check ---------------------------------------------


def incident_ended(incident: Incident, now: datetime) -> None:
    """Called with the incident locked as it ends: open activity is closed (unverified), and
    each responder who arrived and has not said SAFE since is due a welfare check."""
    check_s = current_app.config["WELFARE_CHECK_S"]
    activity.close_for_incident(incident.id, now)
    alerts = db.session.scalars(
        select(Alert).where(Alert.incident_id == incident.id, Alert.status == "accepted", Alert.arrived_at.is_not(None))
    ).all()
    for alert in alerts:
        if alert.safe_at is not None and alert.safe_at >= (alert.left_at or now):
            continue
        alert.welfare_remind_at = now + timedelta(seconds=check_s / 2)
        alert.welfare_due_at = now + timedelta(seconds=check_s)


def _claimable(query, dialect: str):
    # PostgreSQL: many schedulers skip each other's rows; the conditional UPDATE decides anyway.
    return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query


def send_welfare_reminders(now: datetime | None = None, limit: int = 200) -> int:
    """The reminder at half time, once per responder: claimed by a conditional UPDATE."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    due = db.session.scalars(
        _claimable(
            select(Alert.id)
            .where(Alert.welfare_remind_at <= now, Alert.welfare_reminded_at.is_(None))
            .order_by(Alert.welfare_remind_at)
            .limit(limit),
            dialect,
        )
    ).all()
    sent = 0
    for alert_id in due:
        claimed = db.session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.welfare_remind_at <= now, Alert.welfare_reminded_at.is_(None))
            .values(welfare_reminded_at=now)
        ).rowcount
        if not claimed:
            continue
        alert = db.session.get(Alert, alert_id)
        incident = db.session.get(Incident, alert.incident_id)
        alerting.tell(alert.volunteer_id, incident, "welfare_reminder", title=incident.title)
        audit.record(
            "scheduler", "welfare_reminded", incident_id=incident.id, alert_id=alert.id, volunteer_id=alert.volunteer_id
        )
        sent += 1
    db.session.commit()
    return sent


def mark_welfare_overdue(now: datetime | None = None, limit: int = 200) -> int:
    """At WELFARE_CHECK_S with no SAFE: the incident lists them, and the coordinator who posted
    it gets one text per incident naming them."""
    now = now or utcnow()
    dialect = db.session.get_bind().dialect.name
    due = db.session.scalars(
        _claimable(
            select(Alert.id)
            .where(Alert.welfare_due_at <= now, Alert.welfare_overdue_at.is_(None))
            .order_by(Alert.welfare_due_at)
            .limit(limit),
            dialect,
        )
    ).all()
    overdue: dict[int, list[int]] = {}
    for alert_id in due:
        claimed = db.session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.welfare_due_at <= now, Alert.welfare_overdue_at.is_(None))
            .values(welfare_overdue_at=now)
        ).rowcount
        if claimed:
            alert = db.session.get(Alert, alert_id)
            overdue.setdefault(alert.incident_id, []).append(alert.volunteer_id)
            audit.record(
                "scheduler",
                "welfare_overdue",
                incident_id=alert.incident_id,
                alert_id=alert.id,
                volunteer_id=alert.volunteer_id,
            )
    minutes = round(current_app.config["WELFARE_CHECK_S"] / 60)
    for incident_id, volunteer_ids in overdue.items():
        incident = db.session.get(Incident, incident_id)
        names = db.session.scalars(select(Volunteer.name).where(Volunteer.id.in_(volunteer_ids))).all()
        alert_coordinators(
            incident,
            "coordinator_welfare",
            names=", ".join(name or "?" for name in names),
            minutes=minutes,
        )
    db.session.commit()
    return sum(len(v) for v in overdue.values())


# -- what the incident and the console show ----------------------------------------------------


def welfare_overdue_ids(incident_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Alert.volunteer_id)
            .where(Alert.incident_id == incident_id, Alert.welfare_overdue_at.is_not(None))
            .order_by(Alert.id)
        )
    )


def help_requested_ids(incident_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Alert.volunteer_id)
            .where(Alert.incident_id == incident_id, Alert.help_requested_at.is_not(None))
            .order_by(Alert.id)
        )
    )


@dataclass
class Concern:
    """An incident with responders whose safety is in question, for the console's banner."""

    incident_id: int
    code: str
    title: str
    welfare_overdue: list[str]
    help_requested: list[str]


def concerns(limit: int = 20, where: ColumnElement[bool] | None = None) -> list[Concern]:
    """`where` (a condition on Incident and Volunteer: a reader's scope) narrows whose are shown."""
    query = (
        select(
            Alert.incident_id,
            Incident.code,
            Incident.title,
            Volunteer.name,
            Volunteer.id,
            Alert.welfare_overdue_at,
            Alert.help_requested_at,
        )
        .join(Incident, Incident.id == Alert.incident_id)
        .join(Volunteer, Volunteer.id == Alert.volunteer_id)
        .where(or_(Alert.welfare_overdue_at.is_not(None), Alert.help_requested_at.is_not(None)))
        .order_by(Alert.incident_id.desc(), Alert.id)
        .limit(500)
    )
    if where is not None:
        query = query.where(where)
    rows = db.session.execute(query).all()
    found: dict[int, Concern] = {}
    for incident_id, code, title, name, volunteer_id, overdue_at, help_at in rows:
        concern = found.setdefault(incident_id, Concern(incident_id, code, title, [], []))
        label = name or f"#{volunteer_id}"
        if overdue_at is not None:
            concern.welfare_overdue.append(label)
        if help_at is not None:
            concern.help_requested.append(label)
    return list(found.values())[:limit]
