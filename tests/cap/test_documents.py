"""The cap library on real documents of national warning systems, synthetic kk/ru ones, hostile
XML (nothing read from disk or network), and property tests of the polygon and circle parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cap
from tests.fakes.cap_feed_server import FakeCapFeed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cap"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_met_norway_gale_picks_english_over_norwegian():
    alert = cap.parse_alert(fixture("metno-gale-2021-09-21.xml"))
    assert (alert.sender, alert.msg_type, alert.status) == ("noreply@met.no", "Alert", "Actual")
    assert [i.language for i in alert.infos] == ["no", "en-GB"]
    info = cap.choose_info(alert)
    assert info.language == "en-GB" and info.event == "Gale" and info.severity == "Moderate"
    assert info.polygons[0][0] == (62.217167, 4.9325) and info.polygons[0][0] == info.polygons[0][-1]
    assert info.expires.isoformat() == "2021-09-22T10:00:00+00:00"


def test_environment_canada_update_with_references_and_signature():
    alert = cap.parse_alert(fixture("eccc-air-quality-2022-10-10.xml"))
    assert alert.msg_type == "Update" and len(alert.references) == 21
    assert alert.references[-1] == cap.Reference(
        "cap-pac@canada.ca", "urn:oid:2.49.0.1.124.0595930621.2022", "2022-10-10T12:10:29-00:00"
    )
    assert [i.language for i in alert.infos] == ["en-CA", "fr-CA", "en-CA", "fr-CA"]
    info = cap.choose_info(alert)
    assert info.headline == "special air quality statement in effect"
    assert [a.description for a in info.areas] == ["Kootenay Lake", "East Kootenay - south including Cranbrook"]
    assert info.categories == ("Env", "Health", "Geo", "Met", "Transport")


def test_nws_thunderstorm_without_language_is_english():
    alert = cap.parse_alert(fixture("nws-severe-thunderstorm-ksto.xml"))
    info = cap.choose_info(alert)
    assert info.language == "en-US" and info.severity == "Severe" and info.urgency == "Immediate"
    assert info.polygons == (
        ((38.47, -120.14), (38.34, -119.95), (38.52, -119.74), (38.62, -119.89), (38.47, -120.14)),
    )


def test_kazakh_info_is_chosen_first_then_russian():
    flood = cap.choose_info(cap.parse_alert(fixture("kazhydromet-flood-ishim-kk.xml")))
    assert flood.language == "kk-KZ" and flood.headline.startswith("Есіл өзенінде")
    assert flood.circles == (cap.Circle(51.03, 71.5, 5.0),)
    storm = cap.choose_info(cap.parse_alert(fixture("kazhydromet-storm-almaty-ru.xml")))
    assert storm.language == "ru-RU" and storm.severity == "Extreme"


def doc(body: str, ns: str = "urn:oasis:names:tc:emergency:cap:1.2") -> bytes:
    return f'<?xml version="1.0"?><alert xmlns="{ns}">{body}</alert>'.encode()


HEAD = (
    "<identifier>A-1</identifier><sender>s@example.kz</sender><sent>2036-01-01T00:00:00+05:00</sent>"
    "<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>"
)
INFO = "<info><category>Met</category><event>Storm</event><urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>{area}</info>"


@pytest.mark.parametrize(
    ("body", "ns", "problem"),
    [
        (HEAD, "urn:oasis:names:tc:emergency:cap:1.1", "not CAP 1.2"),
        (HEAD.replace("<sender>s@example.kz</sender>", ""), None, "no <sender>"),
        (HEAD.replace("Actual", "Real"), None, "<status> must be one of"),
        (HEAD.replace("2036-01-01T00:00:00+05:00", "2036-01-01T00:00:00"), None, "time zone"),
        (HEAD.replace("<msgType>Alert", "<msgType>Cancel"), None, "must name the alerts it cancels"),
        (
            HEAD + INFO.format(area="<area><areaDesc>x</areaDesc><polygon>51,71 52,71 52,72</polygon></area>"),
            None,
            "at least 4",
        ),
        (
            HEAD + INFO.format(area="<area><areaDesc>x</areaDesc><polygon>51,71 52,71 52,72 51,72</polygon></area>"),
            None,
            "not closed",
        ),
        (
            HEAD + INFO.format(area="<area><areaDesc>x</areaDesc><polygon>151,71 52,71 52,72 151,71</polygon></area>"),
            None,
            "latitude 151 .*latitude first",
        ),
        (
            HEAD + INFO.format(area="<area><areaDesc>x</areaDesc><circle>51,71</circle></area>"),
            None,
            "lat,lon radius_km",
        ),
        (HEAD + INFO.format(area="<area><polygon>51,71 52,71 52,72 51,71</polygon></area>"), None, "no <areaDesc>"),
    ],
)
def test_the_first_problem_is_named(body, ns, problem):
    with pytest.raises(cap.CapError, match=problem):
        cap.parse_alert(doc(body, ns or "urn:oasis:names:tc:emergency:cap:1.2"))


# --- Hostile XML: refused, nothing read from disk or network ---------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>"""


