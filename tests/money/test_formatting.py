"""format_amount for people and quantize_for_storage for the database column.

Pure Python: no database, no Django settings.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from django_apranova_payments.money import MoneyError, amount_text, format_amount, quantize_for_storage

D = Decimal


# --- format_amount ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("19.99", "usd", "19.99 USD"),
        ("19.9", "usd", "19.90 USD"),
        ("999", "INR", "999.00 INR"),
        ("1000.00", "jpy", "1000 JPY"),
        ("5.12", "kwd", "5.120 KWD"),
        ("5.00", "isk", "5 ISK"),
    ],
)
def test_format_amount_uses_the_currencys_places(amount: str, currency: str, text: str) -> None:
    assert format_amount(D(amount), currency) == text


def test_format_amount_never_rounds_or_raises_for_stored_data() -> None:
    assert format_amount(D("5.125"), "kwd") == "5.125 KWD"
    assert format_amount(D("1000.5"), "jpy") == "1000.5 JPY"
    # A retired currency in an old row still displays.
    assert format_amount(D("12.50"), "sll") == "12.50 SLL"


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


# --- quantize_for_storage --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "stored"),
    [("19.99", "19.99"), ("1000", "1000.00"), ("5.120", "5.12"), ("19.9", "19.90")],
)
def test_quantize_for_storage_gives_two_places(amount: str, stored: str) -> None:
    result = quantize_for_storage(D(amount))
    assert result.as_tuple() == D(stored).as_tuple()


@pytest.mark.parametrize("amount", ["5.125", "19.999", "0.001"])
def test_quantize_for_storage_refuses_to_round(amount: str) -> None:
    with pytest.raises(MoneyError):
        quantize_for_storage(D(amount))


@pytest.mark.parametrize("amount", ["1E+12", "NaN", "Infinity", "1E+999999999"])
def test_quantize_for_storage_refuses_what_the_column_cannot_hold(amount: str) -> None:
    with pytest.raises(MoneyError):
        quantize_for_storage(D(amount))


def test_quantize_for_storage_refuses_float() -> None:
    with pytest.raises(TypeError):
        quantize_for_storage(19.99)  # type: ignore[arg-type]


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


def test_quantize_for_storage_keeps_the_sign_of_a_negative_amount():
    assert str(quantize_for_storage(D("-19.9"))) == "-19.90"


class _Code:
    """A stored currency that is not a str (what str() of it says is used)."""

    def __str__(self) -> str:
        return "jpy"


def test_amount_text_reads_the_code_of_stored_data_as_it_can():
    assert amount_text(D("1000"), " JPY ") == "1000"  # a str: stripped and lower-cased, JPY has no places
    assert amount_text(D("1000"), _Code()) == "1000"  # not a str: its str()
    assert amount_text(D("5"), None) == "5.00"  # nothing known: two places, no error
