"""The register of volunteer activity (Law No. 42-VI "On volunteer activity"): one record per
piece of activity, with who, which organisation, which programme or action (an incident, or a
named training or event), where, from when to when, how many hours, how it was recorded and
whether a coordinator stands behind it.

Dispatch activity is recorded from ARRIVED to DONE (dispatch/responders.py). A record left open
is closed when its incident ends, or MAX_OPEN after it started, and is then unverified until a
coordinator verifies or corrects it. Coordinators also enter activity outside dispatch. Every
correction is an audit event with the values before and after and the coordinator's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from notifications.texts import render

from . import audit, scopes
from .clock import isoformat, utcnow
from .errors import NotFound, ValidationFailed
from .extensions import db
from .models import Activity, Alert, Incident, User, Volunteer
from .outbox import enqueue
from .schemas import ActivityIn, ActivityPatch
from .skills import SkillCatalogue

# A dispatch record nobody closed ends this long after it started (and is unverified).
MAX_OPEN = timedelta(hours=12)
# A record entered by hand covers at most this long, and may end at most SKEW in the future.
MAX_RECORD = timedelta(hours=24)
SKEW = timedelta(minutes=5)
LOCAL_TZ = ZoneInfo("Asia/Almaty")
# Fields a correction may change, and what the audit keeps of them.
CORRECTABLE = ("started_at", "ended_at", "activity", "skill", "place")


def _duration_s(started_at: datetime, ended_at: datetime) -> int:
    return max(0, round((ended_at - started_at).total_seconds()))


def hours(duration_s: int | None) -> float | None:
    """Seconds as hours to two decimals (the register's unit)."""
    return None if duration_s is None else round(duration_s / 3600, 2)


# -- dispatch records (called by responders with the incident locked; the caller commits) -----


def open_dispatch_record(alert: Alert, incident: Incident, volunteer: Volunteer, skill: str | None, now: datetime):
    record = Activity(
        volunteer_id=volunteer.id,
        incident_id=incident.id,
        alert_id=alert.id,
        organization_id=volunteer.organization_id,
        organization=volunteer.organization_name,
        place=incident.place or incident.address or f"{incident.lat:.5f},{incident.lon:.5f}",
        skill=skill,
        started_at=now,
        source="dispatch",
        verified=False,
    )
    db.session.add(record)
    return record


def close_dispatch_record(alert_id: int, now: datetime, reason: str) -> None:
    """DONE: the record ends now. The volunteer's own report is the dispatch's record: verified."""
    record = db.session.scalar(select(Activity).where(Activity.alert_id == alert_id, Activity.ended_at.is_(None)))
    if record is None:
        return
    _end(record, max(now, record.started_at), reason, verified=True)


def close_for_incident(incident_id: int, now: datetime) -> int:
    """The incident ended with records still open: they end now, unverified."""
    records = db.session.scalars(
        select(Activity).where(Activity.incident_id == incident_id, Activity.ended_at.is_(None))
    ).all()
    for record in records:
        _end(record, max(now, record.started_at), "incident_ended", verified=False)
        audit.record(
            "system",
            "activity_closed",
            incident_id=incident_id,
            volunteer_id=record.volunteer_id,
            details={"activity_id": record.id, "reason": "incident_ended"},
        )
    return len(records)


def _end(record: Activity, ended_at: datetime, reason: str, verified: bool) -> None:
    record.ended_at, record.end_reason = ended_at, reason
    record.duration_s = _duration_s(record.started_at, ended_at)
    record.verified = verified


def close_stale(now: datetime | None = None, limit: int = 500) -> int:
    """Records open for MAX_OPEN end MAX_OPEN after they started, unverified (the scheduler's;
    a conditional UPDATE per record, so two schedulers close each one once)."""
    now = now or utcnow()
    stale = db.session.execute(
        select(Activity.id, Activity.started_at, Activity.volunteer_id, Activity.incident_id)
        .where(Activity.ended_at.is_(None), Activity.started_at <= now - MAX_OPEN)
        .order_by(Activity.started_at)
        .limit(limit)
    ).all()
    closed = 0
    for record_id, started_at, volunteer_id, incident_id in stale:
        ended_at = started_at + MAX_OPEN
        done = db.session.execute(
            update(Activity)
            .where(Activity.id == record_id, Activity.ended_at.is_(None))
            .values(
                ended_at=ended_at,
                end_reason="timed_out",
                duration_s=_duration_s(started_at, ended_at),
                verified=False,
                updated_at=now,
            )
        ).rowcount
        if done:
            closed += 1
            audit.record(
                "scheduler",
                "activity_closed",
                incident_id=incident_id,
                volunteer_id=volunteer_id,
                details={"activity_id": record_id, "reason": "timed_out"},
            )
    db.session.commit()
    return closed


# -- records entered and corrected by coordinators ---------------------------------------------


def _check_period(started_at: datetime, ended_at: datetime, now: datetime) -> None:
    problems = {}
    if ended_at <= started_at:
        problems["ended_at"] = "must be after started_at"
    elif ended_at - started_at > MAX_RECORD:
        problems["ended_at"] = f"a record covers at most {MAX_RECORD.total_seconds() / 3600:g} hours"
    if ended_at > now + SKEW:
        problems.setdefault("ended_at", "must not be in the future")
    if started_at > now + SKEW:
        problems["started_at"] = "must not be in the future"
    if problems:
        raise ValidationFailed(
            "The period of the activity is not valid: " + "; ".join(f"{k} {v}" for k, v in problems.items()) + ".",
            {"fields": problems},
        )


def _check_skill(skill: str | None) -> None:
    if skill is not None and skill not in SkillCatalogue.load().bits:
        raise ValidationFailed(
            f"unknown skill {skill!r}; GET /api/v1/skills lists them", {"fields": {"skill": "unknown skill"}}
        )


def record_activity(data: ActivityIn, by: User) -> Activity:
    """Activity outside dispatch: entered by a coordinator, so verified by them."""
    volunteer = db.session.get(Volunteer, data.volunteer_id)
    if volunteer is None or volunteer.erased_at is not None or not scopes.of(by).holds_volunteer(volunteer):
        raise ValidationFailed(f"No volunteer {data.volunteer_id}.", {"fields": {"volunteer_id": "no such volunteer"}})
    now = utcnow()
    _check_period(data.started_at, data.ended_at, now)
    _check_skill(data.skill)
    record = Activity(
        volunteer_id=volunteer.id,
        activity=data.activity,
        organization_id=volunteer.organization_id,
        organization=volunteer.organization_name,
        place=data.place,
        skill=data.skill,
        started_at=data.started_at,
        ended_at=data.ended_at,
        duration_s=_duration_s(data.started_at, data.ended_at),
        source="manual",
        end_reason="entered",
        verified=True,
        verified_by_id=by.id,
        verified_at=now,
        recorded_by_id=by.id,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        f"user:{by.id}",
        "activity_recorded",
        volunteer_id=volunteer.id,
        details={"activity_id": record.id, **_values(record)},
    )
    db.session.commit()
    return record


def _values(record: Activity) -> dict:
    return {
        "started_at": isoformat(record.started_at),
        "ended_at": isoformat(record.ended_at),
        "activity": record.activity,
        "skill": record.skill,
        "place": record.place,
        "verified": record.verified,
    }


def get_activity(activity_id: int, reader: User | None = None) -> Activity:
    """One record; 404 when there is none, or when its volunteer is outside `reader`'s scope."""
    record = db.session.scalar(
        select(Activity)
        .join(Volunteer, Volunteer.id == Activity.volunteer_id)
        .where(Activity.id == activity_id, *in_scope(reader))
    )
    if record is None:
        raise NotFound(f"No activity record {activity_id}.")
    return record


def correct_activity(activity_id: int, patch: ActivityPatch, by: User) -> Activity:
    """Verify and/or correct a record. The audit keeps the values before, the values after and
    the reason; a change of times or facts marks the record corrected."""
    get_activity(activity_id, by)  # 404 outside their scope
    record = db.session.scalar(select(Activity).where(Activity.id == activity_id).with_for_update())
    if record is None:
        raise NotFound(f"No activity record {activity_id}.")
    changes = patch.model_dump(exclude_unset=True)
    changes.pop("reason")
    for name in ("started_at", "ended_at", "activity"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name} cannot be null.", {"fields": {name: "cannot be null"}})
    if not changes:
        raise ValidationFailed(
            "Nothing to change: give verified or a corrected field.", {"fields": {"body": "nothing to change"}}
        )
    now = utcnow()
    started_at = changes.get("started_at", record.started_at)
    ended_at = changes.get("ended_at", record.ended_at)
    if ended_at is None:
        raise ValidationFailed(
            "This record is still open: give ended_at to close it.", {"fields": {"ended_at": "required"}}
        )
    if "started_at" in changes or "ended_at" in changes:
        _check_period(started_at, ended_at, now)
    if "skill" in changes:
        _check_skill(changes["skill"])
    before = _values(record)
    corrected = [name for name in CORRECTABLE if name in changes and changes[name] != getattr(record, name)]
    for name in corrected:
        setattr(record, name, changes[name])
    if record.ended_at is not None and (
        "started_at" in corrected or "ended_at" in corrected or record.duration_s is None
    ):
        # Only a change of times recounts the hours: an imported record's hours may be fewer
        # than its span (a programme of several days), and a verification keeps them.
        record.duration_s = _duration_s(record.started_at, record.ended_at)
        record.end_reason = record.end_reason or "entered"
    if corrected:
        record.corrected_at = now
    if "verified" in changes and changes["verified"] is not None:
        record.verified = changes["verified"]
    elif corrected:
        record.verified = True  # a coordinator who corrects a record stands behind it
    if record.verified:
        record.verified_by_id, record.verified_at = by.id, now
    else:
        record.verified_by_id = record.verified_at = None
    audit.record(
        f"user:{by.id}",
        "activity_corrected" if corrected else "activity_verified",
        incident_id=record.incident_id,
        volunteer_id=record.volunteer_id,
        details={"activity_id": record.id, "reason": patch.reason, "before": before, "after": _values(record)},
    )
    db.session.commit()
    return record


def corrections(activity_id: int, reader: User | None = None) -> list[dict]:
    """The audit of one record: every verification and correction, oldest first."""
    from .models import AuditEvent

    record = get_activity(activity_id, reader)
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.volunteer_id == record.volunteer_id,
            AuditEvent.event.in_(
                ("activity_recorded", "activity_imported", "activity_corrected", "activity_verified", "activity_closed")
            ),
        )
        .order_by(AuditEvent.id)
    )
    return [
        {"at": isoformat(e.at), "actor": e.actor, "event": e.event, "details": e.details or {}}
        for e in events
        if (e.details or {}).get("activity_id") == record.id
    ]


