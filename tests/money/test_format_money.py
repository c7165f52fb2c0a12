"""``money_display.format_money``: money as people read it, one way on every page: the active
language's separators and grouping, the currency's exact decimals, its symbol or its code."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from django_apranova_payments import money
from django_apranova_payments.money_display import format_money, group_digits

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "amount", "currency", "shown"),
    [
        ("en-us", "19.99", "usd", "$19.99"),
        ("en-us", "4999.00", "inr", "₹4,999.00"),
        ("en-us", "107478.5", "inr", "₹107,478.50"),
        ("hi", "107478.5", "inr", "₹1,07,478.50"),
        ("en-in", "499999.00", "inr", "₹4,99,999.00"),
        ("en-us", "1234567.5", "USD", "$1,234,567.50"),
        ("de", "1999.00", "eur", f"1.999,00{NBSP}€"),
        ("fr", "1999.00", "eur", f"1{NBSP}999,00{NBSP}€"),
        ("en-us", "5000", "jpy", "¥5,000"),
        ("en-us", "12.5", "kwd", f"12.500{NBSP}KWD"),
        ("en-us", "1500", "isk", f"1,500{NBSP}ISK"),
        ("en-us", "0.5", "gbp", "£0.50"),
        ("en-us", "-5", "usd", "-$5.00"),
        ("en-us", "-0.00", "usd", "$0.00"),
    ],
)
def test_the_language_and_the_currency_decide(language, amount, currency, shown):
    with translation.override(language):
        assert format_money(Decimal(amount), currency) == shown
    assert format_money(Decimal(amount), currency, language) == shown  # or named


def test_an_amount_finer_than_its_currency_is_shown_exactly_not_rounded():
    assert format_money(Decimal("19.999"), "usd", "en-us") == "$19.999"


def test_stored_data_with_an_unknown_currency_is_shown_with_its_code():
    assert format_money(Decimal("1234"), "xyz", "en-us") == f"1,234.00{NBSP}XYZ"


def test_machine_text_stays_as_it_was():
    """Logs, API messages and CSV keep ``format_amount``: ungrouped, the code after, in every
    language."""
    with translation.override("de"):
        assert money.format_amount(Decimal("107478.5"), "inr") == "107478.50 INR"


def test_group_digits_changes_only_the_separators():
    assert group_digits("15000", "en-us") == "15,000"
    assert group_digits("1500000", "hi") == "15,00,000"
    assert group_digits("15000.25", "de") == "15.000,25"
