"""Fixtures for geo tests."""

from tests.fakes.nominatim_server import nominatim_server  # noqa: F401 (fixture)