# -- reading the register ------------------------------------------------------------------


@dataclass
class ActivityFilter:
    volunteer_id: int | None = None
    organization: str | None = None  # the name copied at the time, exactly
    organization_id: int | None = None
    region: str | None = None  # the volunteer's region (ISO 3166-2)
    incident_id: int | None = None
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive
    page: int = 1
    per_page: int = 100
    # Who reads: the one place where a user's scope (regions, organisations) will narrow what
    # they may see, for the list, the exports and the totals alike (issue 15; see in_scope).
    reader: User | None = None


def local_day_start(day: date) -> datetime:
    """The first moment of a day in Kazakhstan (Asia/Almaty), as naive UTC."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def _rows():
    return (
        select(Activity, Volunteer.name, Incident.kind, Incident.title, Volunteer.region)
        .join(Volunteer, Volunteer.id == Activity.volunteer_id)
        .outerjoin(Incident, Incident.id == Activity.incident_id)
    )


def in_scope(reader: User | None) -> list:
    """Conditions on Activity/Volunteer limiting the register to what `reader` may see: the
    activity of the volunteers in their scope (dispatch/scopes.py). THE single place: every read
    of the register (the JSON list, the CSV and XLSX exports, the console totals) goes through
    conditions()."""
    clause = scopes.of(reader).volunteer_clause()
    return [] if clause is None else [clause]


def conditions(flt: ActivityFilter) -> list:
    """The WHERE of a filter; they may name Volunteer columns (the query joins volunteers)."""
    where = in_scope(flt.reader)
    if flt.volunteer_id is not None:
        where.append(Activity.volunteer_id == flt.volunteer_id)
    if flt.organization is not None:
        where.append(Activity.organization == flt.organization)
    if flt.organization_id is not None:
        where.append(Activity.organization_id == flt.organization_id)
    if flt.region is not None:
        where.append(Volunteer.region == flt.region)
    if flt.incident_id is not None:
        where.append(Activity.incident_id == flt.incident_id)
    if flt.since is not None:
        where.append(Activity.started_at >= flt.since)
    if flt.until is not None:
        where.append(Activity.started_at < flt.until)
    return where


def count_and_seconds(flt: ActivityFilter) -> tuple[int, int]:
    """(records, seconds) the filter selects."""
    total, seconds = db.session.execute(
        select(func.count(Activity.id), func.coalesce(func.sum(Activity.duration_s), 0))
        .join(Volunteer, Volunteer.id == Activity.volunteer_id)
        .where(*conditions(flt))
    ).one()
    return int(total), int(seconds)


def activity_row(activity_id: int, reader: User | None = None) -> tuple:
    """(Activity, volunteer name, incident kind, incident title, region) of one record; 404 out
    of `reader`'s scope."""
    row = db.session.execute(_rows().where(Activity.id == activity_id, *in_scope(reader))).first()
    if row is None:
        raise NotFound(f"No activity record {activity_id}.")
    return tuple(row)


