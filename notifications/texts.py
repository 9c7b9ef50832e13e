"""Renders the SMS we send, in the volunteer's language, marked when it is a drill, within 2 parts.

Each template's values are its contract with the caller; wording lives in notifications.phrasebook.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from notifications.phrasebook import KIND_NAMES, PHRASES
from notifications.segments import SegmentCount, count_segments, is_gsm7

__all__ = [
    "DEFAULT_LANGUAGE",
    "KINDS",
    "LANGUAGES",
    "MAX_SEGMENTS",
    "SegmentCount",
    "TEMPLATES",
    "Template",
    "count_segments",
    "kind_name",
    "one_line",
    "render",
    "resolve_language",
]

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "en"
KINDS = tuple(KIND_NAMES["en"])
# Every part is billed and every alert goes to many phones; two parts is the budget, and a
# text that needs more is too long to read at a glance anyway.
MAX_SEGMENTS = 2
MAX_LISTED_CODES = 4  # which_incident lists at most this many; more would not fit anyway


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """text on one line: control characters and runs of whitespace (line breaks too) become one
    space, so text from outside can neither break an SMS into forged lines nor forge a log line."""
    return " ".join(_CONTROL.sub(" ", text).split())


def resolve_language(language: str | None) -> str:
    """ "ru", "ru-KZ", "RU" -> "ru"; anything we do not write in -> English."""
    base = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def kind_name(kind: str, language: str) -> str:
    """The incident kind in words, e.g. kind_name("fire", "kk") == "Өрт"; unknown kinds read as other."""
    names = KIND_NAMES[resolve_language(language)]
    return names.get(kind, names["other"])


def _distance(distance_km: float, language: str) -> str:
    text = f"{distance_km:.1f}".removesuffix(".0")
    # Kazakh and Russian write a decimal comma.
    return text if language == "en" else text.replace(".", ",")


@dataclass(frozen=True)
class _Wording:
    """One language's phrases, with variant picking the wording of multi-wording phrases."""

    phrases: Mapping[str, str | tuple[str, ...]]
    variant: int = 0

    def __getitem__(self, key: str) -> str:
        phrase = self.phrases[key]
        return phrase if isinstance(phrase, str) else phrase[min(self.variant, len(phrase) - 1)]

    @property
    def variants(self) -> int:
        return max(len(p) if isinstance(p, tuple) else 1 for p in self.phrases.values())


def _piece(phrases: _Wording, key: str, value: object, **extra: object) -> str:
    """An optional sentence: empty when its value is missing."""
    if value is None or value == "":
        return ""
    return phrases[key].format(**extra)


# --- Builders: (phrases, language, values) -> text without the drill mark ---------------
Builder = Callable[[_Wording, str, dict[str, Any]], str]


def _alert(p: _Wording, lang: str, v: dict[str, Any]) -> str:
    return p["alert"].format(
        code=v["code"],
        kind=kind_name(v["kind"], lang),
        title=v["title"],
        place=v["place"],
        distance=_distance(v["distance_km"], lang),
        skill=_piece(p, "alert_skill", v["skill_name"], skill=v["skill_name"]),
    ) + _piece(p, "alert_link", v["link"], link=v["link"])  # a reply link is never cut


def _confirmation(p: _Wording, lang: str, v: dict[str, Any]) -> str:
    return p["confirmation"].format(
        code=v["code"],
        title=v["title"],
        # Fixed 5 decimals (about 1 m) with a dot and no space, as map apps read it from an SMS.
        coords=f"{float(v['lat']):.5f},{float(v['lon']):.5f}",
        address=_piece(p, "confirmation_address", v["address"], address=v["address"]),
        skill=_piece(p, "confirmation_skill", v["skill_name"], skill=v["skill_name"]),
        eta=_piece(p, "confirmation_eta", v["eta_min"], eta=v["eta_min"]),
    )


def _standby_notice(p: _Wording, lang: str, v: dict[str, Any]) -> str:
    return p["standby_notice"].format(kind=kind_name(v["kind"], lang), title=v["title"], place=v["place"])


def _place_changed(p: _Wording, lang: str, v: dict[str, Any]) -> str:
    return p["place_changed"].format(
        code=v["code"],
        title=v["title"],
        coords=f"{float(v['lat']):.5f},{float(v['lon']):.5f}",  # as in the confirmation
        meeting=_piece(p, "place_changed_meeting", v["meeting_point"], meeting=v["meeting_point"]),
    )


def _which_incident(p: _Wording, lang: str, v: dict[str, Any]) -> str:
    options = [p["which_incident_option"].format(code=code) for code in v["codes"]]
    options = options[:MAX_LISTED_CODES] or [p["which_incident_option"].format(code="482")]
    joined = ", ".join(options[:-1]) + p["or"] + options[-1] if len(options) > 1 else options[0]
    return p["which_incident"].format(options=joined)


