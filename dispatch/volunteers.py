"""Use cases on the volunteer registry: register, update, erase, list, and bulk CSV import."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import false, func, select

from geo import Point, bounding_box, nearest_within
from notifications.phones import InvalidPhone, normalize_phone

from . import audit, organizations, scopes
from .clock import quiet_minutes, utcnow
from .errors import DuplicatePhone, NotFound, ValidationFailed
from .extensions import db
from .gazetteer import region_for
from .models import Incident, User, Volunteer
from .prefilter import bbox_clause
from .schemas import VolunteerIn, VolunteerPatch
from .skills import SkillCatalogue


def phone_region() -> str:
    return current_app.config["DEFAULT_PHONE_REGION"]


def checked_phone(text: str) -> str:
    try:
        return normalize_phone(text, phone_region())
    except InvalidPhone as exc:
        raise ValidationFailed(str(exc), {"fields": {"phone": str(exc)}}) from None


def checked_skill_mask(codes: list[str], catalogue: SkillCatalogue) -> int:
    unknown = catalogue.unknown(codes)
    if unknown:
        message = f"unknown skill {', '.join(map(repr, unknown))}; GET /api/v1/skills lists them"
        raise ValidationFailed(message, {"fields": {"skills": message}})
    return catalogue.mask_of(codes)


def register_volunteer(data: VolunteerIn, catalogue: SkillCatalogue, home: Point, actor: str) -> Volunteer:
    """`home`: the volunteer's coordinates (given, or geocoded)."""
    phone = checked_phone(data.phone)
    if db.session.scalar(select(Volunteer.id).where(Volunteer.phone == phone)) is not None:
        raise DuplicatePhone(details={"phone": phone})
    volunteer = Volunteer(
        name=data.name,
        phone=phone,
        lat=home.lat,
        lon=home.lon,
        skill_mask=checked_skill_mask(data.skills, catalogue),
        language=data.language,
        organization_id=organizations.resolve(data.organization_id, data.organization),
        region=region_for(home.lat, home.lon, data.region),
        birth_date=data.birth_date,
        status="active",
        available=True,
    )
    if data.max_distance_km is not None:
        volunteer.max_distance_km = data.max_distance_km
    volunteer.quiet_from_min, volunteer.quiet_to_min = quiet_minutes(data.quiet_hours)
    db.session.add(volunteer)
    db.session.flush()
    audit.record(actor, "volunteer_registered", volunteer_id=volunteer.id)
    db.session.commit()
    return volunteer


def get_volunteer(volunteer_id: int) -> Volunteer:
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFound(f"No volunteer {volunteer_id}.")
    return volunteer


def note_read(reader: str, why: str, *, volunteer_id: int | None = None, count: int = 1) -> None:
    """A person read volunteers' full records (phone, exact home): who, when and why ("registry",
    or "incident:<id>") go to the audit trail. One event per request: a list names how many it
    showed, not each volunteer (a page of 200 is one event). Called once the answer is built, so
    the records are read before the commit expires them; an answer is only sent once this holds."""
    if count <= 0:
        return
    details = {"why": why} if volunteer_id is not None else {"why": why, "count": count}
    audit.record(
        reader,
        "volunteer_read" if volunteer_id is not None else "volunteers_read",
        volunteer_id=volunteer_id,
        details=details,
    )
    db.session.commit()


def read_reason(incident_id: int | None) -> str:
    """Why a record is read: for an incident (which must exist), else the registry."""
    if incident_id is None:
        return "registry"
    if db.session.get(Incident, incident_id) is None:
        raise ValidationFailed(f"No incident {incident_id}.", {"fields": {"incident_id": "no such incident"}})
    return f"incident:{incident_id}"


def update_volunteer(
    volunteer_id: int, patch: VolunteerPatch, catalogue: SkillCatalogue, actor: str, home: Point | None = None
) -> Volunteer:
    """Only the fields the patch sets change. `home`: a geocoded address, which replaces lat and lon."""
    volunteer = get_volunteer(volunteer_id)
    changes = patch.model_dump(exclude_unset=True)
    changes.pop("address", None)
    if "organization" in changes or "organization_id" in changes:
        # Named by id or by name (or both, agreeing); null (in what is given) takes them out of it.
        changes["organization_id"] = organizations.resolve(
            changes.get("organization_id"), changes.pop("organization", None), volunteer.organization_id
        )
    if home is not None:
        changes["lat"], changes["lon"] = home.lat, home.lon
    if "quiet_hours" in changes:
        volunteer.quiet_from_min, volunteer.quiet_to_min = quiet_minutes(changes.pop("quiet_hours"))
    if volunteer.erased_at is not None:
        raise ValidationFailed("This volunteer was deleted and their personal data erased.")
    for required in (
        "name",
        "phone",
        "lat",
        "lon",
        "language",
        "max_distance_km",
        "skills",
        "available",
        "preferred_channel",
    ):
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null.", {"fields": {required: "cannot be null"}})
    if "phone" in changes:
        phone = checked_phone(changes.pop("phone"))
        clash = db.session.scalar(select(Volunteer.id).where(Volunteer.phone == phone, Volunteer.id != volunteer.id))
        if clash is not None:
            raise DuplicatePhone(details={"phone": phone})
        volunteer.phone = phone
    if changes.get("preferred_channel") == "telegram" and volunteer.telegram_chat_id is None:
        message = "This volunteer has no linked Telegram chat; link one first (POST .../telegram-link)."
        raise ValidationFailed(message, {"fields": {"preferred_channel": "no linked Telegram chat"}})
    if "skills" in changes:
        volunteer.skill_mask = checked_skill_mask(changes.pop("skills"), catalogue)
    if "status" in changes:
        status = changes.pop("status")
        if volunteer.status == "opted_out" and status == "active":
            # Only the volunteer can undo an opt-out (by texting START): the law and trust both say so.
            raise ValidationFailed(
                "This volunteer opted out by SMS; only they can opt back in by texting START.",
                {"fields": {"status": "opted out by the volunteer"}},
            )
        volunteer.status = status
    moved = ("lat" in changes or "lon" in changes) and "region" not in changes
    if "region" in changes or moved:
        # A new point brings its own region unless the patch names one; region null derives it again.
        changes["region"] = region_for(
            changes.get("lat", volunteer.lat), changes.get("lon", volunteer.lon), changes.get("region")
        )
    for name, value in changes.items():
        setattr(volunteer, name, value)
    # Which fields changed, not their values: the trail must not become a copy of personal data.
    audit.record(
        actor,
        "volunteer_updated",
        volunteer_id=volunteer.id,
        details={"fields": sorted(patch.model_dump(exclude_unset=True))},
    )
    db.session.commit()
    return volunteer


