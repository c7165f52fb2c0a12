"""Staff analytics: payments counted per currency and per day or month, in the host's
``TIME_ZONE``. Money is never added across currencies.

The figures are ``Payment.objects`` queryset methods (``AnalyticsQuerySet`` is a base of
``PaymentQuerySet``), so host code narrows the payments first and counts after::

    Payment.objects.filter(livemode=True).created_between(date(2026, 11, 1), date(2026, 11, 30)).figures_by_currency()
    Payment.objects.analytics(date(2026, 11, 1), date(2026, 11, 30), interval="day").as_dict()

A payment counts on the day it was created (local). ``gross`` sums the succeeded payments,
``refunded`` their succeeded refunds (``amount_refunded``), ``net`` the difference.
``analytics()`` reads one range in three statements, each an index range scan on
``created_at`` (migration 0006): the figures per period, currency and status (the totals
per currency are their sums), the disputed payments, and the failure codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Self, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDay, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from . import money

#: The periods a report may be split into.
INTERVALS = ("day", "month")
#: The longest range of each interval: a year of days (a leap year's too), ten years of months.
MAX_PERIODS = {"day": 366, "month": 120}
#: Without ``from``: the 30 days up to ``to`` by day, the 12 months up to ``to``'s by month.
DEFAULT_PERIODS = {"day": 30, "month": 12}
#: The dates a range may name (the end of a range is the next midnight, which must exist).
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(9999, 12, 30)

_TRUNC = {"day": TruncDay, "month": TruncMonth}
_ZERO = Decimal("0.00")


class RangeError(ValueError):
    """A range that cannot be reported: ``field`` (``from``, ``to`` or ``interval``) and a
    message that can be shown as it is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def report_time_zone() -> tzinfo | None:
    """The host's ``TIME_ZONE`` (never the one a request activated); ``None`` without ``USE_TZ``."""
    return timezone.get_default_timezone() if settings.USE_TZ else None


def local_today() -> date:
    tz = report_time_zone()
    return timezone.localdate(timezone=tz) if tz is not None else date.today()


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class ReportRange:
    """Local dates ``date_from`` to ``date_to``, both inclusive, split by ``interval``."""

    date_from: date
    date_to: date
    interval: str = "day"

    @classmethod
    def of(cls, date_from: date | None = None, date_to: date | None = None, interval: str | None = None, *,
           today: date | None = None) -> Self:
        """The range asked for, with the defaults filled in: ``to`` today, ``from`` 30 days
        (by day) or 12 months (by month) back. ``RangeError`` for a range that cannot be
        reported: an unknown interval, ``from`` after ``to``, more than ``MAX_PERIODS``."""
        interval = interval or "day"
        if interval not in INTERVALS:
            raise RangeError("interval", _("Must be one of: %(values)s.") % {"values": ", ".join(INTERVALS)})
        for name, value in (("from", date_from), ("to", date_to)):
            if value is not None and not FIRST_DATE <= value <= LAST_DATE:
                raise RangeError(name, _("Must be a date from %(first)s to %(last)s.") % {
                    "first": FIRST_DATE, "last": LAST_DATE})
        date_to = date_to or min(today or local_today(), LAST_DATE)
        if date_from is None:
            back = DEFAULT_PERIODS[interval] - 1
            date_from = date_to - timedelta(days=back) if interval == "day" else add_months(date_to, -back)
            date_from = max(date_from, FIRST_DATE)
        if date_from > date_to:
            raise RangeError("to", _("Must be on or after from (%(date)s).") % {"date": date_from})
        found = cls(date_from, date_to, interval)
        periods, most = found.period_count(), MAX_PERIODS[interval]
        if periods > most:
            if interval == "day":
                text = _("A range by day covers at most %(most)d days; this one covers %(periods)d. "
                         "Use interval=month for a longer range.")
            else:
                text = _("A range by month covers at most %(most)d months; this one covers %(periods)d.")
            raise RangeError("to", text % {"most": most, "periods": periods})
        return found

    def bounds(self) -> tuple[datetime, datetime]:
        """From the first day's midnight to the midnight after the last day, local time."""
        return local_midnight(self.date_from), local_midnight(self.date_to + timedelta(days=1))

    def period_of(self, day: date) -> date:
        return day if self.interval == "day" else month_start(day)

    def period_count(self) -> int:
        """How many periods the range has (counted, not listed: a hostile range of 8,000 years
        is refused without building it)."""
        if self.interval == "day":
            return (self.date_to - self.date_from).days + 1
        first, last = self.date_from, self.date_to
        return (last.year - first.year) * 12 + last.month - first.month + 1

    def periods(self) -> list[date]:
        """Every period of the range, oldest first: each day, or the first of each month."""
        if self.interval == "day":
            return [self.date_from + timedelta(days=n) for n in range(self.period_count())]
        return [add_months(self.date_from, n) for n in range(self.period_count())]


