"""The currency rules of money.py: Stripe's supported currencies, zero- and three-decimal
currencies, minimum charges, and how a currency code is read.

Pure Python: no database, no Django settings.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_apranova_payments.money import (
    MINIMUM_CHARGE,
    STRIPE_CURRENCIES,
    THREE_DECIMAL,
    ZERO_DECIMAL,
    MoneyError,
    decimal_places,
    minor_unit_exponent,
    normalize_currency,
)

D = Decimal


# --- the constants -----------------------------------------------------------------------


def test_currency_tables_are_lowercase_three_letter_codes_stripe_supports() -> None:
    tables = [STRIPE_CURRENCIES, ZERO_DECIMAL, THREE_DECIMAL, frozenset(MINIMUM_CHARGE)]
    for table in tables:
        assert all(len(code) == 3 and code.isascii() and code.islower() for code in table)
    assert ZERO_DECIMAL <= STRIPE_CURRENCIES
    assert THREE_DECIMAL <= STRIPE_CURRENCIES
    assert set(MINIMUM_CHARGE) <= STRIPE_CURRENCIES
    assert not ZERO_DECIMAL & THREE_DECIMAL


def test_zero_and_three_decimal_sets_match_stripe_docs() -> None:
    zero_decimal = "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf"
    assert " ".join(sorted(ZERO_DECIMAL)) == zero_decimal
    assert THREE_DECIMAL == {"bhd", "jod", "kwd", "omr", "tnd"}


def test_common_currencies_are_supported_and_retired_ones_are_not() -> None:
    assert {"usd", "eur", "gbp", "inr", "jpy", "aud", "cad"} <= STRIPE_CURRENCIES
    assert {"isk", "huf", "twd", "idr", "ugx", "kwd"} <= STRIPE_CURRENCIES
    assert not {"sll", "hrk", "vef", "mro", "ltl"} & STRIPE_CURRENCIES


def test_minimum_charges_are_decimals_in_major_units() -> None:
    assert MINIMUM_CHARGE["usd"] == D("0.50")
    assert MINIMUM_CHARGE["gbp"] == D("0.30")
    assert MINIMUM_CHARGE["jpy"] == D("50")
    assert MINIMUM_CHARGE["hkd"] == D("4.00")
    assert MINIMUM_CHARGE["huf"] == D("175.00")
    assert len(MINIMUM_CHARGE) == 24
    assert all(isinstance(value, Decimal) for value in MINIMUM_CHARGE.values())


def test_minimum_charge_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        MINIMUM_CHARGE["usd"] = D("0.01")  # type: ignore[index]


# --- normalize_currency --------------------------------------------------------------------


@pytest.mark.parametrize("code", ["usd", "USD", "Usd", " usd ", "\tUSD\n"])
def test_currency_is_case_and_whitespace_insensitive(code: str) -> None:
    assert normalize_currency(code) == "usd"


def test_unsupported_currency_is_named_in_the_message() -> None:
    with pytest.raises(MoneyError, match=r"^'xyz' is not a currency Stripe supports\.$"):
        normalize_currency("XYZ")


@pytest.mark.parametrize("code", ["", "us", "usdd", "u5d", "ü12", "us d", None, 840, True, b"usd", ["usd"]])
def test_malformed_currency_is_rejected(code: object) -> None:
    with pytest.raises(MoneyError, match="three-letter"):
        normalize_currency(code)


def test_currency_error_does_not_name_the_field() -> None:
    with pytest.raises(MoneyError) as excinfo:
        normalize_currency("xyz")
    assert "currency:" not in str(excinfo.value).lower()


# --- decimal_places and minor_unit_exponent ------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "places", "exponent"),
    [
        ("usd", 2, 2),
        ("eur", 2, 2),
        ("inr", 2, 2),
        ("jpy", 0, 0),
        ("krw", 0, 0),
        ("xof", 0, 0),
        ("kwd", 3, 3),
        ("bhd", 3, 3),
        ("tnd", 3, 3),
        ("isk", 0, 2),
        ("ugx", 0, 2),
        ("huf", 2, 2),
        ("twd", 2, 2),
        ("idr", 2, 2),
    ],
)
def test_places_and_exponent_follow_stripe_rules(currency: str, places: int, exponent: int) -> None:
    assert decimal_places(currency) == places
    assert minor_unit_exponent(currency) == exponent


def test_every_zero_decimal_currency_except_ugx_has_exponent_zero() -> None:
    for currency in ZERO_DECIMAL - {"ugx"}:
        assert minor_unit_exponent(currency) == 0
        assert decimal_places(currency) == 0


def test_places_accepts_any_case() -> None:
    assert decimal_places("JPY") == 0
    assert minor_unit_exponent("KWD") == 3
