"""parse_amount: what a client may send as an amount, read exactly, and what is refused.

Pure Python: no database, no Django settings.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_apranova_payments.money import MoneyError, parse_amount, to_minor_units

D = Decimal


# --- parse_amount ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("999.00", D("999.00")),
        (" 19.99 ", D("19.99")),
        ("19.990", D("19.990")),
        ("5", D("5")),
        ("+5", D("5")),
        (".5", D("0.5")),
        ("1e3", D("1000")),
        (5, D("5")),
        (D("19.99"), D("19.99")),
    ],
)
def test_parse_amount_accepts_decimal_strings_ints_and_decimals(value: object, expected: Decimal) -> None:
    parsed = parse_amount(value)
    assert parsed == expected
    assert isinstance(parsed, Decimal)


def test_parse_amount_keeps_the_value_exactly_as_given() -> None:
    assert parse_amount("19.990").as_tuple() == D("19.990").as_tuple()
    # Precision is checked per currency later, by to_minor_units().
    assert parse_amount("0.001") == D("0.001")


def test_parse_amount_refuses_float_as_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_amount(19.99)


@pytest.mark.parametrize("value", [True, False, None, [], {}, b"19.99", object()])
def test_parse_amount_rejects_non_numbers(value: object) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value)


@pytest.mark.parametrize(
    "value",
    ["", "   ", "abc", "19,99", "1.2.3", "$5", "5 USD", "0x10", "1_000", "١٢", "½", "--1", "1e", "e5", "."],
)
def test_parse_amount_rejects_non_numeric_strings(value: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value)


@pytest.mark.parametrize(
    "value",
    ["NaN", "nan", "-NaN", "sNaN", "Infinity", "inf", "-inf", "+Infinity", D("NaN"), D("sNaN"), D("Inf")],
)
def test_parse_amount_rejects_nan_and_infinity(value: object) -> None:
    with pytest.raises(MoneyError, match="finite"):
        parse_amount(value)


@pytest.mark.parametrize("value", ["0", "0.00", "-0", "-1", "-19.99", 0, -5, D("0"), D("-0.01")])
def test_zero_and_negative_amounts_are_rejected(value: object) -> None:
    with pytest.raises(MoneyError, match=r"^Amount must be greater than zero\.$"):
        parse_amount(value)


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
    "value",
    [
        "1e999999999",
        "1E+16",
        "99999999999999999",
        10**16,
        D("1E+999999999"),
        pytest.param(10**5000, id="10**5000"),
    ],
)
def test_parse_amount_rejects_huge_values(value: object) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value)


def test_parse_amount_rejects_exponents_decimal_cannot_represent() -> None:
    for text in ["1e99999999999999999999999999", "1e-99999999999999999999999999"]:
        with pytest.raises(MoneyError):
            parse_amount(text)


def test_parse_amount_rejects_long_strings_without_parsing_them() -> None:
    with pytest.raises(MoneyError):
        parse_amount("1" * 33)
    with pytest.raises(MoneyError):
        parse_amount("0." + "0" * 1_000_000 + "1")


def test_parse_amount_rejects_decimals_with_too_many_digits() -> None:
    with pytest.raises(MoneyError):
        parse_amount(D("1." + "0" * 100))


def test_hostile_amounts_are_rejected_quickly() -> None:
    started = time.perf_counter()
    for value in ["1e999999999", "9" * 10_000, "1e-999999999"]:
        try:
            to_minor_units(parse_amount(value), "usd")
        except MoneyError:
            pass
    for amount in [D("1E-999999999"), D("1E+999999999"), D("0E+999999999")]:
        with pytest.raises(MoneyError):
            to_minor_units(amount, "usd")
    assert time.perf_counter() - started < 1


@given(
    st.decimals(
        min_value=D("0.001"),
        max_value=D("999999999999"),
        places=3,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_parse_amount_round_trips_str_of_any_decimal(amount: Decimal) -> None:
    assert parse_amount(str(amount)) == amount


@given(st.integers(min_value=1, max_value=10**15))
def test_parse_amount_round_trips_ints(value: int) -> None:
    assert parse_amount(value) == value
    assert parse_amount(str(value)) == value


def test_parse_amount_takes_a_decimal_of_exactly_32_digits():
    # The longest amount kept as given: one digit more is "Amount has too many digits." (test_messages.py).
    longest = Decimal("1." + "1" * 31)

    assert len(longest.as_tuple().digits) == 32
    assert parse_amount(longest) == longest
