import pytest

from notifications.phones import InvalidPhone, local_forms, normalize_phone


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("8 701 234 56 78", "+77012345678"),
        ("87012345678", "+77012345678"),
        ("+7 701 234 5678", "+77012345678"),
        ("+7 (777) 123-45-67", "+77771234567"),
        ("7012345678", "+77012345678"),
        ("+447911123456", "+447911123456"),
    ],
)
def test_kazakh_and_foreign_mobiles_become_e164(text, e164):
    assert normalize_phone(text, "KZ") == e164


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "not a phone number"),
        ("123", "not a valid phone number"),
        ("8 7172 12 34 56", "not a mobile number"),  # an Astana landline
        ("+7 701 234 56 78 99", "not a valid phone number"),
    ],
)
def test_invalid_numbers_say_why(text, reason):
    with pytest.raises(InvalidPhone, match=reason):
        normalize_phone(text, "KZ")


def test_local_forms_cover_how_people_write_a_number():
    forms = local_forms("+77012345678")
    assert {"+77012345678", "77012345678", "87012345678"} <= set(forms)


@pytest.mark.parametrize("text", ["8 701 000 0ABC", "+7 701 000 00 0a", "8-701-CALL-NOW", "+7701000000О"])
def test_letters_are_refused_not_read_as_keypad_digits(text):
    with pytest.raises(InvalidPhone, match="has letters in it"):
        normalize_phone(text, "KZ")


def test_the_keypad_reading_would_have_been_another_number():
    # What the letters would have become: a valid number that belongs to someone else.
    assert normalize_phone("8 701 000 0222", "KZ") == "+77010000222"
