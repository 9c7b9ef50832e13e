"""Certificates of a volunteer's hours for a period: a PDF in kk, ru or en, and the public page
that verifies one (`/verify/<code>`).

The code is 27 base64url characters from the operating system's random source (160 bits); only
its SHA-256 is stored, with what the certificate certified (volunteer, name and organisation
as printed, period, records, seconds, issue time), so a leaked database gives no working codes.
A certificate counts the verified, closed records that started in the period. The verify page
compares the register now with what was certified and says so when a record behind it was
corrected, verified, entered or removed after issue.

The PDF is drawn with reportlab's canvas (drawString), never with Paragraph or any markup
parser: a name like `<img src="file:///etc/passwd"/>` is drawn as those characters, and nothing
is ever fetched. The font is Roboto (the font-roboto package, Apache 2.0; it has every Kazakh
letter), embedded as a subset.

Guessing codes is refused per client address as reply links are (dispatch/reply_links.py): past
MAX_UNKNOWN_PER_ADDRESS unknown codes in UNKNOWN_WINDOW, counted as audit events, 429.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import font_roboto
import segno
from babel.dates import format_date
from babel.numbers import format_decimal
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select

from . import audit, scopes
from .activity import hours, local_day_start
from .clock import utcnow
from .errors import NotFound, RateLimited
from .extensions import db
from .models import Activity, Certificate, User, Volunteer
from .reply_links import MAX_UNKNOWN_PER_ADDRESS, UNKNOWN_WINDOW

CODE_BYTES = 20  # 160 bits
_CODE_FORMAT = re.compile(r"[A-Za-z0-9_-]{27}")
PATH = "/verify/"
UNKNOWN_EVENT = "verify_code_unknown"
FONT, FONT_BOLD = "Roboto", "Roboto-Bold"

# What the PDF says, in each language (a native speaker should read kk and ru: see README).
TEXTS = {
    "en": {
        "title": "Certificate of volunteer activity",
        "intro": "This certifies the volunteer activity recorded in the register of volunteer activity.",
        "volunteer": "Volunteer",
        "organization": "Organisation",
        "period": "Period",
        "hours": "Hours of volunteer activity",
        "records": "Records",
        "issued": "Issued",
        "code": "Verification code",
        "check": "Check this certificate at",
        "law": "Counted are the records verified by a coordinator, kept as the Law of the Republic of "
        "Kazakhstan No. 42-VI “On volunteer activity” asks.",
        "none": "—",
    },
    "ru": {
        "title": "Справка о волонтёрской деятельности",
        "intro": "Настоящая справка подтверждает волонтёрскую деятельность, учтённую в реестре "
        "волонтёрской деятельности.",
        "volunteer": "Волонтёр",
        "organization": "Организация",
        "period": "Период",
        "hours": "Часы волонтёрской деятельности",
        "records": "Записей",
        "issued": "Выдана",
        "code": "Код проверки",
        "check": "Проверить справку",
        "law": "Учтены записи, подтверждённые координатором, согласно Закону Республики Казахстан "
        "№ 42-VI «О волонтерской деятельности».",
        "none": "—",
    },
    "kk": {
        "title": "Волонтерлік қызмет туралы анықтама",
        "intro": "Бұл анықтама волонтерлік қызмет тізілімінде есепке алынған волонтерлік қызметті растайды.",
        "volunteer": "Волонтер",
        "organization": "Ұйым",
        "period": "Кезең",
        "hours": "Волонтерлік қызмет сағаттары",
        "records": "Жазбалар саны",
        "issued": "Берілген күні",
        "code": "Тексеру коды",
        "check": "Анықтаманы тексеру",
        "law": "Қазақстан Республикасының № 42-VI «Волонтерлік қызмет туралы» Заңына сәйкес үйлестіруші "
        "растаған жазбалар есепке алынды.",
        "none": "—",
    },
}


class TooManyUnknownCodes(RateLimited):
    message = "Too many unknown verification codes from this address; try again later."
    retry_after = int(UNKNOWN_WINDOW.total_seconds())


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def verify_url(base_url: str, code: str) -> str:
    return base_url.rstrip("/") + PATH + code


# -- issuing ------------------------------------------------------------------------------------


def _period_moments(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    return local_day_start(first_day), local_day_start(last_day + timedelta(days=1))


def _register(volunteer_id: int, period_from: datetime, period_to: datetime) -> tuple[int, int]:
    """(records, seconds) the register holds now for a certificate of this volunteer and period."""
    records, seconds = db.session.execute(
        select(func.count(Activity.id), func.coalesce(func.sum(Activity.duration_s), 0)).where(
            Activity.volunteer_id == volunteer_id,
            Activity.verified.is_(True),
            Activity.duration_s.is_not(None),
            Activity.started_at >= period_from,
            Activity.started_at < period_to,
        )
    ).one()
    return int(records), int(seconds)


def issue(
    volunteer_id: int, language: str | None, first_day: date, last_day: date, by: User
) -> tuple[Certificate, str]:
    """A new certificate (committed) and its code, which exists only in the caller's hands; in
    the volunteer's own language unless another is asked."""
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None or volunteer.erased_at is not None or not scopes.of(by).holds_volunteer(volunteer):
        raise NotFound(f"No volunteer {volunteer_id}.")
    period_from, period_to = _period_moments(first_day, last_day)
    records, seconds = _register(volunteer.id, period_from, period_to)
    code = new_code()
    certificate = Certificate(
        code_hash=hash_code(code),
        volunteer_id=volunteer.id,
        name=volunteer.name,
        organization=volunteer.organization_name,
        language=language or volunteer.language,
        first_day=first_day,
        last_day=last_day,
        period_from=period_from,
        period_to=period_to,
        records=records,
        seconds=seconds,
        issued_at=utcnow(),
        issued_by_id=by.id,
    )
    db.session.add(certificate)
    db.session.flush()
    audit.record(
        f"user:{by.id}",
        "certificate_issued",
        volunteer_id=volunteer.id,
        details={
            "certificate_id": certificate.id,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "hours": hours(seconds),
        },
    )
    db.session.commit()
    return certificate, code


