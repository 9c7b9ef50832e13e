"""Finding volunteers by name or phone, fast at national scale (the console's search box).

Each volunteer has search terms (VolunteerSearchTerm): every word of their name as a Latin
skeleton, and their phone's digits (E.164 without "+", and the national number). A query is
split the same way and every word of it must be the beginning of one of the person's terms, in
any order: "айг сад", "Aigerim S" and "Sadykova" all find "Айгерим Садыкова". A query of digits
(with the usual +, spaces, dashes, brackets) is a phone: "+7 701 234", "8701234", "701234".

Why a terms table and not LIKE '%…%': a prefix of an indexed term is a range scan on both SQLite
and PostgreSQL (the term column sorts bytewise, collation "C"), where a substring match reads all
200,000 rows; bench/search_bench.py measures both (README, "Search").

The terms follow the volunteers: a flush that adds a volunteer or changes a name or a phone
rewrites theirs (the listener below); bulk inserts that bypass the unit of work (CSV import, the
demo, benches) call index_volunteers() with the new rows' ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import ColumnElement, delete, event, exists, func, insert, inspect, select, text
from sqlalchemy.orm import Session, aliased

from .extensions import db
from .models import Volunteer, VolunteerSearchTerm

T = VolunteerSearchTerm
PHONE_MARK = "#"
TERM_MAX = 60
WORDS_MAX = 6
MIN_DIGITS = 3
TOP = "\U0010ffff"  # above every character: [p, p + TOP) is every term starting with p

# Cyrillic (Russian and Kazakh letters) to Latin, then folded with Latin spellings of the same
# names: "Айгерим", "Aigerim" and "Aygerim" are all "aigerim"; "Жанна"/"Zhanna"/"Janna" "janna";
# "Қасымов"/"Kasymov"/"Qasymov" "kasimov"; "Хасанов"/"Khasanov" "hasanov".
_CYRILLIC = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e",
    "ж": "j", "з": "z", "и": "i", "й": "i", "і": "i", "к": "k", "қ": "k", "л": "l", "м": "m",
    "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ұ": "u", "ү": "u", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh",
    "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
_LATIN = {"ş": "sh", "ç": "ch", "ı": "i", "q": "k", "y": "i", "w": "u", "x": "h"}
_PAIRS = (("kh", "h"), ("zh", "j"), ("dj", "j"))
_WORD = re.compile(r"[^\W_]+")
_PHONE = re.compile(r"\+?[\d\s().\-]+")


def skeleton(word: str) -> str:
    """A name's word as the search compares it: lower case, Latin, no accents, common spellings
    folded together."""
    text = unicodedata.normalize("NFKC", word).casefold()
    text = "".join(_CYRILLIC.get(ch, _LATIN.get(ch, ch)) for ch in text)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = "".join(_LATIN.get(ch, ch) for ch in text)
    for pair, single in _PAIRS:
        text = text.replace(pair, single)
    return text[:TERM_MAX]


def name_terms(name: str | None) -> set[str]:
    return {key for word in _WORD.findall(name or "") if (key := skeleton(word))}


def phone_terms(phone: str | None) -> set[str]:
    if not phone:
        return set()
    digits = phone.lstrip("+")
    terms = {PHONE_MARK + digits}
    try:
        terms.add(PHONE_MARK + str(phonenumbers.parse(phone).national_number))
    except phonenumbers.NumberParseException:
        pass
    return terms


def terms_of(name: str | None, phone: str | None) -> set[str]:
    return name_terms(name) | phone_terms(phone)


# -- keeping the terms --------------------------------------------------------------------------


def _rows(pairs: Iterable[tuple[int, str | None, str | None]]) -> list[dict]:
    return [{"term": term, "volunteer_id": vid} for vid, name, phone in pairs for term in terms_of(name, phone)]


def index_volunteers(ids: Iterable[int]) -> None:
    """Rewrite the terms of these volunteers from their rows (after a bulk insert or update)."""
    ids = sorted(set(ids))
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        people = db.session.execute(
            select(Volunteer.id, Volunteer.name, Volunteer.phone).where(Volunteer.id.in_(chunk))
        ).all()
        db.session.execute(delete(T).where(T.volunteer_id.in_(chunk)))
        rows = _rows(people)
        if rows:
            db.session.execute(insert(T), rows)


def index_phones(phones: Iterable[str]) -> None:
    """Rewrite the terms of the volunteers with these phone numbers (a bulk import's rows)."""
    phones = sorted(set(phones))
    for start in range(0, len(phones), 5000):
        chunk = phones[start : start + 5000]
        index_volunteers(db.session.scalars(select(Volunteer.id).where(Volunteer.phone.in_(chunk))))


def reindex_all(batch: int = 5000) -> int:
    """Every volunteer's terms again (the migration that adds them, benches); the caller commits."""
    db.session.execute(delete(T))
    last, count = 0, 0
    while True:
        people = db.session.execute(
            select(Volunteer.id, Volunteer.name, Volunteer.phone)
            .where(Volunteer.id > last)
            .order_by(Volunteer.id)
            .limit(batch)
        ).all()
        if not people:
            return count
        rows = _rows(people)
        if rows:
            db.session.execute(insert(T), rows)
        last, count = people[-1][0], count + len(people)


@event.listens_for(Session, "after_flush")
def _follow_changes(session: Session, _context) -> None:
    changed = [
        v
        for v in (*session.new, *session.dirty)
        if isinstance(v, Volunteer)
        and (v in session.new or any(inspect(v).attrs[name].history.has_changes() for name in ("name", "phone")))
    ]
    if not changed:
        return
    connection = session.connection()
    connection.execute(delete(T).where(T.volunteer_id.in_([v.id for v in changed])))
    rows = _rows((v.id, v.name, v.phone) for v in changed)
    if rows:
        connection.execute(insert(T), rows)


# -- searching -----------------------------------------------------------------------------------


class QueryTooShort(ValueError):
    """Nothing to search for: a phone needs MIN_DIGITS digits, a name one letter."""


@dataclass(frozen=True)
class Query:
    prefixes: tuple[str, ...]
    phone: bool


def parse(text: str, country_code: int = 7) -> Query:
    text = (text or "").strip()[:200]
    if _PHONE.fullmatch(text) and any(ch.isdigit() for ch in text):
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) < MIN_DIGITS:
            raise QueryTooShort(text)
        # "8 701 …" is how people in Kazakhstan (and Russia) write +7 701 …
        if country_code == 7 and digits.startswith("8") and not text.startswith("+"):
            digits = "7" + digits[1:]
        return Query((PHONE_MARK + digits[:20],), phone=True)
    words = sorted(name_terms(text), key=len, reverse=True)[:WORDS_MAX]
    # A word that is the start of a longer one in the query adds nothing ("ai aigerim").
    kept = tuple(w for i, w in enumerate(words) if not any(other.startswith(w) for other in words[:i]))
    if not kept:
        raise QueryTooShort(text)
    return Query(kept, phone=False)


