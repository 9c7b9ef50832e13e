"""Certificates: the PDF (kk/ru/en, an embedded font with every Kazakh letter, the code as text),
the public verify page (valid, unknown, corrected later, minimal data, headers, rate limit) and
hostile names drawn as text with nothing fetched."""

from __future__ import annotations

import io
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pypdf
import pytest
from sqlalchemy import func, select

from dispatch import certificates
from dispatch.clock import utcnow
from dispatch.extensions import db
from dispatch.models import Certificate
from dispatch.reply_links import MAX_UNKNOWN_PER_ADDRESS

from .factories import volunteer
from .test_activity_exports import record

KAZAKH_LETTERS = "әғқңөұүһі"
NAME = "Әсел Ғалымқызы Қоңырбаева-Өмірзақ Ұлықбек Үміт Һәм Іңкәр"
TITLES = {
    "kk": "Волонтерлік қызмет туралы анықтама",
    "ru": "Справка о волонтёрской деятельности",
    "en": "Certificate of volunteer activity",
}
CODE = re.compile(r"/verify/([A-Za-z0-9_-]{27})")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def certificate(client, auth, person_id: int, query: str = "") -> tuple[str, str]:
    """(PDF text, verification code) of a new certificate."""
    response = client.get(f"/api/v1/volunteers/{person_id}/certificate?{query}", headers=auth("coordinator"))
    assert response.status_code == 200, response.get_data()[:300]
    assert response.mimetype == "application/pdf" and response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.get_data())
    return text, CODE.search(text.replace("\n", "")).group(1)


@pytest.fixture
def person(app):
    person = volunteer(1, name=NAME, organization="Қызыл Жарты Ай", phone="+77015550101", language="kk", region="KZ-71")
    start = utcnow() - timedelta(days=3)
    record(person, start, 150)
    record(person, start + timedelta(days=1), 60)
    record(person, start - timedelta(days=400), 600)  # another year: outside the period
    return person


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_pdf_in_each_language_has_the_name_hours_and_code(client, auth, person, lang):
    today = utcnow().date()
    first = (today - timedelta(days=30)).isoformat()
    text, code = certificate(client, auth, person.id, f"lang={lang}&from={first}&to={today.isoformat()}")
    flat = text.replace("\n", " ")
    assert TITLES[lang] in flat and NAME in flat and "Қызыл Жарты Ай" in flat
    assert all(letter in flat.lower() and letter.upper() in flat.upper() for letter in KAZAKH_LETTERS)
    assert ("3,5" if lang != "en" else "3.5") in flat  # 150 + 60 minutes, in the language's numbers
    assert code in flat and f"http://127.0.0.1:5000/verify/{code}" in flat
    assert len(code) * 6 >= 128
    stored = db.session.scalar(select(Certificate))
    assert stored.code_hash == certificates.hash_code(code) and code not in stored.code_hash
    assert stored.seconds == 210 * 60 and stored.records == 2 and stored.language == lang


def test_the_font_is_embedded_and_the_qr_code_is_drawn(client, auth, person):
    response = client.get(f"/api/v1/volunteers/{person.id}/certificate?lang=ru", headers=auth("coordinator"))
    reader = pypdf.PdfReader(io.BytesIO(response.get_data()))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    described = [font.get_object() for font in fonts.values()]
    assert described and all(font["/Subtype"] == "/TrueType" and "Roboto" in font["/BaseFont"] for font in described)
    assert all("/FontFile2" in font["/FontDescriptor"].get_object() for font in described)  # embedded
    # The QR code: hundreds of filled squares on the page, no image.
    content = reader.pages[0].get_contents().get_data()
    assert content.count(b" re") > 200 and "/XObject" not in reader.pages[0]["/Resources"]


def test_verify_page_shows_minimal_data_and_private_headers(client, auth, person):
    _, code = certificate(client, auth, person.id, "lang=en")
    page = client.get(f"/verify/{code}", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert NAME in html and "Қызыл Жарты Ай" in html and "3,5" in html
    assert "Проверка справки" in html  # the browser's language, not the certificate's
    assert person.phone not in html and "KZ-71" not in html and "Астана" not in html
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert 'id="changed"' not in html


def test_unknown_and_malformed_codes_are_404(client, auth, person):
    certificate(client, auth, person.id)
    for code in ("A" * 27, "short", "<b>x<b>", "A" * 28, "Ә" * 27):
        page = client.get(f"/verify/{code}")
        assert page.status_code == 404, code
        assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
        assert NAME not in page.get_data(as_text=True) and "<b>x" not in page.get_data(as_text=True)
    assert client.get("/verify/../../etc/passwd").status_code == 404


def test_a_record_corrected_after_issue_is_said(client, auth, person):
    _, code = certificate(client, auth, person.id, "lang=ru")
    row = client.get(f"/api/v1/activity?volunteer_id={person.id}&per_page=1", headers=auth("viewer")).get_json()
    item = row["items"][0]
    end = item["started_at"].replace("Z", "")
    from datetime import datetime

    new_end = (datetime.fromisoformat(end) + timedelta(minutes=30)).isoformat() + "Z"
    patched = client.patch(
        f"/api/v1/activity/{item['id']}",
        json={"ended_at": new_end, "reason": "ушёл раньше"},
        headers=auth("coordinator"),
    )
    assert patched.status_code == 200, patched.get_json()
    html = client.get(f"/verify/{code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="changed"' in html and "changed after it was issued" in html
    assert "3.5" in html  # what was certified stays what it said


def test_guessing_codes_is_rate_limited_per_address(client, auth, person):
    _, code = certificate(client, auth, person.id)
    for _ in range(MAX_UNKNOWN_PER_ADDRESS):
        assert client.get(f"/verify/{'B' * 27}").status_code == 404
    refused = client.get(f"/verify/{code}")  # even a good code, from that address, for a while
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    other = client.get(f"/verify/{code}", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_bad_requests_change_nothing(client, auth, person):
    url = f"/api/v1/volunteers/{person.id}/certificate"
    for query in ("lang=fr", "from=2030-02-01&to=2030-01-01", "from=yesterday", "from=0001-01-01", "to=2030-1-1"):
        response = client.get(f"{url}?{query}", headers=auth("coordinator"))
        assert response.status_code == 400, query
    assert client.get("/api/v1/volunteers/999999/certificate", headers=auth("coordinator")).status_code == 404
    assert client.get(url, headers=auth("viewer")).status_code == 403
    assert client.get(url).status_code == 401
    assert db.session.scalar(select(func.count(Certificate.id))) == 0


class _Recorder(BaseHTTPRequestHandler):
    contacts: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.contacts.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>fetched</html>")

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback():
    _Recorder.contacts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_hostile_names_are_drawn_as_text_and_nothing_is_fetched(client, auth, loopback):
    port = loopback.server_address[1]
    name = '<img src="file:///etc/passwd"/> <b>Bold</b> &amp;'
    organization = f'<link href="http://127.0.0.1:{port}/">org</link> <img src="http://127.0.0.1:{port}/x.png"/>'
    person = volunteer(1, name=name, organization=organization)
    record(person, utcnow() - timedelta(days=1), 60)
    for lang in ("kk", "ru", "en"):
        text, code = certificate(client, auth, person.id, f"lang={lang}")
        flat = text.replace("\n", "")
        assert name in flat and organization.replace(" ", "") in flat.replace(" ", "")
        assert "root:" not in flat
        html = client.get(f"/verify/{code}").get_data(as_text=True)
        assert "<img src=" not in html and "&lt;img src=&#34;file:///etc/passwd&#34;/&gt;" in html
    assert _Recorder.contacts == []
