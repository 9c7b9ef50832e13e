"""Use cases on member organisations: create, change, deactivate, list, and finding the one a
volunteer names (by id, or by name with case and spacing ignored: never a new one from a typo).

A user's scope (a later change) will be a set of regions and/or organisation ids; the list
filter below takes those as plain sets so the scope can be one more clause."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from flask import current_app
from sqlalchemy import func, or_, select

from . import audit, scopes
from .errors import DuplicateOrganization, NotFound, ValidationFailed
from .extensions import db
from .models import Organization, Volunteer, name_key
from .schemas import OrganizationIn, OrganizationPatch


def _checked_phone(text: str | None) -> str | None:
    """An office's number, in E.164: a landline is fine here (nobody texts it)."""
    if text is None:
        return None
    try:
        number = phonenumbers.parse(text, current_app.config["DEFAULT_PHONE_REGION"])
        valid = not any(ch.isalpha() for ch in text) and phonenumbers.is_valid_number(number)
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        problem = f"{text!r} is not a valid phone number for its country"
        raise ValidationFailed(problem, {"fields": {"phone": problem}})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _check_unique(key: str, except_id: int | None = None) -> None:
    query = select(Organization).where(Organization.name_key == key)
    if except_id is not None:
        query = query.where(Organization.id != except_id)
    clash = db.session.scalar(query)
    if clash is not None:
        raise DuplicateOrganization(
            f"An organisation named {clash.name!r} already exists (names are compared ignoring case and spaces).",
            {"organization_id": clash.id, "name": clash.name},
        )


def create_organization(data: OrganizationIn, actor: str, scope: scopes.Scope = scopes.NATIONAL) -> Organization:
    """A scoped user adds organisations only in their own regions (403 OUT_OF_SCOPE)."""
    scope.check_organization_region(data.region)
    key = name_key(data.name)
    _check_unique(key)
    organization = Organization(
        name=data.name,
        name_key=key,
        region=data.region,
        phone=_checked_phone(data.phone),
        email=data.email,
        address=data.address,
        active=data.active,
    )
    db.session.add(organization)
    db.session.flush()
    audit.record(actor, "organization_created", details={"organization_id": organization.id, "name": data.name})
    db.session.commit()
    return organization


def get_organization(organization_id: int) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"No organisation {organization_id}.")
    return organization


def update_organization(
    organization_id: int, patch: OrganizationPatch, actor: str, scope: scopes.Scope = scopes.NATIONAL
) -> Organization:
    """A scoped user changes their own organisations and those based in their regions, and moves
    one only into their regions (403 OUT_OF_SCOPE otherwise)."""
    organization = get_organization(organization_id)
    scope.check_organization(organization)
    changes = patch.model_dump(exclude_unset=True)
    if "region" in changes and changes["region"] != organization.region:
        scope.check_organization_region(changes["region"])
    before = {name: getattr(organization, name) for name in changes}
    if "name" in changes:
        key = name_key(changes["name"])
        _check_unique(key, except_id=organization.id)
        organization.name_key = key
    if "phone" in changes:
        changes["phone"] = _checked_phone(changes["phone"])
    for name, value in changes.items():
        setattr(organization, name, value)
    audit.record(
        actor,
        "organization_updated",
        details={"organization_id": organization.id, "before": before, "after": changes},
    )
    db.session.commit()
    return organization


@dataclass
class OrganizationFilter:
    region: str | None = None
    active: bool | None = None
    q: str | None = None  # part of the name, case and spacing ignored
    # A scope (later): only these regions / these organisations; None is national.
    regions: set[str] | None = None
    ids: set[int] | None = None


def list_organizations(flt: OrganizationFilter) -> list[Organization]:
    query = select(Organization)
    if flt.region is not None:
        query = query.where(Organization.region == flt.region)
    if flt.active is not None:
        query = query.where(Organization.active.is_(flt.active))
    if flt.q:
        key = name_key(flt.q).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Organization.name_key.like(f"%{key}%", escape="\\"))
    if flt.regions is not None or flt.ids is not None:
        query = query.where(or_(Organization.region.in_(flt.regions or ()), Organization.id.in_(flt.ids or ())))
    return list(db.session.scalars(query.order_by(Organization.name_key)))


def volunteer_counts(organization_ids: list[int]) -> dict[int, int]:
    """Volunteers (not erased) of each organisation."""
    if not organization_ids:
        return {}
    rows = db.session.execute(
        select(Volunteer.organization_id, func.count())
        .where(Volunteer.organization_id.in_(organization_ids), Volunteer.erased_at.is_(None))
        .group_by(Volunteer.organization_id)
    )
    counts = dict.fromkeys(organization_ids, 0)
    counts.update(dict(rows.all()))
    return counts


# -- a volunteer's organisation -------------------------------------------------------------------


def by_name(name: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.name_key == name_key(name)))


def unknown_name_message(name: str) -> str:
    return f"no organisation named {name!r}; GET /api/v1/organizations lists them (an organisation is added there)"


def inactive_message(organization: Organization) -> str:
    return f"the organisation {organization.name!r} is deactivated and takes no new members"


def resolve(organization_id: int | None, name: str | None, current_id: int | None = None) -> int | None:
    """The organisation a volunteer's body names (organization_id, or organization by name; both:
    they must agree), as its id; None for none. A deactivated one is refused unless the volunteer
    is already in it (current_id). ValidationFailed naming what is wrong."""
    found: Organization | None = None
    if organization_id is not None:
        found = db.session.get(Organization, organization_id)
        if found is None:
            problem = f"no organisation {organization_id}; GET /api/v1/organizations lists them"
            raise ValidationFailed(problem, {"fields": {"organization_id": problem}})
    if name:
        named = by_name(name)
        if named is None:
            problem = unknown_name_message(name)
            raise ValidationFailed(problem, {"fields": {"organization": problem}})
        if found is not None and named.id != found.id:
            problem = f"organization {name!r} is not organisation {organization_id}"
            raise ValidationFailed(problem, {"fields": {"organization": problem}})
        found = named
    if found is None:
        return None
    if not found.active and found.id != current_id:
        problem = inactive_message(found)
        raise ValidationFailed(problem, {"fields": {"organization": problem}})
    return found.id


def ids_by_key() -> dict[str, tuple[int, bool]]:
    """name_key -> (id, active) of every organisation: what a CSV import matches its names with
    (680 organisations: one small read per import)."""
    rows = db.session.execute(select(Organization.name_key, Organization.id, Organization.active))
    return {key: (organization_id, active) for key, organization_id, active in rows}
