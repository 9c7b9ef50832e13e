"""Languages and time zones of the pages (Flask-Babel).

Translations are plain gettext catalogues, `translations/<lang>/LC_MESSAGES/messages.po`,
compiled in memory the first time a process needs them: no build step, no binary .mo files
in the repository, and a fresh checkout (or a test run) can never use stale ones.
"""
from __future__ import annotations

from datetime import datetime
from functools import cached_property
from io import BytesIO
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import Babel, Domain, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from notifications.texts import kind_name

from ..skills import SkillCatalogue

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
DEFAULT_LANGUAGE = "en"
DEFAULT_TIMEZONE = "Asia/Almaty"
# Kazakhstan's zones first, then a few its coordinators work with.
TIMEZONES = ("Asia/Almaty", "Asia/Aqtobe", "Asia/Aqtau", "Asia/Atyrau", "Asia/Oral", "Asia/Qostanay",
             "Asia/Qyzylorda", "Asia/Tashkent", "Asia/Bishkek", "Europe/Moscow", "UTC")

LABELS = {
    # incident statuses
    "dispatching": _l("Dispatching"), "staffed": _l("Staffed"), "unfilled": _l("Unfilled"),
    "closed": _l("Closed"), "cancelled": _l("Cancelled"),
    # alert statuses
    "queued": _l("Queued"), "sent": _l("Sent"), "delivered": _l("Delivered"), "accepted": _l("Accepted"),
    "declined": _l("Declined"), "expired": _l("Expired"), "stood_down": _l("Stood down"), "failed": _l("Failed"),
    # severities
    "minor": _l("Minor"), "moderate": _l("Moderate"), "severe": _l("Severe"), "extreme": _l("Extreme"),
    # volunteer statuses
    "active": _l("Active"), "opted_out": _l("Opted out"), "inactive": _l("Inactive"),
    # outbox statuses
    "pending": _l("Waiting to send"), "claimed": _l("Sending"), "sending": _l("Sending"), "undelivered": _l("Undelivered"),
    # why matching left a volunteer out (dispatch.matching)
    "phone_problem": _l("number does not work"), "unavailable": _l("unavailable"), "busy": _l("busy"),
    "lacks_skill": _l("lacks the skill"), "beyond_own_max_distance": _l("farther than they travel"),
    "inside_area": _l("inside the area"), "quiet_hours": _l("quiet hours"),
    "accepted_elsewhere": _l("on another incident"), "alert_limit": _l("alerted enough this hour"),
    "already_alerted": _l("already alerted"),
}


def _compile(language: str) -> NullTranslations:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(fp=mo)


class PoDomain(Domain):
    """Flask-Babel's domain, reading .po catalogues directly (see the module docstring)."""

    def get_translations(self):
        language = str(get_locale() or DEFAULT_LANGUAGE)
        if language not in self.cache:
            self.cache[language] = _compile(language)
        return self.cache[language]


class PoBabel(Babel):
    @cached_property
    def domain_instance(self):
        return PoDomain()


def select_language() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def valid_timezone(name: str | None) -> str | None:
    if not name or name not in TIMEZONES and "/" not in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def select_timezone() -> str:
    return valid_timezone(session.get("tz")) or DEFAULT_TIMEZONE


def remember_language() -> None:
    """`?lang=ru` on any page switches the language for the rest of the visit."""
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang


def language_url(code: str) -> str:
    """This page again (with its query) in another language."""
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def skill_names(language: str | None = None) -> dict[str, str]:
    catalogue = SkillCatalogue.load()
    language = language or current_language()
    return {code: catalogue.name(code, language) for code in catalogue.bits}


def register_i18n(app: Flask) -> None:
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    app.config["BABEL_DEFAULT_TIMEZONE"] = DEFAULT_TIMEZONE
    PoBabel(app, locale_selector=select_language, timezone_selector=select_timezone)

    @app.template_filter("label")
    def label(code: str | None) -> str:
        return str(LABELS.get(code, code or ""))

    @app.template_filter("when")
    def when(value: datetime | str | None) -> str:
        """A stored UTC time in the viewer's time zone and language, e.g. "1 Jan 15:00"."""
        if not value:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value.removesuffix("Z"))
        return format_datetime(value, "d MMM HH:mm")

    @app.template_filter("kind")
    def kind(code: str) -> str:
        return kind_name(code, current_language())

    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language,
                                 language_url=language_url)
