"""``{{ course.price|price:course.currency }}``: a price as a reader of the active language
writes it, ``$19.99``, ``₹4,999.00``, ``49,00 €`` (``{% load prices %}``).

It is the package's ``django_apranova_payments.money_display.format_money``, the one way money
is written on every page and in every e-mail (the admin's too): the exact decimal places of
the currency (none for JPY, three for KWD), never rounded, with the separators and grouping of
the active language, and the currency's symbol (or its ISO code, ``12.500 KWD``).
"""

from __future__ import annotations

from decimal import Decimal

from django import template

from django_apranova_payments.money_display import format_money

register = template.Library()


@register.filter
def price(amount: Decimal | str | int, currency: str) -> str:
    """``amount`` in ``currency`` for the active language."""
    return format_money(Decimal(amount), currency)