def local_midnight(day: date) -> datetime:
    """Midnight starting ``day`` in the host's time zone (aware when ``USE_TZ``)."""
    moment = datetime.combine(day, time.min)
    tz = report_time_zone()
    return timezone.make_aware(moment, tz) if tz is not None else moment


@dataclass
class CurrencyFigures:
    """One currency's figures. Amounts are major units; ``gross`` and ``refunded`` cover the
    succeeded payments only."""

    currency: str
    gross: Decimal = _ZERO
    refunded: Decimal = _ZERO
    payments: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0
    disputed: int = 0

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded

    @property
    def success_rate(self) -> float | None:
        """Succeeded out of the payments that ended (succeeded, failed or canceled); ``None``
        when none has ended."""
        ended = self.succeeded + self.failed + self.canceled
        return self.succeeded / ended if ended else None

    def add(self, status: str, count: int, amount: Decimal | None, refunded: Decimal | None) -> None:
        self.payments += count
        if status == "succeeded":
            self.succeeded += count
            self.gross += amount or _ZERO
            self.refunded += refunded or _ZERO
        elif status in ("failed", "canceled"):
            setattr(self, status, getattr(self, status) + count)

    def as_dict(self) -> dict[str, Any]:
        return {
            "gross": money.amount_text(self.gross, self.currency),
            "refunded": money.amount_text(self.refunded, self.currency),
            "net": money.amount_text(self.net, self.currency),
            "payments": self.payments, "succeeded": self.succeeded, "failed": self.failed,
            "canceled": self.canceled, "disputed": self.disputed,
        }


@dataclass
class PeriodFigures(CurrencyFigures):
    """A currency's figures in one period (a day, or a month starting on ``period``)."""

    period: date = date.min

    def as_dict(self) -> dict[str, Any]:
        figures = super().as_dict()
        return {
            "period": self.period.isoformat(), "currency": self.currency,
            **{key: figures[key] for key in ("gross", "refunded", "net", "succeeded", "failed")},
        }


@dataclass(frozen=True)
class FailureCount:
    code: str | None  # None: failed without a code
    count: int


@dataclass
class Report:
    """Everything ``GET analytics/`` answers, for one range."""

    range: ReportRange
    currencies: dict[str, CurrencyFigures] = field(default_factory=dict)
    series: list[PeriodFigures] = field(default_factory=list)
    failure_codes: list[FailureCount] = field(default_factory=list)

    def series_of(self, currency: str) -> list[PeriodFigures]:
        return [row for row in self.series if row.currency == currency]

    def as_dict(self) -> dict[str, Any]:
        """The endpoint's JSON: amounts as decimal strings with the currency's decimals."""
        return {
            "from": self.range.date_from.isoformat(),
            "to": self.range.date_to.isoformat(),
            "interval": self.range.interval,
            "currencies": {code: figures.as_dict() for code, figures in self.currencies.items()},
            "series": [row.as_dict() for row in self.series],
            "failureCodes": [{"code": item.code, "count": item.count} for item in self.failure_codes],
        }


_M = TypeVar("_M", bound=models.Model)


