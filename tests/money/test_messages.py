"""The exact words of every money refusal. Clients see them in 400 answers (``{"amount":
[…]}``), so a changed capital or a lost message is a change of the API, and the boundaries
behind them (32 characters, 10**16, zero) are pinned at the value itself."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_apranova_payments import money
from django_apranova_payments.money import MoneyError


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "Amount is required."),
        (True, "Amount must be a number, not true or false."),
        ([], "Amount must be a number, such as 19.99."),
        ("   ", "Amount must not be blank."),
        ("1" * 33, "Amount has too many characters."),
        ("1" * 32, "Amount is too large."),  # 32 characters pass the length check
        ("-inf", "Amount must be a finite number."),
        ("Xinf", "Amount must be a number, such as 19.99."),  # only signs are stripped
        ("abc", "Amount must be a number, such as 19.99."),
        ("1e9999999999999999999", "Amount is out of range."),
        (Decimal("NaN"), "Amount must be a finite number."),
        (Decimal("1e16"), "Amount is too large."),
        (Decimal("1." + "1" * 32), "Amount has too many digits."),
        ("0", "Amount must be greater than zero."),
    ],
)
def test_parse_amount_refuses_with_exactly_these_words(value, message):
    with pytest.raises(MoneyError) as refused:
        money.parse_amount(value)

    assert str(refused.value) == message


def test_a_float_is_a_programming_error_with_its_own_words():
    with pytest.raises(TypeError) as refused:
        money.parse_amount(19.99)

    assert str(refused.value) == "parse_amount() refuses float; parse JSON numbers as Decimal"


def test_to_minor_units_refuses_a_non_finite_amount_in_words():
    with pytest.raises(MoneyError) as refused:
        money.to_minor_units(Decimal("NaN"), "usd")

    assert str(refused.value) == "Amount must be a finite number."


def test_from_minor_units_names_the_type_it_refuses():
    with pytest.raises(TypeError) as refused:
        money.from_minor_units("1999", "usd")  # type: ignore[arg-type]

    assert str(refused.value) == "from_minor_units() needs an int, not str"


def test_quantize_for_storage_keeps_zero_at_zero_and_refuses_the_too_large_in_words():
    assert money.quantize_for_storage(Decimal("0")) == Decimal("0.00")
    with pytest.raises(MoneyError) as refused:
        money.quantize_for_storage(Decimal("1e16"))

    assert str(refused.value) == "Amount is too large."


def test_format_amount_shows_a_currency_that_is_not_a_string_as_it_is():
    assert money.format_amount(Decimal("1.5"), 840) == "1.50 840"  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["us", "usdx", "12$", "", None, 840])
def test_normalize_currency_refuses_what_is_not_a_code_with_exactly_these_words(code):
    with pytest.raises(MoneyError) as refused:
        money.normalize_currency(code)

    assert str(refused.value) == "Currency must be a three-letter ISO 4217 code, such as 'usd'."
