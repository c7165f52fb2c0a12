"""Exact Decimal <-> Stripe minor-unit conversion, per currency, with Stripe's limits.

Pure Python: no database, no Django settings.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_apranova_payments import money
from django_apranova_payments.money import (
    MAX_MINOR_UNITS,
    MAX_MINOR_UNITS_IDR,
    MINIMUM_CHARGE,
    STRIPE_CURRENCIES,
    THREE_DECIMAL,
    MoneyError,
    decimal_places,
    from_minor_units,
    minor_unit_exponent,
    parse_amount,
    quantize_for_storage,
    to_minor_units,
)

D = Decimal
SAMPLE_CURRENCIES = ["usd", "jpy", "kwd", "isk", "ugx", "huf", "inr", "gbp", "idr"]


def _minor_step(currency: str) -> int:
    """Smallest chargeable increment in minor units, derived independently of the module."""
    if currency in THREE_DECIMAL:
        return 10
    step: int = 10 ** (minor_unit_exponent(currency) - decimal_places(currency))
    return step


def _smallest_valid_minor(currency: str) -> int:
    minimum = MINIMUM_CHARGE.get(currency)
    if minimum is None:
        return _minor_step(currency)
    return int(minimum.scaleb(minor_unit_exponent(currency)))


def _largest_valid_minor(currency: str) -> int:
    limit = MAX_MINOR_UNITS_IDR if currency == "idr" else MAX_MINOR_UNITS
    return limit // _minor_step(currency) * _minor_step(currency)


@st.composite
def valid_minor_amounts(draw: st.DrawFn) -> tuple[int, str]:
    currency = draw(st.sampled_from(SAMPLE_CURRENCIES))
    step = _minor_step(currency)
    low = -(-_smallest_valid_minor(currency) // step)
    units = draw(st.integers(min_value=low, max_value=_largest_valid_minor(currency) // step))
    return units * step, currency

# --- to_minor_units --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("19.99", "usd", 1999),
        ("999.00", "usd", 99900),
        ("999", "inr", 99900),
        ("1000", "jpy", 1000),
        ("5.12", "kwd", 5120),
        ("5", "isk", 500),
        ("5000", "ugx", 500000),
        ("175.50", "huf", 17550),
        ("0.29", "kes", 29),
        ("1.5", "usd", 150),
    ],
)
def test_amounts_convert_exactly(amount: str, currency: str, minor: int) -> None:
    assert to_minor_units(D(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "float_bug_result", "exact"),
    [
        ("19.99", 1998, 1999),
        ("4.35", 434, 435),
        ("0.29", 28, 29),
        ("1.15", 114, 115),
        ("0.57", 56, 57),
        ("8.20", 819, 820),
        ("9.95", 994, 995),
        ("17.99", 1798, 1799),
    ],
)
def test_float_bug_values_convert_exactly(amount: str, float_bug_result: int, exact: int) -> None:
    assert int(float(amount) * 100) == float_bug_result  # float arithmetic still gets these wrong
    # "kes" has no published minimum, so even 0.29 is chargeable and shows the conversion.
    assert to_minor_units(D(amount), "kes") == exact
    if D(amount) >= MINIMUM_CHARGE["usd"]:
        assert to_minor_units(D(amount), "usd") == exact


def test_amount_below_usd_minimum_fails_on_the_minimum_not_on_rounding() -> None:
    with pytest.raises(MoneyError, match=r"^Amount must be at least 0\.50 USD\.$"):
        to_minor_units(D("0.29"), "usd")


def test_trailing_zeros_are_judged_by_value() -> None:
    assert to_minor_units(D("19.990"), "usd") == 1999
    assert to_minor_units(D("19.99000000"), "usd") == 1999
    assert to_minor_units(D("1000.0"), "jpy") == 1000
    assert to_minor_units(D("1000.000"), "jpy") == 1000
    assert to_minor_units(D("5.0"), "isk") == 500
    assert to_minor_units(D("5.1200"), "kwd") == 5120
    assert to_minor_units(D("1E+3"), "jpy") == 1000


def test_currency_case_does_not_matter_for_conversion() -> None:
    assert to_minor_units(D("19.99"), " USD ") == 1999
    assert to_minor_units(D("1000"), "JPY") == 1000


def test_too_many_decimal_places_is_rejected() -> None:
    with pytest.raises(MoneyError, match=r"^USD amounts can have at most 2 decimal places\.$"):
        to_minor_units(D("19.999"), "usd")


def test_1_005_usd_is_rejected_not_rounded() -> None:
    with pytest.raises(MoneyError, match="at most 2 decimal places"):
        to_minor_units(D("1.005"), "usd")


@pytest.mark.parametrize(("amount", "currency"), [("1000.5", "jpy"), ("50.01", "jpy")])
def test_zero_decimal_amount_cannot_have_a_fraction(amount: str, currency: str) -> None:
    with pytest.raises(MoneyError, match=r"^JPY amounts cannot have a fractional part\.$"):
        to_minor_units(D(amount), currency)


@pytest.mark.parametrize("currency", ["isk", "ugx"])
def test_isk_and_ugx_are_whole_units_sent_with_two_decimals(currency: str) -> None:
    assert to_minor_units(D("5"), currency) == 500
    with pytest.raises(MoneyError, match="cannot have a fractional part"):
        to_minor_units(D("5.50"), currency)


def test_three_decimal_amount_must_end_in_zero() -> None:
    with pytest.raises(MoneyError, match=r"^KWD amounts must be a multiple of 0\.010\.$"):
        to_minor_units(D("5.125"), "kwd")
    assert to_minor_units(D("5.120"), "kwd") == 5120
    assert to_minor_units(D("5.13"), "kwd") == 5130


def test_three_decimal_amount_cannot_have_four_places() -> None:
    with pytest.raises(MoneyError, match="at most 3 decimal places"):
        to_minor_units(D("5.1201"), "bhd")


@pytest.mark.parametrize("amount", ["0.49", "0.01", "0.499"])
def test_amount_below_minimum_is_rejected(amount: str) -> None:
    with pytest.raises(MoneyError):
        to_minor_units(D(amount), "usd")


@pytest.mark.parametrize("currency", sorted(MINIMUM_CHARGE))
def test_exactly_the_minimum_passes_and_one_minor_unit_less_fails(
    currency: str,
) -> None:
    minimum = MINIMUM_CHARGE[currency]
    minor = to_minor_units(minimum, currency)
    assert minor == minimum.scaleb(minor_unit_exponent(currency))
    one_less = from_minor_units(minor - _minor_step(currency), currency)
    with pytest.raises(MoneyError, match=r"^Amount must be at least "):
        to_minor_units(one_less, currency)


def test_minimum_message_shows_the_minimum_in_major_units() -> None:
    with pytest.raises(MoneyError, match=r"^Amount must be at least 50 JPY\.$"):
        to_minor_units(D("49"), "jpy")
    with pytest.raises(MoneyError, match=r"^Amount must be at least 175\.00 HUF\.$"):
        to_minor_units(D("174.99"), "huf")


def test_currency_without_published_minimum_needs_one_chargeable_unit() -> None:
    assert to_minor_units(D("0.01"), "kes") == 1
    assert to_minor_units(D("1"), "krw") == 1
    assert to_minor_units(D("0.01"), "kwd") == 10
    assert to_minor_units(D("1"), "isk") == 100


@pytest.mark.parametrize(
    ("largest", "currency", "minor"),
    [
        ("999999.99", "usd", 99_999_999),
        ("99999999", "jpy", 99_999_999),
        ("99999.99", "kwd", 99_999_990),
        ("999999", "isk", 99_999_900),
        ("9999999999.99", "idr", 999_999_999_999),
    ],
)
def test_largest_amount_passes(largest: str, currency: str, minor: int) -> None:
    assert to_minor_units(D(largest), currency) == minor


@pytest.mark.parametrize(
    ("too_large", "currency", "message"),
    [
        ("1000000.00", "usd", "999999.99 USD"),
        ("100000000", "jpy", "99999999 JPY"),
        ("100000.00", "kwd", "99999.990 KWD"),
        ("1000000", "isk", "999999 ISK"),
        ("10000000000.00", "idr", "9999999999.99 IDR"),
        ("1E+20", "usd", "999999.99 USD"),
    ],
)
def test_amount_above_maximum_is_rejected_with_the_maximum(
    too_large: str, currency: str, message: str
) -> None:
    with pytest.raises(MoneyError) as excinfo:
        to_minor_units(D(too_large), currency)
    assert str(excinfo.value) == f"Amount must be at most {message}."


def test_idr_allows_twelve_digits_and_others_eight() -> None:
    assert MAX_MINOR_UNITS == 99_999_999
    assert MAX_MINOR_UNITS_IDR == 999_999_999_999
    assert money.max_minor_units("IDR") == MAX_MINOR_UNITS_IDR
    assert money.max_minor_units("inr") == MAX_MINOR_UNITS


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_to_minor_units_rejects_non_finite(amount: str) -> None:
    with pytest.raises(MoneyError, match="finite"):
        to_minor_units(D(amount), "usd")


@pytest.mark.parametrize("amount", ["0", "-0", "-19.99", "0.00"])
def test_to_minor_units_rejects_zero_and_negatives(amount: str) -> None:
    with pytest.raises(MoneyError, match=r"^Amount must be greater than zero\.$"):
        to_minor_units(D(amount), "usd")


def test_to_minor_units_rejects_unsupported_currency() -> None:
    with pytest.raises(MoneyError, match="not a currency Stripe supports"):
        to_minor_units(D("10"), "xyz")


@pytest.mark.parametrize("amount", [19.99, 1999, "19.99", None])
def test_to_minor_units_requires_a_decimal(amount: object) -> None:
    with pytest.raises(TypeError):
        to_minor_units(amount, "usd")  # type: ignore[arg-type]


def test_every_supported_currency_converts_its_smallest_valid_amount() -> None:
    for currency in STRIPE_CURRENCIES:
        minor = _smallest_valid_minor(currency)
        assert to_minor_units(from_minor_units(minor, currency), currency) == minor


# --- from_minor_units ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (1999, "usd", "19.99"),
        (99900, "usd", "999.00"),
        (1000, "jpy", "1000"),
        (5120, "kwd", "5.120"),
        (500, "isk", "5"),
        (500, "ugx", "5"),
        (17550, "huf", "175.50"),
    ],
)
def test_from_minor_units_has_the_currencys_places(minor: int, currency: str, expected: str) -> None:
    result = from_minor_units(minor, currency)
    assert result == D(expected)
    assert result.as_tuple() == D(expected).as_tuple()


def test_from_minor_units_never_rounds_an_off_grid_value() -> None:
    assert from_minor_units(550, "isk") == D("5.50")


@pytest.mark.parametrize("minor", [19.99, True, "1999", D("1999")])
def test_from_minor_units_requires_an_int(minor: object) -> None:
    with pytest.raises(TypeError):
        from_minor_units(minor, "usd")  # type: ignore[arg-type]


@given(valid_minor_amounts())
def test_minor_units_round_trip_through_decimal(case: tuple[int, str]) -> None:
    minor, currency = case
    assert to_minor_units(from_minor_units(minor, currency), currency) == minor


@given(valid_minor_amounts())
def test_decimal_round_trips_through_minor_units(case: tuple[int, str]) -> None:
    minor, currency = case
    amount = from_minor_units(minor, currency)
    assert from_minor_units(to_minor_units(amount, currency), currency) == amount
    assert parse_amount(str(amount)) == amount


@given(valid_minor_amounts())
def test_every_valid_amount_fits_the_storage_column(case: tuple[int, str]) -> None:
    minor, currency = case
    amount = from_minor_units(minor, currency)
    stored = quantize_for_storage(amount)
    assert stored == amount
    assert to_minor_units(stored, currency) == minor


def test_to_minor_units_refuses_a_float_naming_its_type():
    with pytest.raises(TypeError) as refused:
        money.to_minor_units(19.99, "usd")  # type: ignore[arg-type]

    assert str(refused.value) == "to_minor_units() needs a Decimal, not float"


def test_an_amount_of_exactly_1e15_is_above_the_maximum_not_too_large():
    # adjusted() == 15 is the last exponent converted exactly; the currency's maximum refuses it.
    with pytest.raises(MoneyError) as refused:
        money.to_minor_units(Decimal("1e15"), "usd")

    assert str(refused.value) == "Amount must be at most 999999.99 USD."


def test_a_refund_may_be_the_maximum_and_not_one_minor_unit_more():
    # refund_minor_units leaves out the minimum charge, not the maximum.
    assert money.refund_minor_units(Decimal("999999.99"), "usd") == 99_999_999
    assert money.refund_minor_units(Decimal("0.01"), "usd") == 1
    with pytest.raises(MoneyError) as refused:
        money.refund_minor_units(Decimal("1000000.00"), "USD")

    assert str(refused.value) == "Amount must be at most 999999.99 USD."
