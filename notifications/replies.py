"""Reads a volunteer's SMS reply (Kazakh, Russian or English) into an intent, code and ETA.

A wrongly read accept means a dispatcher counts on someone who is not coming, so anything
hedged, negated, questioned or self-contradictory is UNKNOWN and the volunteer gets a hint."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from notifications import reply_words as w
from notifications.reply_lexer import (
    Numbers,
    Token,
    busy_hours,
    eta_min,
    fold,
    is_duration_word,
    read_numbers,
    tokenize,
)
from notifications.reply_words import (  # re-exported: help texts quote these
    ACCEPT_WORDS,
    ARRIVED_WORDS,
    AVAILABLE_WORDS,
    BUSY_WORDS,
    DECLINE_WORDS,
    DONE_WORDS,
    HELP_WORDS,
    HOURS_WORDS,
    SAFE_WORDS,
    START_WORDS,
    STOP_WORDS,
)

__all__ = [
    "ACCEPT_WORDS",
    "ARRIVED_WORDS",
    "AVAILABLE_WORDS",
    "BUSY_WORDS",
    "DECLINE_WORDS",
    "DONE_WORDS",
    "HELP_WORDS",
    "HOURS_WORDS",
    "SAFE_WORDS",
    "START_WORDS",
    "STOP_WORDS",
    "Intent",
    "Reply",
    "parse_reply",
    "fold",
]


class Intent(enum.Enum):
    ACCEPT = "accept"
    DECLINE = "decline"
    STOP = "stop"
    START = "start"
    HELP = "help"
    BUSY = "busy"
    AVAILABLE = "available"
    ARRIVED = "arrived"
    DONE = "done"
    SAFE = "safe"
    HOURS = "hours"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reply:
    intent: Intent
    code: str | None = None
    eta_min: int | None = None
    busy_hours: int | None = None
    text: str = ""


# --- Vocabulary, folded once ----------------------------------------------------------------
class _Cat(enum.Enum):
    ACCEPT_KW = 1
    DECLINE_KW = 2
    STOP = 3
    START = 4
    HELP = 5
    BUSY = 6
    AVAILABLE = 7
    ACCEPT_PHRASE = 8
    DECLINE_PHRASE = 9
    NEGATION = 10
    UNCERTAIN = 11


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(phrase) if t.kind != "punct")


def _build_phrases() -> dict[tuple[str, ...], _Cat]:
    table: dict[tuple[str, ...], _Cat] = {}
    groups = [
        (_Cat.ACCEPT_KW, w.ACCEPT_WORDS + w.ACCEPT_SYNONYMS),
        (_Cat.DECLINE_KW, w.DECLINE_WORDS + w.DECLINE_SYNONYMS),
        (_Cat.STOP, w.STOP_WORDS),
        (_Cat.START, w.START_WORDS),
        (_Cat.HELP, w.HELP_WORDS),
        (_Cat.BUSY, w.BUSY_WORDS + w.BUSY_SYNONYMS),
        (_Cat.AVAILABLE, w.AVAILABLE_WORDS + w.AVAILABLE_SYNONYMS),
        (_Cat.ACCEPT_PHRASE, w.ACCEPT_PHRASES),
        (_Cat.DECLINE_PHRASE, w.DECLINE_PHRASES),
        (_Cat.NEGATION, w.NEGATIONS),
        (_Cat.UNCERTAIN, w.UNCERTAIN),
    ]
    for cat, phrases in groups:
        for phrase in phrases:
            key = _phrase_key(phrase)
            if table.get(key, cat) is not cat:
                raise ValueError(f"{phrase!r} is listed with two meanings")
            table[key] = cat
    return table


def _folded(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fold(word) for word in words)


_PHRASES = _build_phrases()
_MAX_PHRASE_LEN = max(len(key) for key in _PHRASES)
_LEADING = _folded(w.LEADING_FILLERS)
_SUBJECTS = _folded(w.SUBJECT_FILLERS)
_DECLINE_FILLERS = _folded(w.DECLINE_FILLERS)
_ACCEPT_FILLERS = _folded(w.ACCEPT_FILLERS)
_STRICT = _folded(w.STRICT_KEYWORDS)
_TIGHT = {fold(k): _folded(v) for k, v in w.TIGHT_FOLLOWERS.items()}
_LEADING_OR_SUBJECT = _LEADING | _SUBJECTS


def _build_scene_words() -> dict[tuple[str, ...], Intent]:
    """On-scene words and HOURS, read only as the whole message (see reply_words)."""
    table: dict[tuple[str, ...], Intent] = {}
    for intent, phrases in (
        (Intent.ARRIVED, w.ARRIVED_WORDS + w.ARRIVED_SYNONYMS),
        (Intent.DONE, w.DONE_WORDS + w.DONE_SYNONYMS),
        (Intent.SAFE, w.SAFE_WORDS + w.SAFE_SYNONYMS),
        (Intent.HOURS, w.HOURS_WORDS + w.HOURS_SYNONYMS),
    ):
        for phrase in phrases:
            key = _phrase_key(phrase)
            if key in _PHRASES or table.get(key, intent) is not intent:
                raise ValueError(f"{phrase!r} is listed with two meanings")
            table[key] = intent
    return table


_SCENE_WORDS = _build_scene_words()
_SCENE_FILLERS = _LEADING_OR_SUBJECT | _folded(("уже", "already", "just"))


def _read_scene_word(tokens: list[Token], text: str) -> Reply | None:
    """ "ARRIVED", "прибыл 482", "Мен аманмын!": a whole message that is one on-scene word or
    HOURS, with at most greetings or a subject before it and the incident code; else None."""
    if any(t.kind == "punct" and t.text in "?¿" for t in tokens):
        return None
    words = [t for t in tokens if t.kind != "punct"]
    codes = [t.text for t in words if t.kind == "num" and 3 <= len(t.text) <= 4]
    if len(codes) > 1:
        return None
    words = [t for t in words if not (t.kind == "num" and t.text in codes)]
    if any(t.kind != "word" for t in words):
        return None
    key = tuple(t.text for t in words)
    while len(key) > 1 and key[0] in _SCENE_FILLERS and key not in _SCENE_WORDS:
        key = key[1:]
    intent = _SCENE_WORDS.get(key)
    if intent is None:
        return None
    return Reply(intent, code=codes[0] if codes else None, text=text)


@dataclass(frozen=True)
class _Item:
    start: int  # token index
    end: int  # token index after the phrase
    cat: _Cat | None  # None: a word or number outside the vocabulary
    key: tuple[str, ...]  # the folded words


def _scan(tokens: list[Token]) -> list[_Item]:
    """Longest-match the vocabulary over runs of words not broken by punctuation."""
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        if tokens[i].kind not in ("word", "num"):
            i += 1
            continue
        if tokens[i].kind == "num" and items:
            # "1" and "2" are answers only as the first thing in the message:
            # in "еду, 2 часа" the 2 is a quantity.
            items.append(_Item(i, i + 1, None, (tokens[i].text,)))
            i += 1
            continue
        for length in range(_MAX_PHRASE_LEN, 0, -1):
            chunk = tokens[i : i + length]
            if len(chunk) < length or any(t.kind not in ("word", "num") for t in chunk):
                continue
            key = tuple(t.text for t in chunk)
            if key in _PHRASES:
                items.append(_Item(i, i + length, _PHRASES[key], key))
                i += length
                break
        else:
            items.append(_Item(i, i + 1, None, (tokens[i].text,)))
            i += 1
    return items


# --- The reading --------------------------------------------------------------------------
_COMMANDS = {_Cat.STOP: Intent.STOP, _Cat.START: Intent.START, _Cat.HELP: Intent.HELP}
_ACCEPT_EVIDENCE = (_Cat.ACCEPT_KW, _Cat.ACCEPT_PHRASE)
_DECLINE_EVIDENCE = (_Cat.DECLINE_KW, _Cat.DECLINE_PHRASE)


def _is_conflict(item: _Item, cats: tuple[_Cat, ...]) -> bool:
    # Single-character keywords deep in a message are list numbers or initials, not answers.
    return item.cat in cats and item.key[0] not in _STRICT


def parse_reply(text: str) -> Reply:
    """Read a reply SMS. Never raises; anything not clearly meant is Intent.UNKNOWN."""
    tokens = tokenize(text or "")
    items = _scan(tokens)
    unknown = Reply(Intent.UNKNOWN, text=text)
    if not items:
        return unknown
    scene = _read_scene_word(tokens, text)
    if scene is not None:
        return scene
    # Opt-out, opt-in and help must be the whole message, as Twilio reads them: its
    # carrier-level opt-out works that way, and "HELP, fire in my yard" is not a command.
    if len(items) == 1 and items[0].cat in _COMMANDS:
        return Reply(_COMMANDS[items[0].cat], text=text)
    # A question is not a commitment: "yes?", "да? где?".
    if any(t.kind == "punct" and t.text in "?¿" for t in tokens):
        return unknown

    lead = 0  # skip greetings and a leading code: "Здравствуйте, да", "482 yes"
    while lead < len(items) and (
        (items[lead].cat is None and items[lead].key[0] in _LEADING_OR_SUBJECT)
        or (tokens[items[lead].start].kind == "num" and 3 <= len(items[lead].key[0]) <= 4)
    ):
        lead += 1
    if lead == len(items):
        return unknown
    head = items[lead]
    leading_words_ok = all(
        item.cat is None and item.key[0] in _LEADING or tokens[item.start].kind == "num" for item in items[:lead]
    )
    tail = items[lead + 1 :]
    # A keyword "1"/"2" is not a number of the reply.
    skip = (head.start, head.end) if tokens[head.start].kind == "num" else (0, 0)
    numbers = read_numbers(tokens, skip)

    if head.cat in (_Cat.BUSY, _Cat.AVAILABLE):
        return _read_busy(head, tail, numbers, text)
    if head.cat in (_Cat.ACCEPT_KW, _Cat.DECLINE_KW) and leading_words_ok:
        return _read_keyword_led(tokens, head, tail, numbers, text)
    return _read_phrases(items, numbers, text)


def _read_busy(head: _Item, tail: list[_Item], numbers: Numbers, text: str) -> Reply:
    if head.cat is _Cat.BUSY:
        if any(_is_conflict(item, _ACCEPT_EVIDENCE) for item in tail):
            return Reply(Intent.UNKNOWN, text=text)
        hours, code = busy_hours(numbers)
        return Reply(Intent.BUSY, code=code, busy_hours=hours, text=text)
    bad = _DECLINE_EVIDENCE + (_Cat.NEGATION, _Cat.UNCERTAIN, _Cat.BUSY)
    if any(_is_conflict(item, bad) for item in tail):
        return Reply(Intent.UNKNOWN, text=text)
    return Reply(Intent.AVAILABLE, code=numbers.code, text=text)


def _read_keyword_led(tokens: list[Token], head: _Item, tail: list[_Item], numbers: Numbers, text: str) -> Reply:
    keyword = head.key[0]
    follower = tokens[head.end] if head.end < len(tokens) else None
    if follower is not None and follower.kind == "word":
        # "1 min", "y not": a one-character keyword must stand apart from the words after it.
        if keyword in _STRICT:
            return Reply(Intent.UNKNOWN, text=text)
        # "no idea", "нет проблем", "да ладно": the keyword is part of an idiom.
        if keyword in _TIGHT and follower.text not in _TIGHT[keyword]:
            return Reply(Intent.UNKNOWN, text=text)
    if keyword in ("1", "2") and any(item.key == ({"1": "2", "2": "1"}[keyword],) for item in tail):
        return Reply(Intent.UNKNOWN, text=text)  # "1 2": both answers
    if head.cat is _Cat.ACCEPT_KW:
        bad = _DECLINE_EVIDENCE + (_Cat.NEGATION, _Cat.UNCERTAIN, _Cat.BUSY, _Cat.STOP)
        if any(_is_conflict(item, bad) for item in tail):
            return Reply(Intent.UNKNOWN, text=text)
        return Reply(Intent.ACCEPT, code=numbers.code, eta_min=eta_min(numbers), text=text)
    if any(_is_conflict(item, _ACCEPT_EVIDENCE) for item in tail):
        return Reply(Intent.UNKNOWN, text=text)
    return Reply(Intent.DECLINE, code=numbers.code, text=text)


def _read_phrases(items: list[_Item], numbers: Numbers, text: str) -> Reply:
    """A reply without a leading keyword counts only if every word in it is accounted for."""
    cats = {item.cat for item in items}
    words = [item.key[0] for item in items if item.cat is None]

    def only(allowed: frozenset[str]) -> bool:
        return all(word.isdigit() or word in allowed or is_duration_word(word) for word in words)

    accept = _Cat.ACCEPT_PHRASE in cats
    decline = _Cat.DECLINE_PHRASE in cats
    if accept and not decline and only(_ACCEPT_FILLERS | _LEADING):
        if cats <= {None, _Cat.ACCEPT_PHRASE, _Cat.ACCEPT_KW}:
            return Reply(Intent.ACCEPT, code=numbers.code, eta_min=eta_min(numbers), text=text)
    if decline and not accept and only(_DECLINE_FILLERS | _LEADING):
        if cats <= {None, _Cat.DECLINE_PHRASE, _Cat.DECLINE_KW, _Cat.NEGATION}:
            return Reply(Intent.DECLINE, code=numbers.code, text=text)
    return Reply(Intent.UNKNOWN, text=text)