def erase_volunteer(volunteer_id: int, actor: str) -> None:
    """Deactivate and erase what identifies the person; their anonymous history stays."""
    volunteer = get_volunteer(volunteer_id)
    volunteer.name = None
    volunteer.phone = None
    volunteer.lat = None
    volunteer.lon = None
    volunteer.organization_id = None
    volunteer.telegram_chat_id = volunteer.telegram_user_id = None
    volunteer.preferred_channel = "sms"
    volunteer.region = None
    volunteer.status = "inactive"
    volunteer.available = False
    if volunteer.erased_at is None:
        volunteer.erased_at = utcnow()
        audit.record(actor, "volunteer_erased", volunteer_id=volunteer.id)
    db.session.commit()


@dataclass
class VolunteerFilter:
    skill: str | None = None
    available: bool | None = None
    status: str | None = None
    organization: str | None = None  # by name, case and spacing ignored
    organization_id: int | None = None
    region: str | None = None
    page: int = 1
    per_page: int = 50
    near: Point | None = None
    radius_km: float = 10.0
    # For a reader who may not know exact homes (a viewer): near= measures from the home rounded
    # as they see it, so neither distances nor who falls inside a radius tell more than that.
    coarse: bool = False
    # Who reads: only the volunteers of their scope are listed and counted (dispatch/scopes.py).
    reader: User | None = None


@dataclass
class VolunteerPage:
    items: list[Volunteer]
    total: int
    page: int
    per_page: int
    distances_km: dict[int, float] = field(default_factory=dict)


def list_volunteers(flt: VolunteerFilter, catalogue: SkillCatalogue) -> VolunteerPage:
    query = select(Volunteer)
    in_scope = scopes.of(flt.reader).volunteer_clause()
    if in_scope is not None:
        query = query.where(in_scope)
    if flt.skill is not None:
        checked_skill_mask([flt.skill], catalogue)
        bit = 1 << catalogue.bits[flt.skill]
        query = query.where(Volunteer.skill_mask.op("&")(bit) != 0)
    if flt.status is not None:
        query = query.where(Volunteer.status == flt.status)
    if flt.organization is not None:
        named = organizations.by_name(flt.organization)
        query = query.where(Volunteer.organization_id == named.id if named is not None else false())
    if flt.organization_id is not None:
        query = query.where(Volunteer.organization_id == flt.organization_id)
    if flt.region is not None:
        query = query.where(Volunteer.region == flt.region)
    if flt.available is not None:
        now = utcnow()
        free = (
            (Volunteer.status == "active")
            & Volunteer.available.is_(True)
            & (Volunteer.busy_until.is_(None) | (Volunteer.busy_until <= now))
        )
        query = query.where(free if flt.available else ~free)
    offset = (flt.page - 1) * flt.per_page
    if flt.near is not None:
        return _nearest_page(query, flt, offset)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.order_by(Volunteer.id).limit(flt.per_page).offset(offset)).all()
    return VolunteerPage(items=list(items), total=total, page=flt.page, per_page=flt.per_page)


# Homes as a viewer sees them: to 2 decimals (about 1 km), like the public board's incidents.
COARSE_DIGITS = 2
# How far a rounded home can be from the true one (half of 0.01 degree on both axes), and more.
COARSE_MARGIN_KM = 1.0


def _nearest_page(query, flt: VolunteerFilter, offset: int) -> VolunteerPage:
    """Nearest first: the box prefilter reads plain rows, geo decides exactly who is within."""
    box = bounding_box(flt.near, flt.radius_km + (COARSE_MARGIN_KM if flt.coarse else 0.0))
    rows = db.session.execute(
        query.with_only_columns(Volunteer.id, Volunteer.lat, Volunteer.lon).where(bbox_clause(box))
    ).all()
    if flt.coarse:
        rows = [(i, round(lat, COARSE_DIGITS), round(lon, COARSE_DIGITS)) for i, lat, lon in rows]
    hits = nearest_within(flt.near, rows, flt.radius_km)
    page = hits[offset : offset + flt.per_page]
    by_id = {v.id: v for v in db.session.scalars(select(Volunteer).where(Volunteer.id.in_([i for i, _ in page])))}
    return VolunteerPage(
        items=[by_id[i] for i, _ in page],
        total=len(hits),
        page=flt.page,
        per_page=flt.per_page,
        distances_km=dict(page),
    )


def available_now(volunteer: Volunteer, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        volunteer.status == "active"
        and volunteer.available
        and (volunteer.busy_until is None or volunteer.busy_until <= now)
    )
