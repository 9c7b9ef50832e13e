"""Small builders for rows the tests need, written straight to the database."""
from __future__ import annotations

import itertools
from datetime import datetime

from geopy.distance import geodesic

from dispatch.extensions import db
from dispatch.models import Alert, Incident, Need, Volunteer
from dispatch.skills import SkillCatalogue

ASTANA = (51.1694, 71.4491)
ALMATY = (43.2220, 76.8512)
_phones = itertools.count(1000)


def point_at(origin: tuple[float, float], km: float, bearing: float = 0.0) -> tuple[float, float]:
    """The point `km` (geodesic) from origin along a bearing in degrees."""
    p = geodesic(kilometers=km).destination(origin, bearing)
    return p.latitude, p.longitude


def volunteer(km: float = 1.0, bearing: float = 0.0, origin=ASTANA, skills=("first_aid",), **fields) -> Volunteer:
    lat, lon = point_at(origin, km, bearing) if km else origin
    catalogue = SkillCatalogue.load()
    v = Volunteer(
        name=fields.pop("name", f"Volunteer {km}"),
        phone=fields.pop("phone", f"+7701{next(_phones):07d}"),
        lat=lat,
        lon=lon,
        skill_mask=catalogue.mask_of(list(skills)),
        language=fields.pop("language", "ru"),
        max_distance_km=fields.pop("max_distance_km", 50.0),
        status=fields.pop("status", "active"),
        available=fields.pop("available", True),
        **fields,
    )
    db.session.add(v)
    db.session.commit()
    return v


def incident(code: str = "482", status: str = "dispatching", **fields) -> Incident:
    inc = Incident(
        code=code,
        kind=fields.pop("kind", "flood"),
        title=fields.pop("title", "Flood test"),
        lat=fields.pop("lat", ASTANA[0]),
        lon=fields.pop("lon", ASTANA[1]),
        radius_km=fields.pop("radius_km", 10.0),
        max_radius_km=fields.pop("max_radius_km", 30.0),
        current_radius_km=fields.pop("current_radius_km", 10.0),
        status=status,
        **fields,
    )
    db.session.add(inc)
    db.session.flush()
    db.session.add(Need(incident_id=inc.id, skill=None, count=1))
    db.session.commit()
    return inc


def alert(inc: Incident, vol: Volunteer, status: str = "sent", created_at: datetime | None = None) -> Alert:
    a = Alert(incident_id=inc.id, volunteer_id=vol.id, status=status, distance_km=1.0, reason="test")
    if created_at is not None:
        a.created_at = created_at
    db.session.add(a)
    db.session.commit()
    return a
