"""``{{ course.price|price:course.currency }}``: a price as a reader of the active language
writes it, ``$19.99``, ``₹4,999.00``, ``49,00 €`` (``{% load prices %}``).

The digits come from ``django_apranova_payments.money.format_amount``, so a price shows
exactly the decimal places of its currency (none for JPY, three for KWD) and is never
rounded; Django's number formats of the active language give the separators. Babel would
know every locale's currency patterns, but an example that shows a handful of currencies in
one language does not need its weight: the symbols of those currencies and the languages
that write the symbol after the amount are listed here, and anything else is shown with its
ISO code (``12.500 KWD``).
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats, numberformat, translation

from django_apranova_payments.money import format_amount

register = template.Library()

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "inr": "₹", "jpy": "¥"}
#: Languages that write the currency symbol after the amount, with a space.
SYMBOL_AFTER = {"de", "fr", "es", "it", "pt", "pl", "cs", "sk", "sv", "fi", "da", "nb", "nn", "ru", "uk", "tr"}
#: Indian digit grouping (1,00,000), which Django's formats do not have.
GROUPING = {"en-in": (3, 2, 0), "hi": (3, 2, 0)}
NBSP = "\u00a0"


@register.filter
def price(amount: Decimal | str | int, currency: str) -> str:
    """``amount`` in ``currency`` for the active language."""
    digits, code = format_amount(Decimal(amount), currency).rsplit(" ", 1)
    language = (translation.get_language() or "en-us").lower()
    grouped = numberformat.format(
        digits,
        formats.get_format("DECIMAL_SEPARATOR", language),
        grouping=GROUPING.get(language, formats.get_format("NUMBER_GROUPING", language)),
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR", language),
        force_grouping=True,
    )
    symbol = SYMBOLS.get(code.lower())
    if symbol is None:
        return f"{grouped}{NBSP}{code}"
    if language.split("-")[0] in SYMBOL_AFTER:
        return f"{grouped}{NBSP}{symbol}"
    return f"{symbol}{grouped}"
