"""Request bodies as pydantic models: what the API, the pages and the use cases read input into."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from geo import Area, GeoError, parse_geojson_area

from .clock import quiet_minutes, to_utc_naive

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Organization = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
DistanceKm = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
Language = Literal["kk", "ru", "en"]
SkillCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Severity = Literal["minor", "moderate", "severe", "extreme"]
IncidentKind = Literal["fire", "flood", "earthquake", "missing_person", "search_rescue", "storm", "animal_rescue", "other"]


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
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]


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


class VolunteerIn(Placed):
    name: Name
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    skills: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(max_length=32)
    language: Language
    max_distance_km: DistanceKm | None = None
    organization: Organization | None = None
    quiet_hours: QuietHours | None = None

    @field_validator("skills")
    @classmethod
    def no_repeats(cls, skills: list[str]) -> list[str]:
        return list(dict.fromkeys(skills))

    @field_validator("quiet_hours")
    @classmethod
    def valid_quiet_hours(cls, value: str | None) -> str | None:
        quiet_minutes(value)
        return value


class VolunteerRow(VolunteerIn):
    """A CSV import row: coordinates are required (a 200,000-row file cannot wait on a geocoder)."""

    lat: Latitude
    lon: Longitude


class VolunteerPatch(Body):
    name: Name | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    address: Address | None = None
    skills: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] | None = Field(
        default=None, max_length=32
    )
    language: Language | None = None
    max_distance_km: DistanceKm | None = None
    organization: Organization | None = None
    available: bool | None = None
    busy_until: datetime | None = None
    status: Literal["active", "inactive"] | None = None
    quiet_hours: QuietHours | None = None

    @field_validator("quiet_hours")
    @classmethod
    def valid_quiet_hours(cls, value: str | None) -> str | None:
        quiet_minutes(value)
        return value

    @field_validator("busy_until")
    @classmethod
    def utc(cls, value: datetime | None) -> datetime | None:
        return to_utc_naive(value) if value is not None else None


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
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
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
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    area: dict | None = None
    radius_km: DistanceKm | None = None
    max_radius_km: DistanceKm | None = None
    needs: list[NeedIn] = Field(min_length=1, max_length=20)
    severity: Severity = "severe"
    exclude_inside_area: bool = False
    drill: bool = False

    @field_validator("area")
    @classmethod
    def valid_area(cls, value: dict | None) -> dict | None:
        return checked_area(value)


class BroadcastIn(Body):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
    to: Literal["accepted", "pending", "all"]


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
