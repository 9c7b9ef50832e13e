import pytest

from geo import Geocoder, GeocodeResult, GeocodingUnavailable, GeoError, MemoryGeocodeCache, Point
from tests.fakes.nominatim_server import FakeNominatim

UA = "dispatch-tests/1.0"


def make_geocoder(server: FakeNominatim, cache=None, **kwargs) -> Geocoder:
    kwargs.setdefault("min_delay_s", 0.001)
    return Geocoder(server.base_url, user_agent=UA, cache=cache, **kwargs)


def test_hit(nominatim_server):
    nominatim_server.add_place("Astana, Mangilik El 8", 51.0906, 71.4183, "Mangilik El 8, Astana, Kazakhstan")
    result = make_geocoder(nominatim_server).geocode("Astana, Mangilik El 8")
    assert result == GeocodeResult(Point(51.0906, 71.4183), "Mangilik El 8, Astana, Kazakhstan")
    [request] = nominatim_server.requests
    assert request.path == "/search"
    assert request.params["q"] == "Astana, Mangilik El 8"
    assert request.params["format"] == "json"
    assert request.headers["User-Agent"] == UA


def test_miss_returns_none(nominatim_server):
    assert make_geocoder(nominatim_server).geocode("Nowhere street 0") is None
    assert nominatim_server.paths() == ["/search"]


def test_cache_stops_repeat_requests_for_hits_and_misses(nominatim_server):
    nominatim_server.add_place("Talgar", 43.3026, 77.2403, "Talgar, Almaty Region, Kazakhstan")
    cache = MemoryGeocodeCache()
    geocoder = make_geocoder(nominatim_server, cache=cache)
    first = geocoder.geocode("Talgar")
    assert geocoder.geocode("  tALGAR ") == first  # same normalised key
    assert geocoder.geocode("Atlantis") is None
    assert geocoder.geocode("atlantis") is None
    assert nominatim_server.paths() == ["/search", "/search"]
    assert cache.entries["fwd:atlantis"] == {"found": False}
    assert cache.entries["fwd:talgar"]["found"] is True
    # A fresh geocoder sharing the cache (as dispatch's database table would) asks nobody.
    assert make_geocoder(nominatim_server, cache=cache).geocode("Talgar") == first
    assert len(nominatim_server.requests) == 2


def test_service_error_raises_unavailable(nominatim_server):
    nominatim_server.fail_status = 500
    geocoder = make_geocoder(nominatim_server, cache=MemoryGeocodeCache())
    with pytest.raises(GeocodingUnavailable, match="unavailable"):
        geocoder.geocode("Astana")
    with pytest.raises(GeocodingUnavailable):
        geocoder.reverse(Point(51.1, 71.4))
    assert isinstance(GeocodingUnavailable("x"), GeoError)
    # Failures are not cached: once the service is back, the address resolves.
    nominatim_server.fail_status = None
    nominatim_server.add_place("Astana", 51.1694, 71.4491, "Astana, Kazakhstan")
    assert geocoder.geocode("Astana").point == Point(51.1694, 71.4491)


def test_timeout_raises_unavailable(nominatim_server):
    nominatim_server.delay_s = 0.5
    with pytest.raises(GeocodingUnavailable):
        make_geocoder(nominatim_server, timeout_s=0.05).geocode("Astana")


def test_reverse_gives_a_short_name(nominatim_server):
    nominatim_server.set_reverse(
        {
            "road": "Dostyk Avenue",
            "suburb": "Medeu District",
            "city": "Almaty",
            "state": "Almaty",
            "postcode": "050010",
            "country": "Kazakhstan",
            "country_code": "kz",
        },
        "136, Dostyk Avenue, Medeu District, Almaty, 050010, Kazakhstan",
    )
    cache = MemoryGeocodeCache()
    geocoder = make_geocoder(nominatim_server, cache=cache)
    assert geocoder.reverse(Point(43.2330, 76.9570)) == "Medeu District, Almaty"
    assert geocoder.reverse(Point(43.2330, 76.9570)) == "Medeu District, Almaty"
    [request] = nominatim_server.requests
    assert request.path == "/reverse"
    assert (request.params["lat"], request.params["lon"], request.params["format"]) == ("43.233", "76.957", "json")
    assert "rev:43.23300,76.95700" in cache.entries


def test_reverse_village_and_nothing(nominatim_server):
    nominatim_server.set_reverse(
        {"village": "Koktobe", "county": "Talgar District", "state": "Almaty Region", "country": "Kazakhstan"},
        "Koktobe, Talgar District, Almaty Region, Kazakhstan",
    )
    geocoder = make_geocoder(nominatim_server)
    assert geocoder.reverse(Point(43.3, 77.2)) == "Koktobe"
    nominatim_server.set_reverse({}, "")
    nominatim_server.reverse_answer = {"error": "Unable to geocode"}
    assert geocoder.reverse(Point(0.0, -150.0)) is None


def test_base_url_with_path_prefix():
    with FakeNominatim(path_prefix="/nominatim") as server:
        server.add_place("Astana", 51.1694, 71.4491, "Astana, Kazakhstan")
        assert server.base_url.endswith("/nominatim")
        assert make_geocoder(server).geocode("Astana").point == Point(51.1694, 71.4491)
        assert server.paths() == ["/search"]


def test_requests_are_rate_limited(nominatim_server):
    geocoder = make_geocoder(nominatim_server, min_delay_s=0.2)
    geocoder.geocode("one")
    geocoder.reverse(Point(1, 1))
    first, second = nominatim_server.requests
    assert second.at - first.at >= 0.19


@pytest.mark.parametrize("url", ["ftp://host", "nominatim.example.org", "https://", "https://host/?q=1"])
def test_rejects_bad_base_url(url):
    with pytest.raises(GeoError, match="base_url"):
        Geocoder(url, user_agent=UA)


def test_rejects_empty_user_agent_and_address(nominatim_server):
    with pytest.raises(GeoError, match="user_agent"):
        Geocoder(nominatim_server.base_url, user_agent=" ")
    with pytest.raises(GeoError, match="address is empty"):
        make_geocoder(nominatim_server).geocode("   ")