def external_entity(url: str) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "{url}">]>'
        f'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>'
    ).encode()


def deep(levels: int) -> bytes:
    return doc("<a>" * levels + "</a>" * levels)


def many_polygons(n: int) -> bytes:
    area = "<area><areaDesc>x</areaDesc>" + "<polygon>51,71 52,71 52,72 51,71</polygon>" * n + "</area>"
    return doc(HEAD + INFO.format(area=area))


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (BILLION_LAUGHS, "DTD"),
        (external_entity("file:///etc/passwd"), "DTD"),
        (deep(10_000), "nested deeper"),
        (b"x" * (cap.MAX_DOCUMENT_BYTES + 1), "larger than"),
        (many_polygons(600), "more than 500 polygons"),
        (doc(HEAD + "<note/>" * 25_000), "more than 20000 elements"),
        (b"<alert", "not well-formed"),
    ],
)
def test_hostile_documents_are_refused(document, problem):
    with pytest.raises(cap.CapError, match=problem):
        cap.parse_alert(document)


def test_an_external_entity_on_the_loopback_is_never_fetched():
    with FakeCapFeed() as server:
        server.serve("/dtd", b"<!ENTITY x 'pwned'>", "application/xml-dtd")
        server.serve("/x", b"pwned", "text/plain")
        with pytest.raises(cap.CapError, match="DTD"):
            cap.parse_alert(external_entity(server.url("/x")))
        with pytest.raises(cap.CapError, match="DTD"):
            cap.parse_alert(f'<?xml version="1.0"?><!DOCTYPE alert SYSTEM "{server.url("/dtd")}"><alert/>'.encode())
        assert server.requests == []


# --- Property tests: polygons and circles ----------------------------------------------------

lats = st.floats(-90, 90, allow_nan=False)
lons = st.floats(-180, 180, allow_nan=False)


@given(st.lists(st.tuples(lats, lons), min_size=3, max_size=40))
def test_polygon_reads_lat_then_lon_and_keeps_the_closed_ring(points):
    ring = [*points, points[0]]
    text = " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in ring)
    parsed = cap.parse_polygon(text)
    assert parsed == tuple((float(f"{lat:.6f}"), float(f"{lon:.6f}")) for lat, lon in ring)


@given(st.lists(st.tuples(lats, lons), min_size=3, max_size=40), st.tuples(lats, lons))
def test_an_open_ring_is_refused(points, last):
    text = " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in [*points, last])
    first, final = ([float(x) for x in pair.split(",")] for pair in (text.split()[0], text.split()[-1]))
    if first == final:
        return
    with pytest.raises(cap.CapError, match="not closed"):
        cap.parse_polygon(text)


@given(st.text(max_size=200))
def test_any_text_is_a_polygon_or_a_clear_refusal(text):
    try:
        ring = cap.parse_polygon(text)
    except cap.CapError as exc:
        assert str(exc)
    else:
        assert len(ring) >= 4 and ring[0] == ring[-1]
        assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in ring)


@given(lats, lons, st.floats(0, 20_000, allow_nan=False))
def test_circle_reads_lat_lon_and_radius_in_km(lat, lon, radius):
    parsed = cap.parse_circle(f"{lat:.6f},{lon:.6f} {radius:.3f}")
    assert parsed == cap.Circle(float(f"{lat:.6f}"), float(f"{lon:.6f}"), float(f"{radius:.3f}"))


@given(st.floats(-89, 89), st.floats(0.1, 500))
def test_circles_across_the_antimeridian_make_an_area_without_crashing(lat, radius_km):
    from geo import GeoError, cap_area

    for lon in (179.99, -179.99, 180.0):
        circle = cap.parse_circle(f"{lat:.5f},{lon:.5f} {radius_km:.3f}")
        try:
            area = cap_area([], [(circle.lat, circle.lon, circle.radius_km)])
        except GeoError as exc:  # a circle over a pole is refused in words
            assert "pole" in str(exc)
        else:
            assert area.vertex_count > 0