def _busy(p: _Wording, lang: str, v: dict[str, Any]) -> str:
    if v["hours"]:
        return p["busy_hours"].format(hours=v["hours"])
    return p["busy"]


def _hours(p: _Wording, lang: str, v: dict[str, Any]) -> str:
    return p["hours"].format(year=_number(float(v["year_hours"]), lang), recent=_number(float(v["recent_hours"]), lang))


def _number(value: float, language: str) -> str:
    """Hours to two decimals, without trailing zeros: 12.5, 3, 0.25 (a decimal comma in kk, ru)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if language == "en" else text.replace(".", ",")


def _plain(key: str) -> Builder:
    """A template whose phrase takes the values by name as they are."""
    return lambda p, lang, v: p[key].format(**v)


@dataclass(frozen=True)
class Template:
    name: str
    params: tuple[str, ...]  # values the caller must pass
    build: Builder
    optional: tuple[str, ...] = ()  # values that may be omitted or None
    # Values cut with an ellipsis, in this order and down to this many characters, until
    # the SMS fits MAX_SEGMENTS. A title may be cut to its start; coordinates never are.
    shrink: tuple[tuple[str, int], ...] = ()

    @property
    def has_drill(self) -> bool:
        return "drill" in self.params


_TITLE_SHRINK = (("title", 16), ("title", 6))

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template(
            "alert",
            ("code", "kind", "title", "place", "distance_km", "drill"),
            _alert,
            optional=("skill_name", "link"),
            shrink=(
                ("title", 24),
                ("place", 16),
                ("title", 14),
                ("skill_name", 16),
                ("place", 8),
                ("title", 6),
            ),
        ),
        Template(
            "confirmation",
            ("code", "title", "lat", "lon", "drill"),
            _confirmation,
            optional=("address", "skill_name", "eta_min"),
            # The volunteer saw the title in the alert; the address and the need matter more.
            shrink=(
                ("title", 12),
                ("address", 32),
                ("skill_name", 16),
                ("address", 20),
                ("title", 4),
            ),
        ),
        Template("stand_down", ("code", "title", "drill"), _plain("stand_down"), shrink=_TITLE_SHRINK),
        Template("standby", ("code", "drill"), _plain("standby")),
        # Before an emergency (a warning, often a draft with no reply code yet): be ready, no answer.
        Template(
            "standby_notice",
            ("kind", "title", "place", "drill"),
            _standby_notice,
            shrink=(("title", 24), ("place", 16), ("title", 6), ("place", 8)),
        ),
        # To those who accepted, when the incident's point, area or meeting point changes.
        Template(
            "place_changed",
            ("code", "title", "lat", "lon", "drill"),
            _place_changed,
            optional=("meeting_point",),
            shrink=(("title", 12), ("meeting_point", 40), ("title", 4), ("meeting_point", 16)),
        ),
        Template("declined", ("code", "drill"), _plain("declined")),
        Template("closed", ("code", "title", "drill"), _plain("closed"), shrink=_TITLE_SHRINK),
        Template("cancelled", ("code", "title", "drill"), _plain("cancelled"), shrink=_TITLE_SHRINK),
        # A coordinator's words are never cut: the dispatch UI shows count_segments instead.
        Template("broadcast", ("code", "body", "drill"), _plain("broadcast")),
        Template("help", (), _plain("help")),
        Template("opted_out", (), _plain("opted_out")),
        Template("opted_in", (), _plain("opted_in")),
        Template("unknown_number", (), _plain("unknown_number")),
        Template("which_incident", ("codes",), _which_incident),
        Template("hint", (), _plain("hint")),
        Template("busy", (), _busy, optional=("hours",)),
        Template("available", (), _plain("available")),
        Template("no_pending", (), _plain("no_pending")),
        # On scene, the roll call and the welfare check (dispatch/responders.py).
        Template("arrived", ("code", "drill"), _plain("arrived")),
        Template("left", ("code", "drill"), _plain("left")),
        Template("safe", ("code", "drill"), _plain("safe")),
        Template("safe_thanks", (), _plain("safe_thanks")),
        Template("not_on_scene", (), _plain("not_on_scene")),
        Template("not_arrived", ("code", "drill"), _plain("not_arrived")),
        Template("roll_call", ("code", "drill"), _plain("roll_call")),
        Template("welfare_reminder", ("code", "title", "drill"), _plain("welfare_reminder"), shrink=_TITLE_SHRINK),
        Template("help_on_scene", ("code", "drill"), _plain("help_on_scene")),
        Template("hours", ("year_hours", "recent_hours"), _hours),
        # To a coordinator's own phone: names and numbers of their responders, cut to fit.
        Template(
            "coordinator_welfare",
            ("code", "title", "names", "minutes", "drill"),
            _plain("coordinator_welfare"),
            shrink=(("title", 16), ("names", 60), ("title", 6), ("names", 24)),
        ),
        Template(
            "coordinator_help",
            ("code", "title", "name", "phone", "drill"),
            _plain("coordinator_help"),
            shrink=(("title", 16), ("name", 24), ("title", 6), ("name", 12)),
        ),
    )
}


def _check_values(template: Template, values: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name in template.params if name not in values]
    unexpected = [name for name in values if name not in template.params + template.optional]
    if missing or unexpected:
        raise TypeError(
            f"template {template.name!r} takes {template.params + template.optional}; "
            f"missing {missing}, unexpected {unexpected}"
        )
    return {**{name: None for name in template.optional}, **values}


def _cut(value: str, length: int, gsm: bool) -> str:
    """value shortened to at most length characters, ending in an ellipsis."""
    # "…" is not in GSM-7: in an otherwise GSM-7 text it would halve the room per part.
    ellipsis = "..." if gsm else "…"
    room = max(length - len(ellipsis), 1)
    kept = value[:room]
    # End on a whole word when that loses little: "Пожар в жилом…", not "Пожар в жил…".
    space = kept.rfind(" ")
    if room < len(value) and not value[room].isspace() and space >= max(room - 8, room // 2):
        kept = kept[:space]
    return kept.rstrip(" ,.;:-—–(/") + ellipsis


Compose = Callable[[dict[str, Any]], str]


def _fits(text: str) -> bool:
    return count_segments(text).segments <= MAX_SEGMENTS


def _longest_cut(
    compose: Compose, values: dict[str, Any], name: str, whole: str, min_chars: int
) -> tuple[dict[str, Any], str]:
    """values with values[name] the longest cut of whole (at least min_chars) that fits;
    the min_chars cut when none does."""

    def cut_to(length: int) -> tuple[dict[str, Any], str]:
        gsm_values = {**values, name: _cut(whole, length, gsm=True)}
        gsm_text = compose(gsm_values)
        if is_gsm7(gsm_text):
            return gsm_values, gsm_text
        ucs_values = {**values, name: _cut(whole, length, gsm=False)}
        return ucs_values, compose(ucs_values)

    # The segment count only grows with the length, so a binary search finds the longest.
    best = cut_to(min_chars)
    low, high = min_chars + 1, len(whole) - 1
    while low <= high:
        middle = (low + high) // 2
        trial = cut_to(middle)
        if _fits(trial[1]):
            best, low = trial, middle + 1
        else:
            high = middle - 1
    return best


def _fit(template: Template, compose: Compose, values: dict[str, Any]) -> str:
    """Cut template.shrink values, in order, just enough for the text to fit."""
    originals = dict(values)
    text = compose(values)
    cut: list[str] = []
    for name, min_chars in template.shrink:
        if _fits(text):
            break
        current = values[name]
        if not isinstance(current, str) or len(current) <= min_chars:
            continue
        values, text = _longest_cut(compose, values, name, originals[name], min_chars)
        if name not in cut:
            cut.append(name)
    # A later cut may have freed more room than it needed: give it back to the earlier
    # values, title first ("Пожар в многоэтажном…" rather than a shorter title and spare room).
    if _fits(text):
        for name in cut:
            min_chars = len(values[name])
            if min_chars < len(originals[name]):
                values, text = _longest_cut(compose, values, name, originals[name], min_chars)
    return text


def render(template: str, language: str, **values: Any) -> str:
    """The SMS text of TEMPLATES[template] in language (unknown languages get English).

    Incident texts start with the drill mark when drill is true. The fullest wording that
    fits MAX_SEGMENTS parts is used; if none does, long titles, places and skill names are
    cut with an ellipsis (see Template.shrink), in a middle wording if that is enough, else
    in the tersest.
    """
    spec = TEMPLATES[template]
    lang = resolve_language(language)
    values = _check_values(spec, values)
    drill = bool(values.get("drill")) if spec.has_drill else False
    args = {
        name: one_line(value) if isinstance(value, str) else value for name, value in values.items() if name != "drill"
    }
    wordings = [_Wording(PHRASES[lang], i) for i in range(_Wording(PHRASES[lang]).variants)]

    def composer(wording: _Wording) -> Compose:
        prefix = wording["drill"] if drill else ""

        def compose(current: dict[str, Any]) -> str:
            text = prefix + spec.build(wording, lang, current)
            return text.replace("….", "…").replace("....", "...")  # a cut value ends a sentence

        return compose

    for wording in wordings[:-1]:
        text = composer(wording)(args)
        if _fits(text):
            return text
    # Cutting values in a middle wording keeps its labels; the tersest is the last resort.
    for wording in wordings[1:-1]:
        text = _fit(spec, composer(wording), args)
        if _fits(text):
            return text
    return _fit(spec, composer(wordings[-1]), args)
