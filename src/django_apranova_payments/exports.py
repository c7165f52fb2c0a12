"""CSV exports of payments (streamed a chunk of rows at a time) and of new coupon codes, safe
to open in a spreadsheet (a cell that would start a formula is prefixed with ``'``, also when
spaces come first: spreadsheets skip them; a plain number such as a negative net is left a
number)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from . import money

#: What a spreadsheet may read as the start of a formula (OWASP's "CSV injection"), also after
#: leading whitespace; the full-width forms too, which some spreadsheets read as the others.
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: A cell starting with one of these is prefixed whatever follows: a line break or tab at the
#: start hides what comes after it, and some spreadsheets strip it and read the rest.
BREAK_STARTS = ("\t", "\r", "\n")
#: A plain number (``-30.00``: a net can be negative), which no spreadsheet reads as a formula.
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: Rows fetched from the database at a time: the most an export holds in memory.
CHUNK_SIZE = 2000
PAYMENT_COLUMNS = ("id", "payment_intent", "user", "amount", "currency", "status", "amount_refunded",
                   "discount", "coupon", "amount_tax", "failure_code", "created")
COUPON_COLUMNS = ("code", "discount", "valid_from", "valid_until", "max_redemptions", "description")


def safe_cell(value: Any) -> str:
    """``value`` as CSV text that no spreadsheet runs: ``=1+1`` becomes ``'=1+1``."""
    text = "" if value is None else str(value)
    if NUMBER.fullmatch(text):
        return text
    return f"'{text}" if text.startswith(BREAK_STARTS) or text.lstrip().startswith(FORMULA_STARTS) else text


class _Line:
    """A file whose ``write`` returns what it was given: ``csv.writer`` then yields lines."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Each row as one CSV line, every cell through ``safe_cell``."""
    writer = csv.writer(_Line())
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def payment_rows(payments: QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per payment of ``payments``, read ``CHUNK_SIZE`` at a time as
    plain values (no model instances): amounts with their currency's decimals (``discount``:
    what the coupon took off, ``amount`` being what was charged; ``amount_tax``: the tax inside
    ``amount``), the coupon's code (empty without one), the creation time in the host's time
    zone."""
    yield PAYMENT_COLUMNS
    user_field = f"user__{get_user_model().USERNAME_FIELD}"
    values = payments.values_list("pk", "stripe_payment_intent", user_field, "amount", "currency", "status",
                                  "amount_refunded", "discount", "coupon__code", "amount_tax", "failure_code",
                                  "created_at")
    for pk, intent, user, amount, currency, status, refunded, discount, coupon, tax, failure_code, created in (
            values.iterator(chunk_size=CHUNK_SIZE)):
        yield (pk, intent, user, money.amount_text(amount, currency), currency, status,
               money.amount_text(refunded, currency), money.amount_text(discount, currency), coupon or "",
               money.amount_text(tax, currency), failure_code, _local(created))


def coupon_rows(coupons: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """The header, then one row per coupon: its code, the discount described, its dates in the
    host's time zone (empty: no bound) and its limit."""
    yield COUPON_COLUMNS
    for coupon in coupons:
        yield (coupon.code, coupon.describe(), _local(coupon.valid_from) if coupon.valid_from else "",
               _local(coupon.valid_until) if coupon.valid_until else "", coupon.max_redemptions, coupon.description)


def _local(moment: datetime) -> str:
    return (timezone.localtime(moment, timezone.get_default_timezone()) if settings.USE_TZ else moment).isoformat()