class AnalyticsQuerySet(models.QuerySet[_M]):
    """The figures of ``Payment.objects`` (a base of ``PaymentQuerySet``). Each method counts
    the payments of this queryset; narrow it first (``created_between``, ``filter``)."""

    def created_between(self, date_from: date, date_to: date) -> Self:
        """Payments created from ``date_from`` to ``date_to``, both inclusive, local dates in
        the host's ``TIME_ZONE``."""
        start, end = ReportRange(date_from, date_to).bounds()
        return self.filter(created_at__gte=start, created_at__lt=end)

    def figures_by_currency(self) -> dict[str, CurrencyFigures]:
        """``{"usd": CurrencyFigures(...), ...}``: every currency with a payment, sorted."""
        rows = self._grouped()
        totals = _currencies(row["currency"] for row in rows)
        for row in rows:
            totals[row["currency"]].add(row["status"], row["count"], row["gross"], row["refunded"])
        for currency, count in self.disputed_counts().items():
            totals[currency].disputed = count
        return totals

    def figures_by_period(self, interval: str = "day") -> list[PeriodFigures]:
        """The figures per period (local day, or month starting on its first) and currency,
        oldest first; only the periods with payments (``analytics()`` fills in the others)."""
        if interval not in _TRUNC:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
        rows = self._grouped(interval)
        found: dict[tuple[date, str], PeriodFigures] = {}
        for row in rows:
            key = (row["period"], row["currency"])
            figures = found.setdefault(key, PeriodFigures(currency=key[1], period=key[0]))
            figures.add(row["status"], row["count"], row["gross"], row["refunded"])
        return [found[key] for key in sorted(found)]

    def disputed_counts(self) -> dict[str, int]:
        """Payments with at least one dispute (whatever its outcome), per currency."""
        rows = (self.filter(disputes__isnull=False).order_by().values("currency")
                .annotate(count=Count("pk", distinct=True)).values_list("currency", "count"))
        return dict(rows)

    def failure_code_counts(self) -> list[FailureCount]:
        """Failed payments per failure code, most frequent first (``None``: no code)."""
        rows = (self.filter(status="failed").order_by().values("failure_code")
                .annotate(count=Count("*")).values_list("failure_code", "count"))
        counts = [FailureCount(code or None, count) for code, count in rows]
        return sorted(counts, key=lambda item: (-item.count, item.code or ""))

    def analytics(self, date_from: date | None = None, date_to: date | None = None,
                  interval: str | None = None) -> Report:
        """The report of ``GET analytics/`` for the payments of this queryset created in the
        range (defaults and ``RangeError`` as ``ReportRange.of``): totals per currency, a
        series per currency with every period of the range (zeros where nothing happened),
        and the failure codes."""
        found = ReportRange.of(date_from, date_to, interval)
        payments = self.created_between(found.date_from, found.date_to)
        rows = payments._grouped(found.interval)
        currencies = _currencies(row["currency"] for row in rows)
        series = {(period, code): PeriodFigures(currency=code, period=period)
                  for period in found.periods() for code in currencies}
        for row in rows:
            args = (row["status"], row["count"], row["gross"], row["refunded"])
            currencies[row["currency"]].add(*args)
            series[found.period_of(row["period"]), row["currency"]].add(*args)
        for currency, count in payments.disputed_counts().items():
            currencies[currency].disputed = count
        return Report(found, currencies, [series[key] for key in sorted(series)], payments.failure_code_counts())

    def _grouped(self, period: str | None = None) -> list[dict[str, Any]]:
        """One ``GROUP BY`` of the local period (when given), currency and status: the count,
        amount and amount refunded of each group, from an index-only scan of
        ``apranova_pay_created_figs_idx``. The period is grouped (so sorted) first, as the
        index returns the rows: the grouped columns are annotations, which keep their order."""
        keys: dict[str, Any] = {}
        if period is not None:
            keys["period"] = _TRUNC[period]("created_at", tzinfo=report_time_zone(), output_field=models.DateField())
        keys |= {"of_currency": F("currency"), "of_status": F("status")}
        rows = self.order_by().values(**keys).annotate(count=Count("*"), gross=Sum("amount"),
                                                        refunded=Sum("amount_refunded"))
        return [{**row, "currency": row["of_currency"], "status": row["of_status"]} for row in rows]


def _currencies(codes: Iterable[str]) -> dict[str, CurrencyFigures]:
    return {code: CurrencyFigures(code) for code in sorted(set(codes))}


__all__ = [
    "INTERVALS", "MAX_PERIODS", "AnalyticsQuerySet", "CurrencyFigures", "FailureCount", "PeriodFigures",
    "RangeError", "Report", "ReportRange", "local_today",
]
