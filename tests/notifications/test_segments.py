"""SMS segment counting against cases worked out by hand from GSM 03.38 / 3GPP TS 23.038."""

import pytest

from notifications.segments import GSM7_BASIC, GSM7_EXTENSION, count_segments

CYR = "д"  # any Cyrillic letter: outside GSM-7, one UTF-16 unit
EMOJI = "😀"  # U+1F600: outside the BMP, a surrogate pair (2 UTF-16 units)


def test_tables_have_the_standard_sizes():
    # 128 codes minus the escape (0x1B) in the basic table; 9 extension characters + form feed.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),  # 153 + 8
        ("a" * 306, "GSM-7", 306, 2),  # 153 + 153
        ("a" * 307, "GSM-7", 307, 3),
        (CYR * 70, "UCS-2", 70, 1),
        (CYR * 71, "UCS-2", 71, 2),  # 67 + 4
        (CYR * 134, "UCS-2", 134, 2),  # 67 + 67
        (CYR * 135, "UCS-2", 135, 3),
        # 152 + '€' (2 septets) = 154 septets <= 160: still a single message.
        ("a" * 152 + "€", "GSM-7", 154, 1),
        # 159 + 2 = 161 septets: concatenated; 153 | 6 + 2.
        ("a" * 159 + "€", "GSM-7", 161, 2),
        # 305 septets: part 1 takes 152 chars (the escape pair would need 154 > 153 and is not
        # split), part 2 takes '€' + 151 = 153.
        ("a" * 152 + "€" + "a" * 151, "GSM-7", 305, 2),
        # 306 septets fit 2 x 153 by division, but the unsplittable pair costs a unit:
        # 152 | 2 + 151 | 1 -> 3 parts.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),  # 76 pairs (152 septets) a part
        # Emoji: 68 + 2 = 70 units, one message; 69 + 2 = 71, two.
        (CYR * 68 + EMOJI, "UCS-2", 70, 1),
        (CYR * 69 + EMOJI, "UCS-2", 71, 2),
        # Surrogate pair at the boundary: 66 | 2 + 65 = 67 -> 2 parts for 133 units ...
        (CYR * 66 + EMOJI + CYR * 65, "UCS-2", 133, 2),
        # ... but 134 units need 3: 66 | 2 + 65 | 1 (division would say 2).
        (CYR * 66 + EMOJI + CYR * 66, "UCS-2", 134, 3),
        (EMOJI * 35, "UCS-2", 70, 1),
        (EMOJI * 36, "UCS-2", 72, 2),  # 33 pairs (66 units) a part
        (EMOJI * 67, "UCS-2", 134, 3),  # 33 | 33 | 1
        ("é" * 160, "GSM-7", 160, 1),  # é is in the basic table
        ("ê" + "a" * 69, "UCS-2", 70, 1),  # ê is not: the whole text turns UCS-2
        ("ê" + "a" * 70, "UCS-2", 71, 2),
        ("Hello [world]", "GSM-7", 15, 1),  # [ and ] are extension characters
        ("^{}\\[~]|€\f", "GSM-7", 20, 1),
        ("Line\nbreak\r", "GSM-7", 11, 1),
        ("tab\t", "UCS-2", 4, 1),  # no tab in GSM-7
        ("back`tick", "UCS-2", 9, 1),
        ("ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 10, 1),  # Greek capitals of the basic table
    ],
)
def test_known_counts(text, encoding, units, segments):
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)
    assert count.chars == len(text)


@pytest.mark.parametrize("letter", list("әғқңөұүһі") + list("ӘҒҚҢӨҰҮҺІ") + ["ж", "Ё", "ы"])
def test_any_kazakh_or_russian_letter_makes_the_message_ucs2(letter):
    assert count_segments("a" * 100 + letter).encoding == "UCS-2"
    assert count_segments("a" * 100 + letter).segments == 2  # 101 units > 70


def test_chars_counts_code_points_units_count_utf16():
    count = count_segments("Өрт 🔥")
    assert count.chars == 5
    assert count.units == 6
