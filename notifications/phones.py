"""Phone numbers as SMS needs them: parsed with phonenumbers, checked to be mobile, kept in E.164."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

# Types that can receive an SMS. FIXED_LINE_OR_MOBILE is what several countries' metadata
# gives when the number ranges overlap; we cannot tell, so we let the provider decide.
_SMS_CAPABLE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "the country code is missing or unknown (write it as +7...)",
    NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}


class InvalidPhone(ValueError):
    """The number cannot receive our SMS; the message says why, for a person to read."""


def normalize_phone(text: str, default_region: str) -> str:
    """`8 701 234 56 78` (region KZ) -> `+77012345678`; InvalidPhone says why otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidPhone("phone number is empty")
    # phonenumbers reads letters as keypad digits (0ABC -> 0222): another person's number.
    if any(ch.isalpha() for ch in text):
        raise InvalidPhone(f"{text.strip()!r} is not a phone number: it has letters in it (write digits only)")
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "it cannot be read")
        raise InvalidPhone(f"{text.strip()!r} is not a valid phone number: {reason}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"{text.strip()!r} is not a valid phone number for its country")
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise InvalidPhone(f"{text.strip()!r} is not a mobile number, so it cannot receive SMS")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def local_forms(e164: str) -> list[str]:
    """The ways a number may be written locally (national format, digits only), for leak checks."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(ch for ch in national if ch.isdigit())
    return sorted({e164, e164.lstrip("+"), national, digits})
