"""The lexical layer of reply reading: folding spellings, splitting into tokens, reading
incident codes and durations ("15 мин", "1,5 часа", "жиырма бес минут", "через час").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from math import ceil

from notifications import reply_words as w

MAX_ETA_MIN = 24 * 60  # an ETA with a unit beyond a day is a typo or not an ETA
MAX_BARE_ETA_MIN = 4 * 60  # "YES 482 517" is two codes, not an 8.6 hour ETA
MAX_BUSY_HOURS = 30 * 24
MAX_BARE_BUSY_HOURS = 7 * 24  # "BUSY 482" names an incident; "BUSY 48" is two days


# --- Normalisation ------------------------------------------------------------------------
# Phones without a Kazakh layout type the nearest Russian letter; matching on the folded
# form makes "жок", "комек", "иа" equal to "жоқ", "көмек", "иә".
_KAZAKH_FOLD = str.maketrans("әғқңөұүһіё", "агкноуухие")
# Latin letters that look like Cyrillic ones (and back). Used only inside a word that mixes
# both scripts, which is what a phone's autocorrect or a switched layout produces ("дA").
_LAT_TO_CYR = str.maketrans("aeopcxykmthbiäöüə", "аеорсхукмтнвіаоуа")
_CYR_TO_LAT = str.maketrans("аеорсхукмтнві", "aeopcxykmthbi")
# An apostrophe inside a word or a number joins it ("1’0" is ten, not "1" and "0").
_APOSTROPHES = re.compile(r"(?<=[^\W_])['’`ʼ](?=[^\W_])")
_TOKEN = re.compile(
    r"(?P<clock>\d{1,2}:\d{2})(?!\d)"
    r"|(?P<dec>\d{1,2}[.,]\d)(?![\d.,])"
    r"|(?P<num>\d+)"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<punct>\S)"
)


def _unmix_scripts(word: str) -> str:
    latin = sum("a" <= ch <= "z" or ch in "äöüə" for ch in word)
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in word)
    if not latin or not cyrillic:
        return word
    return word.translate(_LAT_TO_CYR if cyrillic >= latin else _CYR_TO_LAT)


def fold(word: str) -> str:
    """The form replies and vocabulary are compared in: case-, script- and Kazakh-folded."""
    return _unmix_scripts(unicodedata.normalize("NFKC", word).casefold()).translate(_KAZAKH_FOLD)


@dataclass(frozen=True)
class Token:
    kind: str  # clock | dec | num | word | punct
    text: str  # folded


def tokenize(text: str) -> list[Token]:
    """Words, numbers, clock times and punctuation of text; words folded."""
    text = unicodedata.normalize("NFKC", text)
    # Zero-width joiners and other format characters would split words invisibly.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _APOSTROPHES.sub("", text)  # "can't" -> "cant", "I'm" -> "im"
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        value = match.group()
        tokens.append(Token(kind, fold(value) if kind == "word" else value))
    return tokens


def _folded(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fold(word) for word in words)


_MINUTE_WORDS = _folded(w.MINUTE_UNITS)
_MINUTE_PREFIXES = tuple(fold(p) for p in w.MINUTE_PREFIXES)
_HOUR_WORDS = _folded(w.HOUR_UNITS)
_HOUR_PREFIXES = tuple(fold(p) for p in w.HOUR_PREFIXES)
_DAY_WORDS = _folded(w.DAY_UNITS)
_NUMBER_WORDS = {fold(k): v for k, v in w.NUMBER_WORDS.items()}
_HALF = _folded(w.HALF_HOUR_WORDS)
_HALF_HOUR = fold("полчаса")  # one word for 30 minutes; "half"/"жарты" need an hour unit
_IN = _folded(("через", "in"))


def is_duration_word(word: str) -> bool:
    """A word that may be part of a duration: a unit, a number word, "полчаса"."""
    return bool(unit_minutes(word)) or word in _NUMBER_WORDS or word in _HALF or word == _HALF_HOUR


def unit_minutes(word: str) -> int | None:
    """Minutes in one of this time unit, or None when word is not a time unit."""
    if word in _MINUTE_WORDS or word.startswith(_MINUTE_PREFIXES):
        return 1
    if word in _HOUR_WORDS or word.startswith(_HOUR_PREFIXES):
        return 60
    if word in _DAY_WORDS:
        return 24 * 60
    return None


# --- Numbers ------------------------------------------------------------------------------
@dataclass
class Numbers:
    code: str | None = None
    unit_minutes: list[int] = field(default_factory=list)  # durations with a unit, in order
    bare: list[int] = field(default_factory=list)  # numbers without a unit, not the code


def read_numbers(tokens: list[Token], skip: tuple[int, int]) -> Numbers:
    """Code (the first bare 3-4 digit number) and durations, ignoring tokens[skip[0]:skip[1]]."""
    found = Numbers()
    i = 0
    while i < len(tokens):
        if skip[0] <= i < skip[1]:
            i += 1
            continue
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        unit = unit_minutes(nxt.text) if nxt and nxt.kind == "word" else None
        if tok.kind in ("num", "dec"):
            value = float(tok.text.replace(",", "."))
            if unit is not None:
                found.unit_minutes.append(round(value * unit))
                i += 2
                continue
            after = tokens[i + 2] if i + 2 < len(tokens) else None
            if (
                nxt
                and nxt.text in "-–—"
                and after
                and after.kind == "num"
                and len(tok.text) <= 2
                and float(tok.text.replace(",", ".")) < int(after.text)
            ):
                i += 1  # "15-20": the start of a range; plan for the later end
                continue
            if tok.kind == "num":
                if 3 <= len(tok.text) <= 4 and found.code is None:
                    found.code = tok.text
                elif len(tok.text) <= 4:
                    found.bare.append(int(tok.text))
        elif tok.kind == "word":
            minutes = _word_duration(tokens, i)
            if minutes is not None:
                found.unit_minutes.append(minutes[0])
                i = minutes[1]
                continue
        i += 1
    return found


def _word_duration(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """(minutes, next index) for a spelled duration starting at tokens[i]."""

    def word_at(j: int) -> str | None:
        return tokens[j].text if j < len(tokens) and tokens[j].kind == "word" else None

    def unit_at(j: int) -> int | None:
        word = word_at(j)
        return unit_minutes(word) if word else None

    word = word_at(i)
    if word == _HALF_HOUR:
        return 30, i + 1
    if word in _HALF:
        j = i + 1 + (word_at(i + 1) in ("an", "a"))
        if unit_at(j) == 60:
            return 30, j + 1
    if word in _IN and unit_at(i + 1) == 60:
        return 60, i + 2  # "через час"
    total, j = 0, i
    while (number := word_at(j)) is not None and number in _NUMBER_WORDS:  # "жиырма бес минут" = 20 + 5
        total += _NUMBER_WORDS[number]
        j += 1
    unit = unit_at(j)
    if total and unit:
        return total * unit, j + 1
    return None


def eta_min(numbers: Numbers) -> int | None:
    """The ETA in minutes an accept carries, if any."""
    # A number with a unit wins over a bare one: "15-20 мин" -> 20, "YES 482 20" -> 20.
    for minutes in numbers.unit_minutes:
        if 0 < minutes <= MAX_ETA_MIN:
            return minutes
    for minutes in numbers.bare:
        # A bare 1 or 2 reads as the answer digits ("yes 1"), not as minutes.
        if 3 <= minutes <= MAX_BARE_ETA_MIN:
            return minutes
    return None


def busy_hours(numbers: Numbers) -> tuple[int | None, str | None]:
    """(hours, code) for a BUSY reply; a big bare number is an incident code, not hours."""
    for minutes in numbers.unit_minutes:
        if 0 < minutes <= MAX_BUSY_HOURS * 60:
            return ceil(minutes / 60), numbers.code
    candidates = list(numbers.bare)
    code = numbers.code
    if code is not None and int(code) <= MAX_BARE_BUSY_HOURS:
        candidates.insert(0, int(code))  # "BUSY 120": five days, not incident 120
        code = None
    for hours in candidates:
        if 0 < hours <= MAX_BARE_BUSY_HOURS:
            return hours, code
    return None, code
