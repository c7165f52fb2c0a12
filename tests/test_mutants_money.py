"""parse_amount's refusals, message by message, for the inputs the other money tests take in
another type (survivors of the mutation run, docs/explanation/testing.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_apranova_payments.money import MoneyError, format_amount, parse_amount, quantize_for_storage


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "Amount must be greater than zero."),
        (-1, "Amount must be greater than zero."),
        (10**16, "Amount is too large."),
        (10**400, "Amount is too large."),
    ],
)
def test_an_int_amount_out_of_range_is_refused_with_its_reason(value, message):
    with pytest.raises(MoneyError) as refused:
        parse_amount(value)
    assert str(refused.value) == message


@pytest.mark.parametrize("value", [1, 10**16 - 1])
def test_an_int_amount_at_either_end_of_the_range_is_taken_exactly(value):
    assert parse_amount(value) == Decimal(value)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("19.99", " USD ", "19.99 USD"),  # the code as typed: trimmed, any case
        ("5", "JPY", "5 JPY"),  # a zero-decimal currency: no places
        ("1.5E-7", "usd", "0.00000015 USD"),  # more precision than the currency: exact, no exponent
        ("1E+30", "usd", "1000000000000000000000000000000 USD"),  # too large to scale: exact, no ".00"
        ("Infinity", "usd", "Infinity USD"),
    ],
)
def test_format_amount_shows_stored_data_exactly_with_its_currency_code(amount, currency, shown):
    assert format_amount(Decimal(amount), currency) == shown


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("NaN"), "Amount must be a finite number."),
        (Decimal("-Infinity"), "Amount must be a finite number."),
        (Decimal("1.005"), "Amount cannot be stored with 2 decimal places."),
        (Decimal("1E+12"), "Amount is too large."),
        (Decimal("-1E+12"), "Amount is too large."),
    ],
)
def test_an_amount_the_column_cannot_hold_is_refused_with_its_reason(amount, message):
    with pytest.raises(MoneyError) as refused:
        quantize_for_storage(amount)
    assert str(refused.value) == message


def test_quantize_for_storage_names_the_type_it_refuses():
    with pytest.raises(TypeError, match=r"needs a Decimal, not float$"):
        quantize_for_storage(1.5)  # type: ignore[arg-type]
