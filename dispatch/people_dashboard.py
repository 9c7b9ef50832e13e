"""Figures for the per-region and per-organisation dashboards: volunteers by skill, available now,
call-outs answered over a period, and the median time an incident took to fill its needs.

Every volunteer figure is counted over the volunteers the reader's scope holds (the caller passes
its clause): a regional coordinator looking at a neighbouring region sees only their own people
there. Incident figures are not personal (incidents are public, as on the board)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, select

from .clock import utcnow
from .extensions import db
from .models import Alert, Incident, Need, Volunteer
from .skills import SkillCatalogue

PERIODS = (7, 30, 90, 365)


@dataclass
class Picture:
    volunteers: int = 0
    available_now: int = 0
    by_skill: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    declined: int = 0
    silent: int = 0  # the call-out expired without an answer
    other: int = 0  # still waiting, stood down before answering, or never delivered
    incidents: int = 0
    filled: int = 0
    median_fill_minutes: float | None = None


def picture(
    volunteers_where: ColumnElement[bool],
    scope_clause: ColumnElement[bool] | None,
    incidents_where: ColumnElement[bool],
    days: int,
    catalogue: SkillCatalogue,
    now: datetime | None = None,
) -> Picture:
    """`volunteers_where`: whose figures (a region's, an organisation's); `incidents_where`: which
    incidents the time to fill is measured on."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    people = [volunteers_where, Volunteer.erased_at.is_(None)]
    if scope_clause is not None:
        people.append(scope_clause)
    free = and_(
        Volunteer.status == "active",
        Volunteer.available.is_(True),
        Volunteer.busy_until.is_(None) | (Volunteer.busy_until <= now),
    )
    columns = [func.count(Volunteer.id), func.coalesce(func.sum(case((free, 1), else_=0)), 0)]
    codes = list(catalogue.bits)
    columns += [
        func.coalesce(func.sum(case((Volunteer.skill_mask.op("&")(1 << catalogue.bits[code]) != 0, 1), else_=0)), 0)
        for code in codes
    ]
    row = db.session.execute(select(*columns).where(*people)).one()
    result = Picture(volunteers=int(row[0]), available_now=int(row[1]))
    result.by_skill = {code: int(n) for code, n in zip(codes, row[2:]) if n}

    answers = db.session.execute(
        select(Alert.status, func.count())
        .join(Volunteer, Volunteer.id == Alert.volunteer_id)
        .where(*people, Alert.created_at >= since)
        .group_by(Alert.status)
    ).all()
    for status, count in answers:
        if status in ("accepted", "declined"):
            setattr(result, status, getattr(result, status) + count)
        elif status == "expired":
            result.silent += count
        else:
            result.other += count

    result.incidents, result.filled, result.median_fill_minutes = _fill_times(incidents_where, since)
    return result


def _fill_times(incidents_where: ColumnElement[bool], since: datetime) -> tuple[int, int, float | None]:
    """(incidents in the period, how many had every need filled, median minutes from posting to
    the accept that filled the last place). Drills are left out."""
    needs = db.session.execute(
        select(Incident.id, Incident.created_at, func.sum(Need.count), func.sum(Need.filled))
        .join(Need, Need.incident_id == Incident.id)
        .where(incidents_where, Incident.created_at >= since, Incident.drill.is_(False))
        .group_by(Incident.id, Incident.created_at)
    ).all()
    full = {incident_id: created for incident_id, created, wanted, filled in needs if filled >= wanted}
    if not full:
        return len(needs), 0, None
    last_accepts = db.session.execute(
        select(Alert.incident_id, func.max(Alert.responded_at))
        .where(Alert.incident_id.in_(sorted(full)), Alert.filled_need_id.is_not(None))
        .group_by(Alert.incident_id)
    ).all()
    minutes = [
        (last - full[incident_id]).total_seconds() / 60 for incident_id, last in last_accepts if last is not None
    ]
    return len(needs), len(full), statistics.median(minutes) if minutes else None


def called_incidents(volunteers_where: ColumnElement[bool]):
    """Incidents where someone of these volunteers was called out (an organisation's)."""
    return Incident.id.in_(
        select(Alert.incident_id).join(Volunteer, Volunteer.id == Alert.volunteer_id).where(volunteers_where)
    )


def region_counts(scope_clause: ColumnElement[bool] | None) -> dict[str | None, int]:
    """Volunteers (not erased, in scope) per region: the dashboards' index."""
    query = select(Volunteer.region, func.count()).where(Volunteer.erased_at.is_(None)).group_by(Volunteer.region)
    if scope_clause is not None:
        query = query.where(scope_clause)
    return {region: int(count) for region, count in db.session.execute(query)}


def organization_counts(scope_clause: ColumnElement[bool] | None) -> dict[int, int]:
    query = (
        select(Volunteer.organization_id, func.count())
        .where(Volunteer.erased_at.is_(None), Volunteer.organization_id.is_not(None))
        .group_by(Volunteer.organization_id)
    )
    if scope_clause is not None:
        query = query.where(scope_clause)
    return {organization_id: int(count) for organization_id, count in db.session.execute(query)}
