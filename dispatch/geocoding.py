"""Addresses for incidents and volunteers, when GEOCODER=nominatim: geo's Geocoder with its
answers cached in the database (shared by every worker, surviving restarts)."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from geo import Geocoder, GeocodingUnavailable, Point

from .errors import DispatchError, ValidationFailed
from .extensions import db
from .models import GeocodeCacheEntry

log = logging.getLogger(__name__)
USER_AGENT = "emergency-volunteer-dispatch/1 (coordinators' console)"


class AddressNotFound(DispatchError):
    status, code, message = 400, "ADDRESS_NOT_FOUND", "The address could not be found; give lat and lon instead."


class GeocoderUnavailable(DispatchError):
    status, code, message = 503, "GEOCODER_UNAVAILABLE", "The geocoder does not answer; give lat and lon instead."


class DatabaseGeocodeCache:
    def get(self, key: str) -> dict | None:
        entry = db.session.get(GeocodeCacheEntry, key[:400])
        return entry.value if entry else None

    def set(self, key: str, value: dict) -> None:
        db.session.merge(GeocodeCacheEntry(key=key[:400], value=value))


def register_geocoder(app: Flask) -> None:
    if app.config["GEOCODER"] == "nominatim":
        app.extensions["geocoder"] = Geocoder(app.config["NOMINATIM_URL"], USER_AGENT, cache=DatabaseGeocodeCache())


def _geocoder() -> Geocoder | None:
    return current_app.extensions.get("geocoder")


def resolve(lat: float | None, lon: float | None, address: str | None) -> tuple[Point, str | None]:
    """(point, short place name for SMS): from coordinates, or from an address."""
    point = locate(address) if lat is None else Point(lat, lon)
    return point, place_name(point)


def locate(address: str) -> Point:
    geocoder = _geocoder()
    if geocoder is None:
        raise ValidationFailed(
            "Addresses need a geocoder (GEOCODER=nominatim); give lat and lon.",
            {"fields": {"address": "no geocoder configured"}},
        )
    try:
        found = geocoder.geocode(address)
    except GeocodingUnavailable:
        raise GeocoderUnavailable() from None
    if found is None:
        raise AddressNotFound(details={"address": address})
    return found.point


def place_name(point: Point) -> str | None:
    """A short name for the SMS; the service works without one (and without the internet)."""
    geocoder = _geocoder()
    if geocoder is None:
        return None
    try:
        return geocoder.reverse(point)
    except GeocodingUnavailable:
        log.warning("reverse geocoding unavailable; the alert will carry rounded coordinates")
        return None
