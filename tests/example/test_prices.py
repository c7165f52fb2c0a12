"""The example's ``price`` template filter (example_project/courses/templatetags/prices.py):
the package's exact digits, the active language's separators and the currency's symbol."""

import importlib.util
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

PATH = Path(__file__).resolve().parents[2] / "example_project" / "courses" / "templatetags" / "prices.py"
_spec = importlib.util.spec_from_file_location("example_prices", PATH)
assert _spec is not None and _spec.loader is not None
prices = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prices)


@pytest.mark.parametrize(
    ("language", "amount", "currency", "shown"),
    [
        ("en-us", "19.99", "usd", "$19.99"),
        ("en-us", "4999.00", "inr", "₹4,999.00"),
        ("en-us", "49.00", "EUR", "€49.00"),
        ("en-us", "1234567.5", "usd", "$1,234,567.50"),
        ("en-in", "499999.00", "inr", "₹4,99,999.00"),
        ("de", "49.00", "eur", "49,00\u00a0€"),
        ("de", "1999.00", "eur", "1.999,00\u00a0€"),
        ("fr", "1999.00", "eur", "1\u00a0999,00\u00a0€"),
        ("en-us", "5000", "jpy", "¥5,000"),
        ("en-us", "12.5", "kwd", "12.500\u00a0KWD"),
        ("en-us", "0.5", "gbp", "£0.50"),
    ],
)
def test_prices_follow_the_language_and_the_currency(language, amount, currency, shown):
    with translation.override(language):
        assert prices.price(Decimal(amount), currency) == shown


def test_an_amount_finer_than_its_currency_is_shown_exactly_not_rounded():
    with translation.override("en-us"):
        assert prices.price(Decimal("19.999"), "usd") == "$19.999"


def test_the_filter_is_registered_for_templates():
    assert prices.register.filters["price"] is prices.price
