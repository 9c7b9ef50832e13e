"""CAP 1.2 alerts: the typed result of a validated document, and the reading of one.

Only what a dispatch service uses is kept (identity, references, and each info's texts, times
and areas); everything else in the document is read past. Areas stay plain numbers in CAP's
own order, (lat, lon), for the caller to turn into shapes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

from cap.errors import CapError
from cap.safe_xml import read_xml

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
_NS = "{" + NAMESPACE + "}"

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown", "Very Likely")  # 1.0's "Very Likely" lives on

# Bounds on what one alert may carry, whatever the element limit of the reader allows.
MAX_INFOS = 20
MAX_AREAS = 500
MAX_SHAPES = 500  # polygons and circles of one alert, all infos together
MAX_POINTS = 50_000  # polygon positions of one alert
MAX_TEXT = 20_000  # characters of one text element (a description)

_DECIMAL = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_PAIR = re.compile(rf"({_DECIMAL}),({_DECIMAL})")
_CIRCLE = re.compile(rf"\s*({_DECIMAL}),({_DECIMAL})\s+({_DECIMAL})\s*")
# CAP 1.2 3.3.2: identifiers and senders hold no spaces, commas or restricted characters (< &).
_NO_SPACES = re.compile(r"[^\s,<&]+")

LatLon = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class Area:
    description: str
    polygons: tuple[tuple[LatLon, ...], ...]  # closed rings of (lat, lon), first == last
    circles: tuple[Circle, ...]


@dataclass(frozen=True, slots=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str | None
    description: str | None
    instruction: str | None
    sender_name: str | None
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    areas: tuple[Area, ...]

    @property
    def polygons(self) -> tuple[tuple[LatLon, ...], ...]:
        return tuple(p for area in self.areas for p in area.polygons)

    @property
    def circles(self) -> tuple[Circle, ...]:
        return tuple(c for area in self.areas for c in area.circles)


@dataclass(frozen=True, slots=True)
class Reference:
    """An earlier message this one refers to: its sender, identifier and sent time, as written."""

    sender: str
    identifier: str
    sent: str


@dataclass(frozen=True, slots=True)
class Alert:
    identifier: str
    sender: str
    sent: datetime
    sent_text: str  # as written, for references and display
    status: str
    msg_type: str
    scope: str
    references: tuple[Reference, ...]
    infos: tuple[Info, ...]

    @property
    def is_exercise(self) -> bool:
        return self.status in ("Exercise", "Test")


def parse_alert(data: bytes) -> Alert:
    """Read and validate a CAP 1.2 document; CapError names the first problem found."""
    return alert_from_element(read_xml(data, "CAP document"))


def alert_from_element(root: Element) -> Alert:
    if root.tag != f"{_NS}alert":
        namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
        if local == "alert":
            raise CapError(f"the alert is not CAP 1.2: its namespace is {namespace or 'missing'!r}, not {NAMESPACE!r}")
        raise CapError(f"the root element is <{local}>, not a CAP 1.2 <alert>")
    identifier = _identifier(root, "identifier")
    sender = _identifier(root, "sender")
    sent_text = _required(root, "sent", "alert")
    sent = _datetime(sent_text, "alert <sent>")
    status = _choice(root, "status", STATUSES, "alert")
    msg_type = _choice(root, "msgType", MSG_TYPES, "alert")
    scope = _choice(root, "scope", SCOPES, "alert")
    references = _references(_text(root, "references"))
    if msg_type == "Cancel" and not references:
        raise CapError("a Cancel must name the alerts it cancels in <references>")
    info_elements = root.findall(f"{_NS}info")
    if len(info_elements) > MAX_INFOS:
        raise CapError(f"the alert has {len(info_elements)} <info> blocks; at most {MAX_INFOS} are read")
    budget = _Budget()
    infos = tuple(_info(element, n + 1, budget) for n, element in enumerate(info_elements))
    return Alert(identifier, sender, sent, sent_text, status, msg_type, scope, references, infos)


def choose_info(alert: Alert, languages: tuple[str, ...] = ("kk", "ru", "en")) -> Info | None:
    """The info in the first of `languages` the alert has (kk-KZ counts as kk), else its first."""
    for language in languages:
        for info in alert.infos:
            if _primary(info.language) == language:
                return info
    return alert.infos[0] if alert.infos else None


def _primary(language: str) -> str:
    return re.split(r"[-_]", language.strip(), maxsplit=1)[0].lower()


# --- Geometry ------------------------------------------------------------------------


def parse_polygon(text: str, where: str = "polygon") -> tuple[LatLon, ...]:
    """A CAP <polygon>: "lat,lon lat,lon ..." (space-separated), at least 4, first == last."""
    pairs = text.split()
    if len(pairs) > MAX_POINTS:
        raise CapError(f"{where} has {len(pairs)} positions; at most {MAX_POINTS} are read")
    ring = tuple(_lat_lon(pair, f"{where} position {k + 1}") for k, pair in enumerate(pairs))
    if len(ring) < 4:
        raise CapError(f'{where} has {len(ring)} positions; a closed ring needs at least 4 ("lat,lon lat,lon ...")')
    if ring[0] != ring[-1]:
        raise CapError(f"{where} is not closed: its first position {pairs[0]} differs from its last {pairs[-1]}")
    return ring


def parse_circle(text: str, where: str = "circle") -> Circle:
    """A CAP <circle>: "lat,lon radius" with the radius in km."""
    match = _CIRCLE.fullmatch(text)
    if match is None:
        raise CapError(f'{where} must be "lat,lon radius_km", e.g. "51.1694,71.4491 10"; got {text.strip()[:80]!r}')
    lat, lon = _checked(float(match.group(1)), float(match.group(2)), where)
    radius_km = float(match.group(3))
    if not math.isfinite(radius_km) or radius_km < 0:
        raise CapError(f"{where} radius must be 0 km or more, got {match.group(3)}")
    return Circle(lat, lon, radius_km)


def _lat_lon(pair: str, where: str) -> LatLon:
    match = _PAIR.fullmatch(pair)
    if match is None:
        raise CapError(f'{where} must be "lat,lon" in decimal degrees, got {pair[:40]!r}')
    return _checked(float(match.group(1)), float(match.group(2)), where)


def _checked(lat: float, lon: float, where: str) -> LatLon:
    if not -90.0 <= lat <= 90.0:
        hint = " (CAP writes latitude first: lat,lon)" if abs(lon) <= 90.0 else ""
        raise CapError(f"{where}: latitude {lat:g} is outside -90..90{hint}")
    if not -180.0 <= lon <= 180.0:
        raise CapError(f"{where}: longitude {lon:g} is outside -180..180")
    return lat, lon


# --- Elements ------------------------------------------------------------------------


class _Budget:
    """Counts areas, shapes and positions over the whole alert."""

    def __init__(self) -> None:
        self.areas = self.shapes = self.points = 0

    def spend(self, areas: int = 0, shapes: int = 0, points: int = 0) -> None:
        self.areas += areas
        self.shapes += shapes
        self.points += points
        if self.areas > MAX_AREAS:
            raise CapError(f"the alert has more than {MAX_AREAS} <area> blocks")
        if self.shapes > MAX_SHAPES:
            raise CapError(f"the alert has more than {MAX_SHAPES} polygons and circles")
        if self.points > MAX_POINTS:
            raise CapError(f"the alert's polygons have more than {MAX_POINTS} positions in all")


def _info(element: Element, n: int, budget: _Budget) -> Info:
    where = f"info {n}"
    categories = tuple(_enum(c.text, CATEGORIES, f"{where} <category>") for c in element.findall(f"{_NS}category"))
    if not categories:
        raise CapError(f"{where} has no <category>")
    area_elements = element.findall(f"{_NS}area")
    budget.spend(areas=len(area_elements))
    areas = tuple(_area(a, f"{where} area {k + 1}", budget) for k, a in enumerate(area_elements))
    return Info(
        language=(_text(element, "language") or "en-US"),
        categories=categories,
        event=_required(element, "event", where),
        urgency=_choice(element, "urgency", URGENCIES, where),
        severity=_choice(element, "severity", SEVERITIES, where),
        certainty=_choice(element, "certainty", CERTAINTIES, where),
        headline=_text(element, "headline"),
        description=_text(element, "description"),
        instruction=_text(element, "instruction"),
        sender_name=_text(element, "senderName"),
        effective=_optional_datetime(element, "effective", where),
        onset=_optional_datetime(element, "onset", where),
        expires=_optional_datetime(element, "expires", where),
        areas=areas,
    )


def _area(element: Element, where: str, budget: _Budget) -> Area:
    description = _required(element, "areaDesc", where)
    polygon_texts = [(p.text or "") for p in element.findall(f"{_NS}polygon")]
    # An empty <polygon/> (some national systems send one beside their geocodes) says nothing.
    polygon_texts = [t for t in polygon_texts if t.strip()]
    circle_texts = [(c.text or "") for c in element.findall(f"{_NS}circle")]
    circle_texts = [t for t in circle_texts if t.strip()]
    budget.spend(shapes=len(polygon_texts) + len(circle_texts), points=sum(t.count(",") for t in polygon_texts))
    polygons = tuple(parse_polygon(t, f"{where} polygon {k + 1}") for k, t in enumerate(polygon_texts))
    circles = tuple(parse_circle(t, f"{where} circle {k + 1}") for k, t in enumerate(circle_texts))
    return Area(description, polygons, circles)


def _text(element: Element, name: str) -> str | None:
    child = element.find(f"{_NS}{name}")
    if child is None or child.text is None:
        return None
    text = child.text.strip()
    if len(text) > MAX_TEXT:
        raise CapError(f"<{name}> is longer than {MAX_TEXT} characters")
    return text or None


def _required(element: Element, name: str, where: str) -> str:
    value = _text(element, name)
    if value is None:
        raise CapError(f"{where} has no <{name}> (required by CAP 1.2)")
    return value


def _identifier(element: Element, name: str) -> str:
    value = _required(element, name, "alert")
    if len(value) > 255 or not _NO_SPACES.fullmatch(value):
        raise CapError(f"alert <{name}> must be at most 255 characters without spaces, commas, < or &")
    return value


def _choice(element: Element, name: str, options: tuple[str, ...], where: str) -> str:
    return _enum(_required(element, name, where), options, f"{where} <{name}>")


def _enum(value: str | None, options: tuple[str, ...], where: str) -> str:
    value = (value or "").strip()
    if value not in options:
        raise CapError(f"{where} must be one of {', '.join(options)}; got {value[:40]!r}")
    return value


def _datetime(text: str, where: str) -> datetime:
    # CAP 1.2 writes "2002-05-24T16:49:00-07:00" (a "-00:00" offset means UTC); a "Z" is read too.
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CapError(f'{where} must be a date and time like "2002-05-24T16:49:00-07:00", got {text[:40]!r}') from None
    if value.tzinfo is None:
        raise CapError(f"{where} must carry a time zone offset (e.g. +06:00), got {text[:40]!r}")
    return value


def _optional_datetime(element: Element, name: str, where: str) -> datetime | None:
    text = _text(element, name)
    return _datetime(text, f"{where} <{name}>") if text is not None else None


def _references(text: str | None) -> tuple[Reference, ...]:
    if text is None:
        return ()
    references = []
    for k, triple in enumerate(text.split()):
        parts = triple.split(",")
        if len(parts) != 3 or not all(parts):
            raise CapError(f'<references> entry {k + 1} must be "sender,identifier,sent", got {triple[:80]!r}')
        references.append(Reference(*parts))
    return tuple(references)
