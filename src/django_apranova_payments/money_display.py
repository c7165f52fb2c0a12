"""Money as a reader of the active language writes it: ``$1,234.50``, ``₹1,07,478.50``,
``1.999,00 €``, ``12.500 KWD``.

One helper, :func:`format_money`, for every page and message a person reads (the admin's
lists, refund pages and analytics, e-mails). Machine text (logs, API messages, CSV, JSON) keeps
``money.format_amount`` (``1234.50 USD``) and ``money.amount_text`` (``1234.50``): exact,
ungrouped and the same in every language.

The digits come from ``money.amount_text``, so an amount shows exactly its currency's decimal
places (none for JPY, three for KWD) and is never rounded; Django's number formats of the active
language give the separators and the grouping (Indian grouping, 1,00,000, for ``hi`` and
``en-in``, which Django's formats do not have). A handful of currencies are written with their
symbol (:data:`SYMBOLS`), before the amount or, in the languages of :data:`SYMBOL_AFTER`, after
it; every other currency with its ISO code after the amount.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats, numberformat, translation

from .money import amount_text

__all__ = ["GROUPING", "SYMBOLS", "SYMBOL_AFTER", "format_money", "group_digits"]

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "inr": "₹", "jpy": "¥"}
#: Languages that write the currency symbol after the amount, with a space.
SYMBOL_AFTER = frozenset({"de", "fr", "es", "it", "pt", "pl", "cs", "sk", "sv", "fi", "da", "nb", "nn", "ru", "uk",
                          "tr"})
#: Indian digit grouping (1,00,000), which Django's formats do not have.
GROUPING = {"en-in": (3, 2, 0), "hi": (3, 2, 0)}
NBSP = "\u00a0"


def group_digits(digits: str, language: str | None = None) -> str:
    """``'1234567.50'`` with the separators and grouping of ``language`` (default: the active
    one): ``'1,234,567.50'``, ``'12,34,567.50'`` (hi), ``'1.234.567,50'`` (de). Only the
    separators change: the digits are shown as they are."""
    language = (language or translation.get_language() or "en-us").lower()
    return numberformat.format(
        digits,
        formats.get_format("DECIMAL_SEPARATOR", language),
        grouping=GROUPING.get(language, formats.get_format("NUMBER_GROUPING", language)),
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR", language),
        force_grouping=True,
    )


def format_money(amount: Decimal, currency: str, language: str | None = None) -> str:
    """``amount`` in ``currency`` for people, in ``language`` (default: the active one).

    Never raises for stored data: like ``format_amount``, an unknown currency is shown with
    two places and its code, and an amount finer than its currency allows is shown exactly.
    A negative amount (a net below zero) keeps its sign in front: ``-$5.00``.
    """
    language = (language or translation.get_language() or "en-us").lower()
    code = currency.strip().lower() if isinstance(currency, str) else str(currency)
    digits = amount_text(abs(amount), code)
    sign = "-" if amount.is_signed() and not amount.is_zero() else ""
    grouped = group_digits(digits, language)
    symbol = SYMBOLS.get(code)
    if symbol is None:
        return f"{sign}{grouped}{NBSP}{code.upper()}"
    if language.split("-")[0] in SYMBOL_AFTER:
        return f"{sign}{grouped}{NBSP}{symbol}"
    return f"{sign}{symbol}{grouped}"
