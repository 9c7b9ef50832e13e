"""SMS segment counting: which encoding a text needs (GSM-7 or UCS-2) and how many parts it costs.

Re-exported by notifications.texts; kept apart so the GSM tables do not bury the templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# 3GPP TS 23.038 default alphabet, in code order 0x00..0x7F. 0x1B is the escape to
# the extension table, not a character, so the row 0x10 has 15 entries.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table: each of these is sent as ESC + code, so it costs 2 septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7_SEPTETS = 160
PART_GSM7_SEPTETS = 153  # 7 septets of every part go to the concatenation header
SINGLE_UCS2_UNITS = 70
PART_UCS2_UNITS = 67  # 3 UTF-16 units of every part go to the concatenation header

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    chars: int  # Unicode code points, as len() counts them


def is_gsm7(text: str) -> bool:
    """True when every character of text exists in the GSM-7 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _unit_widths(text: str, encoding: Encoding) -> list[int]:
    """Width of each character in the encoding's units; a character is never split."""
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    # Characters beyond the BMP (most emoji) are a UTF-16 surrogate pair.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(widths: list[int], part_units: int) -> int:
    """Parts needed when whole characters are packed into parts of part_units each.

    Plain division would be wrong: a character of width 2 that does not fit the rest
    of a part moves whole to the next one, leaving a unit unused.
    """
    parts, used = 1, 0
    for width in widths:
        if used + width > part_units:
            parts += 1
            used = 0
        used += width
    return parts


def count_segments(text: str) -> SegmentCount:
    """Encoding, size and number of SMS parts of text as a phone network carries it.

    An empty text still occupies one (empty) message, so segments is at least 1.
    """
    encoding: Encoding = "GSM-7" if is_gsm7(text) else "UCS-2"
    widths = _unit_widths(text, encoding)
    units = sum(widths)
    single, part = (
        (SINGLE_GSM7_SEPTETS, PART_GSM7_SEPTETS) if encoding == "GSM-7" else (SINGLE_UCS2_UNITS, PART_UCS2_UNITS)
    )
    segments = 1 if units <= single else _pack(widths, part)
    return SegmentCount(encoding=encoding, units=units, segments=segments, chars=len(text))
