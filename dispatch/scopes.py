"""What a user may see and manage: national, or a set of regions and/or organisations.

A scope is read once per request from the user's `user_scopes` rows (no rows: national) and then
asked, never re-derived by a route:

- volunteers (and through them the activity register) are in scope when they live in one of the
  scope's regions or belong to one of its organisations; out of scope they are 404, never listed,
  never exported, never counted where a count could identify someone;
- incidents are readable by everyone (as the public board shows them), but posted and managed
  only where the scope holds the incident's region: the scope's regions and the regions of its
  organisations. An incident with no region (outside Kazakhstan) is national users' to manage.

Matching ignores scopes: the nearest eligible volunteers are alerted wherever they are registered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select

from geo.regions import is_region

from . import audit
from .errors import Forbidden, NotFound, OutOfScope, ValidationFailed
from .extensions import db
from .models import Incident, Organization, User, UserScope, Volunteer


@dataclass(frozen=True)
class Scope:
    regions: frozenset[str] = frozenset()
    organization_ids: frozenset[int] = frozenset()
    # Where they may post and manage incidents: `regions` and their organisations' regions.
    incident_regions: frozenset[str] = frozenset()

    @property
    def national(self) -> bool:
        return not self.regions and not self.organization_ids

    def volunteer_clause(self) -> ColumnElement[bool] | None:
        """A WHERE on Volunteer (None: national, no condition)."""
        if self.national:
            return None
        clauses: list[ColumnElement[bool]] = []
        if self.regions:
            clauses.append(Volunteer.region.in_(sorted(self.regions)))
        if self.organization_ids:
            clauses.append(Volunteer.organization_id.in_(sorted(self.organization_ids)))
        return or_(*clauses)

    def organization_clause(self) -> ColumnElement[bool] | None:
        """A WHERE on Organization: their own organisations and those based in their regions."""
        if self.national:
            return None
        clauses: list[ColumnElement[bool]] = []
        if self.regions:
            clauses.append(Organization.region.in_(sorted(self.regions)))
        if self.organization_ids:
            clauses.append(Organization.id.in_(sorted(self.organization_ids)))
        return or_(*clauses) if clauses else false()

    def incident_clause(self) -> ColumnElement[bool] | None:
        """A WHERE on Incident: the incidents they may manage."""
        if self.national:
            return None
        return Incident.region.in_(sorted(self.incident_regions)) if self.incident_regions else false()

    def holds(self, region: str | None, organization_id: int | None) -> bool:
        """Is a volunteer living in `region`, member of `organization_id`, in scope?"""
        return (
            self.national
            or (region is not None and region in self.regions)
            or (organization_id is not None and organization_id in self.organization_ids)
        )

    def holds_volunteer(self, volunteer: Volunteer) -> bool:
        return self.holds(volunteer.region, volunteer.organization_id)

    def check_volunteer(self, volunteer: Volunteer | None, volunteer_id: int) -> Volunteer:
        """The volunteer, or 404 as if there were none: out of scope they do not exist."""
        if volunteer is None or not self.holds_volunteer(volunteer):
            raise NotFound(f"No volunteer {volunteer_id}.")
        return volunteer

    def check_placed(self, region: str | None, organization_id: int | None) -> None:
        """Creating a volunteer there, or moving one there: 403 OUT_OF_SCOPE unless in scope."""
        if not self.holds(region, organization_id):
            raise OutOfScope(
                "This volunteer would be outside your regions and organisations.",
                {"region": region, "organization_id": organization_id},
            )

    def holds_organization(self, organization: Organization) -> bool:
        return self.national or organization.id in self.organization_ids or organization.region in self.regions

    def check_organization(self, organization: Organization) -> None:
        """Changing an organisation: theirs, or one based in their regions."""
        if not self.holds_organization(organization):
            raise OutOfScope("This organisation is outside your scope.", {"organization_id": organization.id})

    def check_organization_region(self, region: str | None) -> None:
        """An organisation based in `region` (new, or moved there): national users anywhere,
        others only in their own regions (an organisation in their scope does not widen it)."""
        if not (self.national or (region is not None and region in self.regions)):
            raise OutOfScope("Only national users add organisations outside their regions.", {"region": region})

    def holds_region(self, region: str | None) -> bool:
        """May they post or manage an incident in this region?"""
        return self.national or (region is not None and region in self.incident_regions)

    def check_region(self, region: str | None) -> None:
        if not self.holds_region(region):
            raise OutOfScope(
                "This incident's region is outside your scope."
                if region
                else "Only national coordinators manage incidents outside Kazakhstan's regions.",
                {"region": region},
            )

    def check_incident(self, incident: Incident) -> None:
        self.check_region(incident.region)


NATIONAL = Scope()


@dataclass(frozen=True)
class PersonView:
    """Who a reader may identify among the people of an incident (its alerts, responders, roll
    call): a volunteer in their scope; or, for a coordinator who manages the incident, anyone who
    has accepted it (matching ignores borders, and a responder must be reachable). Phone numbers
    only for coordinators and admins (`personal`). The others are shown by id, without name or
    phone, and with distances to the whole km."""

    scope: Scope = NATIONAL
    personal: bool = True  # may see phone numbers and exact distances (coordinator, admin)
    manages: bool = True  # holds the incident's region and may manage it

    def identifies(self, region: str | None, organization_id: int | None, accepted: bool) -> bool:
        return self.scope.holds(region, organization_id) or (self.personal and self.manages and accepted)


def person_view(user: User | None, incident: Incident) -> PersonView:
    scope = of(user)
    personal = user is None or user.has_role("coordinator")
    return PersonView(scope, personal, scope.holds_region(incident.region))


def build(regions: Iterable[str] = (), organization_ids: Iterable[int] = ()) -> Scope:
    regions = frozenset(regions)
    organization_ids = frozenset(organization_ids)
    organization_regions: set[str] = set()
    if organization_ids:
        organization_regions = {
            region
            for region in db.session.scalars(
                select(Organization.region).where(Organization.id.in_(sorted(organization_ids)))
            )
            if region is not None
        }
    return Scope(regions, organization_ids, regions | organization_regions)


def of(user: User | None) -> Scope:
    """The scope of a user; None (the command line, the scheduler) is national."""
    if user is None or not user.scope_entries:
        return NATIONAL
    return build(
        (entry.region for entry in user.scope_entries if entry.region is not None),
        (entry.organization_id for entry in user.scope_entries if entry.organization_id is not None),
    )


def coordinators_to_alert(incident: Incident) -> list[User]:
    """Who gets a coordinator alert (HELP from the scene, welfare overdue) for an incident on
    their own phone or Telegram: the user who posted it, and the regional coordinators whose scope
    holds its region (national ones are not texted for every region; they see the console's
    banner)."""
    candidates = db.session.scalars(
        select(User)
        .where(or_(User.phone.is_not(None), User.telegram_chat_id.is_not(None)), User.disabled_at.is_(None))
        .order_by(User.id)
    ).all()
    chosen = []
    for user in candidates:
        if user.id == incident.reported_by_id:
            chosen.append(user)
        elif user.has_role("coordinator") and user.scope_entries:
            if of(user).holds_region(incident.region):
                chosen.append(user)
    return chosen


def entries(regions: Iterable[str] = (), organization_ids: Iterable[int] = ()) -> list[UserScope]:
    """Checked scope rows (not yet added): known region codes, existing organisations."""
    regions = sorted({region.strip().upper() for region in regions})
    organization_ids = sorted(set(organization_ids))
    unknown = [region for region in regions if not is_region(region)]
    if unknown:
        problem = f"unknown region code(s) {', '.join(unknown)} (ISO 3166-2, e.g. KZ-75)"
        raise ValidationFailed(f"Unknown region: {problem}.", {"fields": {"regions": problem}})
    found = set(db.session.scalars(select(Organization.id).where(Organization.id.in_(organization_ids))))
    missing = [str(org_id) for org_id in organization_ids if org_id not in found]
    if missing:
        problem = f"no organisation with id {', '.join(missing)}"
        raise ValidationFailed(f"Unknown organisation: {problem}.", {"fields": {"organization_ids": problem}})
    return [UserScope(region=region) for region in regions] + [
        UserScope(organization_id=org_id) for org_id in organization_ids
    ]


def check_may_set_scopes(by: User | None) -> None:
    """Only national admins (or the command line: None) give users their scopes: a regional
    admin could otherwise widen their own, or anyone's, past what they hold."""
    if by is not None and not (by.has_role("admin") and of(by).national):
        raise Forbidden("Only national admins change users' regions and organisations.")


def set_scope(
    user: User, regions: Iterable[str], organization_ids: Iterable[int], actor: str, by: User | None = None
) -> Scope:
    """Replace a user's scope (both empty: national), audited; the caller's session commits.
    `by`: the person doing it (None: the command line); 403 unless a national admin."""
    check_may_set_scopes(by)
    new = entries(regions, organization_ids)
    before = describe(user)
    user.scope_entries[:] = new
    db.session.flush()
    after = describe(user)
    if before != after:
        audit.record(actor, "user_scope_set", details={"user_id": user.id, "before": before, "after": after})
    return of(user)


def describe(user: User) -> dict:
    """The scope as the audit trail and the console write it."""
    return {
        "regions": sorted(e.region for e in user.scope_entries if e.region is not None),
        "organization_ids": sorted(e.organization_id for e in user.scope_entries if e.organization_id is not None),
    }
