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