def list_activity(flt: ActivityFilter) -> tuple[list[tuple], int, float]:
    """(rows, total, total hours): rows are (Activity, volunteer name, incident kind, incident
    title, region), newest first. A record belongs to the period it started in."""
    total, seconds = count_and_seconds(flt)
    rows = db.session.execute(
        _rows()
        .where(*conditions(flt))
        .order_by(Activity.started_at.desc(), Activity.id.desc())
        .limit(flt.per_page)
        .offset((flt.page - 1) * flt.per_page)
    ).all()
    return [tuple(row) for row in rows], total, hours(seconds)


# -- HOURS: the volunteer's own view --------------------------------------------------------------


def hours_of(volunteer_id: int, now: datetime | None = None) -> tuple[float, float]:
    """(hours this calendar year in Kazakhstan, hours in the last 30 days) of closed records."""
    now = now or utcnow()
    local_today = now.replace(tzinfo=UTC).astimezone(LOCAL_TZ).date()
    year_start = local_day_start(date(local_today.year, 1, 1))
    since = min(year_start, now - timedelta(days=30))
    rows = db.session.execute(
        select(Activity.started_at, Activity.duration_s).where(
            Activity.volunteer_id == volunteer_id,
            Activity.duration_s.is_not(None),
            Activity.started_at >= since,
            Activity.started_at <= now,
        )
    ).all()
    year = sum(s for started, s in rows if started >= year_start)
    recent = sum(s for started, s in rows if started >= now - timedelta(days=30))
    return hours(year) or 0.0, hours(recent) or 0.0


def answer_hours(volunteer: Volunteer) -> str:
    """HOURS by SMS: the answer gives the recorded hours (the inbox commits)."""
    year, recent = hours_of(volunteer.id)
    enqueue(volunteer, "hours", render("hours", volunteer.language, year_hours=year, recent_hours=recent))
    return "hours"
