"""Small builders and readers the tests share: rows written straight to the database,
incidents reported through the API, signed webhook posts, and what the database holds."""

from __future__ import annotations

import itertools
from datetime import datetime

from geopy.distance import geodesic
from sqlalchemy import func, select

from dispatch.extensions import db
from dispatch.models import Alert, Incident, Need, Organization, OutboxMessage, Volunteer, name_key
from dispatch.skills import SkillCatalogue
from notifications.signatures import sign

ASTANA = (51.1694, 71.4491)
ALMATY = (43.2220, 76.8512)
_phones = itertools.count(1000)


def point_at(origin: tuple[float, float], km: float, bearing: float = 0.0) -> tuple[float, float]:
    """The point `km` (geodesic) from origin along a bearing in degrees."""
    p = geodesic(kilometers=km).destination(origin, bearing)
    return p.latitude, p.longitude


def organization(name: str, region: str | None = None, active: bool = True, **fields) -> Organization:
    """The organisation of this name (case and spacing ignored), made when missing."""
    found = db.session.scalar(select(Organization).where(Organization.name_key == name_key(name)))
    if found is None:
        found = Organization(name=name, name_key=name_key(name), region=region, active=active, **fields)
        db.session.add(found)
        db.session.commit()
    return found


def volunteer(km: float = 1.0, bearing: float = 0.0, origin=ASTANA, skills=("first_aid",), **fields) -> Volunteer:
    """`organization="Name"`: a member of that organisation (made when missing)."""
    lat, lon = point_at(origin, km, bearing) if km else origin
    catalogue = SkillCatalogue.load()
    if "organization" in fields:
        name = fields.pop("organization")
        fields["organization_id"] = organization(name).id if name else None
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


def swimmers(n: int, **fields) -> list[Volunteer]:
    """n water rescuers, 1, 2, ... n km from Astana on spread bearings."""
    return [volunteer(km=i + 1, bearing=i * 37, skills=("water_rescue",), **fields) for i in range(n)]


def square_around(center, half_km):
    """A GeoJSON Polygon: the square of side 2 × half_km centred on center (lat, lon)."""
    north = point_at(center, half_km, 0)[0]
    south = point_at(center, half_km, 180)[0]
    east = point_at(center, half_km, 90)[1]
    west = point_at(center, half_km, 270)[1]
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


def report(client, auth, needs, **fields) -> dict:
    """An incident in Astana reported through POST /api/v1/incidents (alerting starts)."""
    body = {
        "kind": "flood",
        "title": "Flood on the Ishim embankment",
        "lat": ASTANA[0],
        "lon": ASTANA[1],
        "needs": needs,
        **fields,
    }
    response = client.post("/api/v1/incidents", json=body, headers=auth("coordinator"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def signed_post(client, app, path: str, params: dict):
    """A webhook post signed as the SMS provider signs it."""
    url = app.config["PUBLIC_BASE_URL"] + path
    signature = sign(url, params, app.config["TWILIO_AUTH_TOKEN"])
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def alerts_of(incident_id: int) -> list[Alert]:
    return list(db.session.scalars(select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.id)))


def by_status(incident_id: int, status: str) -> list[int]:
    return [a.volunteer_id for a in alerts_of(incident_id) if a.status == status]


def queued(**filters) -> list[OutboxMessage]:
    query = db.session.query(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)
    return query.all()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
