"""Request bodies as pydantic models: what the API, the pages and the use cases read input into."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from geo import Area, GeoError, parse_geojson_area
from geo.regions import REGIONS

from .clock import quiet_minutes, to_utc_naive
from .models import CHANNELS, INCIDENT_KINDS, LANGUAGES, SETTABLE_VOLUNTEER_STATUSES, SEVERITIES

# Text from outside is text: no control characters (a NUL is refused by PostgreSQL, and by us
# first). A one-line field (a name, a title) turns line breaks and tabs into spaces, so no text
# can forge a line in an SMS or a log; a multi-line field keeps its line breaks and tabs.
_CONTROL_IN_LINE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS = "must not contain control characters (such as NUL)"


def has_control_characters(value: str) -> bool:
    """True for text no field takes (NUL and the like; line breaks and tabs are not counted)."""
    return _CONTROL_IN_LINE.search(value) is not None


def one_line(value: str) -> str:
    if _CONTROL_IN_LINE.search(value):
        raise ValueError(CONTROL_CHARACTERS)
    return " ".join(value.split())


def plain_text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError(CONTROL_CHARACTERS)
    return value


def Line(max_length: int, min_length: int = 0):
    """A one-line text field, stripped, of at most max_length characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(one_line),
    ]


def Text(max_length: int, min_length: int = 0):
    """A multi-line text field (a description, a message), stripped, of at most max_length characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(plain_text),
    ]


Name = Line(200, min_length=1)
Organization = Line(200)
# A record's id in a body (an organisation's): a positive 32-bit integer.
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
DistanceKm = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
# Literal[("a", "b")] is Literal["a", "b"]: the allowed values come from the models' tuples.
Language = Literal[LANGUAGES]  # type: ignore[valid-type]
SkillCode = Line(32, min_length=1)
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
IncidentKind = Literal[INCIDENT_KINDS]  # type: ignore[valid-type]
VolunteerStatus = Literal[SETTABLE_VOLUNTEER_STATUSES]  # type: ignore[valid-type]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]


def known_region(value: str) -> str:
    if value not in REGIONS:
        raise ValueError("must be an ISO 3166-2 region code that GET /api/v1/regions lists, such as KZ-75")
    return value


# Given by a coordinator to correct the one derived from the point; null derives it again.
Region = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8), AfterValidator(known_region)]


def checked_birth_date(value: date | None) -> date | None:
    if value is not None and not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("a birth date must be between 1900-01-01 and today")
    return value


def utc_time(value: datetime | None) -> datetime | None:
    try:
        return to_utc_naive(value) if value is not None else None
    except OverflowError:  # 9999-12-31T23:59-01:00 is past the last date there is in UTC
        raise ValueError("is outside the range of dates this service can keep") from None


BirthDate = Annotated[date, AfterValidator(checked_birth_date)]
UtcTime = Annotated[datetime, AfterValidator(utc_time)]


def checked_area(value: dict | None) -> dict | None:
    """GeoJSON Polygon or MultiPolygon, validated by geo (closed rings, no self-crossing...)."""
    if value is None:
        return None
    try:
        return parse_geojson_area(value).to_geojson()
    except GeoError as exc:
        raise ValueError(str(exc)) from None


class Body(BaseModel):
    # A misspelt field is an error, not a silently ignored value.
    model_config = ConfigDict(extra="forbid")


QuietHours = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")]
Address = Line(300, min_length=3)
Phone = Line(40, min_length=1)
SkillName = Line(64, min_length=1)
Title = Line(200, min_length=1)
Description = Text(2000)
Message = Text(600, min_length=1)


class Patch(Body):
    """A change: every field optional, at least one given."""

    @model_validator(mode="after")
    def something_to_change(self):
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class Placed(Body):
    """A body that says where: lat and lon, or an address to geocode."""

    lat: Latitude | None = None
    lon: Longitude | None = None
    address: Address | None = None

    @model_validator(mode="after")
    def somewhere(self):
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or an address")
        if self.lat is None and self.address is None:
            raise ValueError("give lat and lon (or an address, when a geocoder is configured)")
        return self


class VolunteerFields(Body):
    """What the registry keeps of a volunteer, wherever it comes from (API, form, CSV row)."""

    name: Name
    phone: Phone
    skills: list[SkillName] = Field(max_length=32)
    language: Language
    max_distance_km: DistanceKm | None = None
    # An existing organisation: by id, or by name (case and spacing ignored); see organizations.py.
    organization: Organization | None = None
    organization_id: RecordId | None = None
    quiet_hours: QuietHours | None = None
    region: Region | None = None
    birth_date: BirthDate | None = None

    @field_validator("skills")
    @classmethod
    def no_repeats(cls, skills: list[str]) -> list[str]:
        return list(dict.fromkeys(skills))

    @field_validator("quiet_hours")
    @classmethod
    def valid_quiet_hours(cls, value: str | None) -> str | None:
        quiet_minutes(value)
        return value


class VolunteerIn(VolunteerFields, Placed):
    """A new volunteer through the API: placed by coordinates or by an address to geocode."""


class VolunteerRow(VolunteerFields):
    """A CSV import row: coordinates are required (a 200,000-row file cannot wait on a geocoder),
    so a row has no address to geocode."""

    lat: Latitude
    lon: Longitude


class VolunteerPatch(Body):
    name: Name | None = None
    phone: Phone | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    address: Address | None = None
    skills: list[SkillName] | None = Field(default=None, max_length=32)
    language: Language | None = None
    max_distance_km: DistanceKm | None = None
    organization: Organization | None = None
    organization_id: RecordId | None = None
    available: bool | None = None
    busy_until: datetime | None = None
    status: VolunteerStatus | None = None
    quiet_hours: QuietHours | None = None
    preferred_channel: Channel | None = None
    region: Region | None = None
    birth_date: BirthDate | None = None

    @field_validator("quiet_hours")
    @classmethod
    def valid_quiet_hours(cls, value: str | None) -> str | None:
        quiet_minutes(value)
        return value

    @field_validator("busy_until")
    @classmethod
    def utc(cls, value: datetime | None) -> datetime | None:
        try:
            return to_utc_naive(value) if value is not None else None
        except OverflowError:  # 9999-12-31T23:59-01:00 is past the last date there is in UTC
            raise ValueError("is outside the range of dates this service can keep") from None


def email_address(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError("must be an email address such as office@example.kz")
    return value


OrganizationName = Line(200, min_length=1)
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(email_address)]
OrganizationAddress = Line(300, min_length=1)


class OrganizationIn(Body):
    """A member organisation: its name (unique, case and spacing ignored), region and contacts."""

    name: OrganizationName
    region: Region | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: OrganizationAddress | None = None
    active: bool = True


class OrganizationPatch(Patch):
    """Any field of an organisation; null clears region and contacts. active: false deactivates it."""

    name: OrganizationName | None = None
    region: Region | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: OrganizationAddress | None = None
    active: bool | None = None

    @field_validator("name", "active")
    @classmethod
    def not_null(cls, value):
        if value is None:
            raise ValueError("cannot be null")
        return value


class CandidatesIn(Body):
    lat: Latitude
    lon: Longitude
    radius_km: DistanceKm
    skill: SkillCode | None = None
    area: dict | None = None
    exclude_inside_area: bool = False
    severity: Severity = "severe"
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    explain: bool = False
    # With kind and title, the answer also previews the alert SMS in each language.
    kind: IncidentKind | None = None
    title: Title | None = None
    drill: bool = False

    @field_validator("area")
    @classmethod
    def valid_area(cls, value: dict | None) -> dict | None:
        return checked_area(value)

    def area_shape(self) -> Area | None:
        return parse_geojson_area(self.area) if self.area is not None else None


class NeedIn(Body):
    skill: SkillCode | None
    count: Annotated[int, Field(ge=1, le=500)]


class IncidentIn(Placed):
    kind: IncidentKind
    title: Title
    description: Description | None = None
    area: dict | None = None
    radius_km: DistanceKm | None = None
    max_radius_km: DistanceKm | None = None
    needs: list[NeedIn] = Field(min_length=1, max_length=20)
    severity: Severity = "severe"
    exclude_inside_area: bool = False
    drill: bool = False
    region: Region | None = None

    @field_validator("area")
    @classmethod
    def valid_area(cls, value: dict | None) -> dict | None:
        return checked_area(value)


MeetingPoint = Line(300, min_length=1)


class NeedChange(Body):
    """A need in PATCH /incidents/{id}: the count it should have (new skill: added; 0: removed)."""

    skill: SkillCode | None
    count: Annotated[int, Field(ge=0, le=500)]


class IncidentPatch(Patch):
    """What a coordinator may change on a draft or an open incident; at least one field. A field
    given as null (description, area, meeting_point, region) is cleared; see incident_changes."""

    title: Title | None = None
    description: Description | None = None
    severity: Severity | None = None
    radius_km: DistanceKm | None = None
    max_radius_km: DistanceKm | None = None
    area: dict | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    meeting_point: MeetingPoint | None = None
    region: Region | None = None
    needs: list[NeedChange] | None = Field(default=None, min_length=1, max_length=20)

    @field_validator("area")
    @classmethod
    def valid_area(cls, value: dict | None) -> dict | None:
        return checked_area(value)

    @field_validator("needs")
    @classmethod
    def one_row_per_skill(cls, needs: list[NeedChange] | None) -> list[NeedChange] | None:
        skills = [n.skill for n in needs or []]
        if len(set(skills)) != len(skills):
            raise ValueError("name each skill once in needs")
        return needs

    @field_validator("title", "severity", "radius_km", "max_radius_km", "needs", "lat", "lon")
    @classmethod
    def not_null(cls, value):
        # Only a null given explicitly gets here (defaults are not validated): these cannot be cleared.
        if value is None:
            raise ValueError("cannot be null")
        return value

    @model_validator(mode="after")
    def both_coordinates(self):
        if ("lat" in self.model_fields_set) != ("lon" in self.model_fields_set):
            raise ValueError("give both lat and lon")
        return self


class DispatchIn(Body):
    """A draft (from a warning) dispatched: its needs, and optionally how far to look."""

    needs: list[NeedIn] = Field(min_length=1, max_length=20)
    radius_km: DistanceKm | None = None
    max_radius_km: DistanceKm | None = None


class BroadcastIn(Body):
    body: Message
    to: Literal["accepted", "pending", "all"]


class ResponderStatusIn(Body):
    status: Literal["arrived", "done", "safe"]


ActivityName = Line(200, min_length=1)
Place = Line(300, min_length=1)
Reason = Line(500, min_length=3)


class ActivityIn(Body):
    """Activity outside dispatch (a training, an event, a programme), entered by a coordinator."""

    volunteer_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    activity: ActivityName
    started_at: UtcTime
    ended_at: UtcTime
    skill: SkillCode | None = None
    place: Place | None = None


class ActivityPatch(Body):
    """A coordinator verifies or corrects a record; the reason is required and audited."""

    reason: Reason
    verified: bool | None = None
    started_at: UtcTime | None = None
    ended_at: UtcTime | None = None
    activity: ActivityName | None = None
    skill: SkillCode | None = None
    place: Place | None = None


Note = Line(500)


class ActivityRow(Body):
    """The text of one row of an activity CSV import (dispatch/activity_import.py reads the
    volunteer, the times and the hours itself)."""

    activity: ActivityName
    place: Place | None = None
    skill: SkillCode | None = None
    note: Note | None = None


class ManualAlertIn(Body):
    volunteer_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=200)


def max_length(model: type[BaseModel], name: str) -> int:
    """The most characters a text field of `model` takes: what forms use for their maxlength and
    their error messages, so a number is written once, here, in the model."""
    info = model.model_fields[name]
    rules, types = list(info.metadata), [info.annotation]
    while types:  # `Annotated[str, StringConstraints(...)] | None` keeps its rules inside the type
        kind = types.pop()
        if get_origin(kind) is Annotated:
            rules.extend(kind.__metadata__)
        types.extend(get_args(kind))
    lengths = [rule.max_length for rule in rules if getattr(rule, "max_length", None) is not None]
    if not lengths:
        raise LookupError(f"{model.__name__}.{name} has no max_length")
    return min(lengths)
