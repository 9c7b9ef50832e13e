"""CSV text as spreadsheets write it, shared by the imports (volunteers, activity records).

The bytes of a file are decoded incrementally: a UTF-8 byte order mark is dropped; a file that
is not UTF-8 is read as Windows-1251 only when asked to, or when its first 64 KiB read as
Cyrillic text in it (detected, and said so); anything else is refused whole. The delimiter
(`,`, `;` or tab) is taken from the header line.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from .errors import DispatchError

# The header line decides the delimiter: the one of these found most often outside quotes.
DELIMITERS = (",", ";", "\t")
ENCODINGS = ("utf-8", "windows-1251")
# How much of the file decides its encoding (read ahead, then replayed to the parser).
SNIFF_BYTES = 64 * 1024
# Of the letters outside ASCII, the share that must be Cyrillic for bytes that are not UTF-8 to
# be read as Windows-1251 (a Latin-1 "Müller" reads as "Mьller": a mixed word, so not counted).
CYRILLIC_SHARE = 0.9
NOT_UTF8 = "The file is not UTF-8 text; nothing was imported."
NOT_CP1251 = "The file is not Windows-1251 text; nothing was imported."
NEITHER = "The file is neither UTF-8 nor Windows-1251 text; nothing was imported."
WORKBOOK = "The file is an Excel workbook, not CSV text: save it as CSV and import that; nothing was imported."


class CsvHeaderError(DispatchError):
    status, code, message = 400, "CSV_HEADER", "The CSV header is not the one expected."


class CsvEncodingError(DispatchError):
    status, code, message = 400, "CSV_ENCODING", NOT_UTF8


class UnknownEncoding(ValueError):
    """An encoding asked for by name that the import does not read."""


@dataclass
class CsvText:
    """A CSV file's bytes as text, decoded as they are read, and how they are decoded."""

    lines: Iterable[str]
    encoding: str = "utf-8"
    encoding_detected: bool = False


def encoding_named(name: str | None) -> str | None:
    """An encoding asked for (a query, a charset, a form, --encoding) as one of ENCODINGS;
    None or "" is none asked for. UnknownEncoding for any other."""
    if name is None or not name.strip():
        return None
    try:
        codec = codecs.lookup(name.strip()).name
    except (LookupError, ValueError):  # an unknown name, or one no codec name can be (a NUL in it)
        raise UnknownEncoding(name) from None
    found = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "ascii": "utf-8", "cp1251": "windows-1251"}.get(codec)
    if found is None:
        raise UnknownEncoding(name)
    return found


def decode_csv(stream: BinaryIO, encoding: str | None = None, detect: bool = True) -> CsvText:
    """The CSV text of a binary stream, decoded incrementally: `encoding` when asked for (one of
    ENCODINGS), else UTF-8 (with or without a byte order mark), else, when `detect` is on and
    the first SNIFF_BYTES read as Cyrillic text in Windows-1251, that (encoding_detected).
    CsvEncodingError when the start of the file is neither; a bad byte further on is found by
    the import as it reads, which then rolls back everything (see import_volunteers)."""
    head = _read_up_to(stream, SNIFF_BYTES)
    whole = len(head) < SNIFF_BYTES
    detected = False
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CsvEncodingError(WORKBOOK, {"encoding": encoding or "utf-8"})
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8"  # the file says so itself
    if encoding is None:
        if _decodes(head, "utf-8", whole):
            encoding = "utf-8"
        elif detect and _looks_cyrillic_cp1251(head):
            encoding, detected = "windows-1251", True
        else:
            raise CsvEncodingError(NEITHER if detect else NOT_UTF8, {"encoding": "utf-8"})
    elif not _decodes(head, encoding, whole):
        raise CsvEncodingError(NOT_UTF8 if encoding == "utf-8" else NOT_CP1251, {"encoding": encoding})
    codec = "utf-8-sig" if encoding == "utf-8" else "cp1251"
    raw = io.BufferedReader(_Replayed(head, stream), buffer_size=SNIFF_BYTES)
    return CsvText(io.TextIOWrapper(raw, encoding=codec, newline=""), encoding, detected)


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    parts, left = [], size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _decodes(data: bytes, encoding: str, whole: bool) -> bool:
    try:
        # Not whole: the last character may be cut in two at the end of what was read.
        codecs.getincrementaldecoder("cp1251" if encoding == "windows-1251" else "utf-8")().decode(data, whole)
    except UnicodeDecodeError:
        return False
    return True


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]+")


def _looks_cyrillic_cp1251(data: bytes) -> bool:
    """Text (no control characters) whose words outside ASCII are, nearly all, Cyrillic."""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:  # 0x98 is no character in Windows-1251
        return False
    if _CONTROL.search(text):
        return False
    foreign = [word for word in _WORD.findall(text) if not word.isascii()]
    cyrillic = sum(1 for word in foreign if _CYRILLIC.fullmatch(word))
    symbols = sum(1 for ch in text if not ch.isascii() and not ch.isalpha())
    letters = sum(len(word) for word in foreign)
    return bool(foreign) and cyrillic >= CYRILLIC_SHARE * len(foreign) and symbols <= (1 - CYRILLIC_SHARE) * letters


class _Replayed(io.RawIOBase):
    """The bytes read ahead to decide the encoding, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def sniff_delimiter(header: str) -> str:
    """The delimiter of a header line: of DELIMITERS, the one found most often outside quotes
    (a comma when there is none: a one-column header is refused anyway)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","