# -- the PDF ---------------------------------------------------------------------------------------


@cache
def _fonts() -> tuple[str, str]:
    folder = Path(font_roboto.__file__).parent / "files"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "Roboto-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "Roboto-Bold.ttf")))
    return FONT, FONT_BOLD


def period_text(first_day: date, last_day: date, language: str) -> str:
    return f"{format_date(first_day, 'long', locale=language)} – {format_date(last_day, 'long', locale=language)}"


def hours_text(seconds: int, language: str) -> str:
    return format_decimal(hours(seconds) or 0, format="#,##0.##", locale=language)


def render_pdf(certificate: Certificate, code: str, base_url: str) -> bytes:
    """The certificate as a one-page A4 PDF. Every text from people (name, organisation) is
    drawn with drawString, wrapped by width: characters, never markup."""
    regular, bold = _fonts()
    texts = TEXTS[certificate.language]
    lang = certificate.language
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=A4, invariant=True, pageCompression=1, initialFontName=regular)
    pdf.setTitle(texts["title"])
    pdf.setCreator("Volunteer dispatch")
    width, height = A4
    left, text_width = 25 * mm, width - 50 * mm
    y = height - 35 * mm

    def lines(text: str, font: str, size: float, gap: float = 1.35) -> None:
        nonlocal y
        pdf.setFont(font, size)
        for line in simpleSplit(text, font, size, text_width) or [""]:
            pdf.drawString(left, y, line)
            y -= size * gap

    lines(texts["title"], bold, 20)
    y -= 4 * mm
    lines(texts["intro"], regular, 11)
    y -= 6 * mm
    fields = (
        (texts["volunteer"], certificate.name or texts["none"]),
        (texts["organization"], certificate.organization or texts["none"]),
        (texts["period"], period_text(certificate.first_day, certificate.last_day, lang)),
        (texts["hours"], hours_text(certificate.seconds, lang)),
        (texts["records"], str(certificate.records)),
        (texts["issued"], format_date(certificate.issued_at.date(), "long", locale=lang)),
    )
    for label, value in fields:
        lines(label, regular, 9)
        y -= 1.5 * mm  # room for the larger letters below
        lines(value, bold, 14)
        y -= 2 * mm
    y -= 4 * mm
    url = verify_url(base_url, code)
    lines(texts["code"], regular, 9)
    y -= 1 * mm
    lines(code, bold, 12)
    lines(f"{texts['check']}: {url}", regular, 9)
    _draw_qr(pdf, url, left, y - 45 * mm, 40 * mm)
    y -= 55 * mm
    lines(texts["law"], regular, 8)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _draw_qr(pdf: Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR code as filled squares (vector; no image library, nothing fetched)."""
    matrix = segno.make(url, error="m").matrix
    cell = size / len(matrix)
    pdf.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        for col_index, dark in enumerate(row):
            if dark:
                pdf.rect(x + col_index * cell, y + size - (row_index + 1) * cell, cell, cell, stroke=0, fill=1)


# -- verifying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What the public page may show: no phone, birth date, address or place."""

    name: str | None
    organization: str | None
    first_day: date
    last_day: date
    hours: float
    records: int
    issued_at: datetime
    # The register now, when it differs from what was certified (a record corrected, verified,
    # entered or removed after issue); None when it is unchanged.
    hours_now: float | None
    changed_after_issue: bool
    erased: bool


def check_address(address: str | None) -> None:
    """Raise TooManyUnknownCodes while this address is over the limit of unknown codes."""
    if audit.count_recent(audit.address_actor(address), UNKNOWN_EVENT, UNKNOWN_WINDOW) >= MAX_UNKNOWN_PER_ADDRESS:
        raise TooManyUnknownCodes()


def record_unknown(address: str | None) -> None:
    audit.record(audit.address_actor(address), UNKNOWN_EVENT)
    db.session.commit()


def verify(code: str) -> Verification | None:
    """The certificate behind a code, as the public may see it; None for an unknown code."""
    if not _CODE_FORMAT.fullmatch(code):
        return None
    certificate = db.session.scalar(select(Certificate).where(Certificate.code_hash == hash_code(code)))
    if certificate is None:
        return None
    volunteer = db.session.get(Volunteer, certificate.volunteer_id)
    erased = volunteer is None or volunteer.erased_at is not None
    records, seconds = _register(certificate.volunteer_id, certificate.period_from, certificate.period_to)
    corrected_later = db.session.scalar(
        select(func.count(Activity.id)).where(
            Activity.volunteer_id == certificate.volunteer_id,
            Activity.started_at >= certificate.period_from,
            Activity.started_at < certificate.period_to,
            Activity.corrected_at > certificate.issued_at,
        )
    )
    changed = bool(corrected_later) or (records, seconds) != (certificate.records, certificate.seconds)
    return Verification(
        name=None if erased else certificate.name,
        organization=None if erased else certificate.organization,
        first_day=certificate.first_day,
        last_day=certificate.last_day,
        hours=hours(certificate.seconds) or 0.0,
        records=certificate.records,
        issued_at=certificate.issued_at,
        hours_now=hours(seconds) if changed else None,
        changed_after_issue=changed,
        erased=erased,
    )
