"""Pure library for CAP 1.2 (OASIS Common Alerting Protocol) documents and Atom/RSS feeds of them.

Parsing is hardened (no DTDs, no entities, nothing read from disk or network; bounded size,
depth and element counts) and validation reports the first problem in a sentence. No Flask, no
database, no geo: areas come out as plain (lat, lon) coordinates for the caller to build shapes.
"""

from cap.alert import (
    CATEGORIES,
    CERTAINTIES,
    MSG_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    Alert,
    Area,
    Circle,
    Info,
    Reference,
    choose_info,
    parse_alert,
    parse_circle,
    parse_polygon,
)
from cap.errors import CapError
from cap.feeds import FeedEntry, parse_feed
from cap.safe_xml import MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_ELEMENTS

__all__ = [
    "CATEGORIES",
    "CERTAINTIES",
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_ELEMENTS",
    "MSG_TYPES",
    "SCOPES",
    "SEVERITIES",
    "STATUSES",
    "URGENCIES",
    "Alert",
    "Area",
    "CapError",
    "Circle",
    "FeedEntry",
    "Info",
    "Reference",
    "choose_info",
    "parse_alert",
    "parse_circle",
    "parse_feed",
    "parse_polygon",
]