def _in_range(prefix: str):
    return (T.term >= prefix) & (T.term < prefix + TOP)


@dataclass
class Found:
    items: list[Volunteer]
    more: bool  # more than `limit` matched


def _bounded_count(prefix: str, bound: int = 2000) -> int:
    """How many terms start with `prefix`, counted up to `bound` (an index-only range read)."""
    inner = select(T.volunteer_id).where(_in_range(prefix)).limit(bound).subquery()
    return db.session.scalar(select(func.count()).select_from(inner)) or 0


def search(query: Query, scope_clause: ColumnElement[bool] | None, limit: int = 50) -> Found:
    """Volunteers (not erased) matching every word, in the scope (None: national).

    The rarest word drives: its terms are read in index order joined to their volunteers, the
    other words are checked per row (EXISTS on the primary key), and the read stops after
    `limit` people, so a broad "ai" costs about what a narrow "aigerim" does. Results come in the
    order of the driving word (then id); the records are loaded once the ids are known."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Parallel workers cost ~20 ms to start, for a read that stops after 100 index rows.
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    prefixes = list(query.prefixes)
    if len(prefixes) > 1:
        prefixes.sort(key=_bounded_count)
    first, *others = prefixes
    statement = (
        select(T.volunteer_id)
        .join(Volunteer, T.volunteer_id == Volunteer.id)
        .where(_in_range(first), Volunteer.erased_at.is_(None))
    )
    for prefix in others:
        other = aliased(T)
        statement = statement.where(
            exists().where(other.volunteer_id == T.volunteer_id, other.term >= prefix, other.term < prefix + TOP)
        )
    if scope_clause is not None:
        if db.session.get_bind().dialect.name == "sqlite":
            # Without ANALYZE statistics SQLite would read the scope's regions through their index
            # and sort; likely() says the scope keeps most rows, so the term range drives.
            scope_clause = func.likely(scope_clause)
        statement = statement.where(scope_clause)
    # One person can match with two words ("Aigerim Aigerimovna"): read a few more rows, keep the first.
    ids = list(dict.fromkeys(db.session.scalars(statement.order_by(T.term, T.volunteer_id).limit(2 * limit + 2))))
    shown = ids[:limit]
    by_id = {v.id: v for v in db.session.scalars(select(Volunteer).where(Volunteer.id.in_(shown)))}
    return Found([by_id[i] for i in shown], len(ids) > limit)
