"""Staff analytics: payments counted per currency and per day or month, in the host's
``TIME_ZONE``. Money is never added across currencies.

The figures are ``Payment.objects`` queryset methods (``AnalyticsQuerySet`` is a base of
``PaymentQuerySet``), so host code narrows the payments first and counts after::

    Payment.objects.filter(livemode=True).analytics(date(2026, 11, 1), date(2026, 11, 30)).currencies
    Payment.objects.analytics(date(2026, 11, 1), date(2026, 11, 30), interval="day").as_dict()

One definition serves every surface (the endpoint, the admin page, ``apranova_report`` and
``revenue_by_*``). Money counts on the local day it moved: ``gross`` sums the succeeded
payments on the day they succeeded (``succeeded_at``), ``refunded`` their succeeded refunds
on the day each was made (the ``Refund``'s ``created_at``), ``net`` the difference;
``discounts`` sums what coupons took off the payments counted in ``gross``, on the same day
(never charged, so not revenue: ``net`` does not subtract it); ``tax`` sums the tax inside the
payments counted in ``gross`` (``amount_tax``), on the same day: what was collected, part of
``gross`` and ``net``, and left as it is by refunds (Stripe reverses a refund's share of the
tax on its side). The counts are of the payments created in the range. ``analytics()`` reads a
range in four statements,
each an index range scan: the counts per period, currency and status (``created_at``,
migration 0006), the money per period and currency (``succeeded_at`` and the refunds'
``created_at``, migrations 0010 and 0015, one ``UNION ALL``; the discounts and the tax are
summed with ``gross``), the disputed payments and the failure codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Self, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Count, DecimalField, F, Sum, Value
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
#: The other kind's amounts in a row of money (a payment's row has no refund; a refund's row has
#: no gross, no discount and no tax).
_NONE = Value(_ZERO, output_field=DecimalField(max_digits=14, decimal_places=2))
#: The amounts of a row of money.
_MONEY_COLUMNS = ("gross", "refunded", "discounts", "tax")
#: A range as moments: from (inclusive) to (exclusive).
Bounds = tuple[datetime, datetime]


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
    """One currency's figures. Amounts are major units, counted on the day the money moved:
    ``gross`` the payments that succeeded, ``refunded`` the refunds that succeeded,
    ``discounts`` what coupons took off the payments in ``gross`` (not revenue: it was never
    charged, so ``net`` is ``gross - refunded``), ``tax`` the tax collected inside the payments
    in ``gross`` (part of ``gross`` and ``net``; refunds leave it as it is). The counts are of
    the payments created."""

    currency: str
    gross: Decimal = _ZERO
    refunded: Decimal = _ZERO
    discounts: Decimal = _ZERO
    tax: Decimal = _ZERO
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

    def add_count(self, status: str, count: int) -> None:
        self.payments += count
        if status in ("succeeded", "failed", "canceled"):
            setattr(self, status, getattr(self, status) + count)

    def add_money(self, gross: Decimal, refunded: Decimal, discounts: Decimal, tax: Decimal) -> None:
        self.gross += gross
        self.refunded += refunded
        self.discounts += discounts
        self.tax += tax

    def as_dict(self) -> dict[str, Any]:
        return {
            "gross": money.amount_text(self.gross, self.currency),
            "refunded": money.amount_text(self.refunded, self.currency),
            "net": money.amount_text(self.net, self.currency),
            "discounts": money.amount_text(self.discounts, self.currency),
            "tax": money.amount_text(self.tax, self.currency),
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
            **{key: figures[key] for key in ("gross", "refunded", "net", "discounts", "tax", "succeeded", "failed")},
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
    the payments of this queryset, and the money they and their refunds moved; narrow it first
    (``filter``), and give ``analytics()`` the range."""

    def created_between(self, date_from: date, date_to: date) -> Self:
        """Payments created from ``date_from`` to ``date_to``, both inclusive, local dates in
        the host's ``TIME_ZONE``."""
        start, end = ReportRange(date_from, date_to).bounds()
        return self.filter(created_at__gte=start, created_at__lt=end)

    def figures_by_currency(self) -> dict[str, CurrencyFigures]:
        """``{"usd": CurrencyFigures(...), ...}``, sorted: every payment of this queryset
        counted, and all the money they ever moved."""
        counts, moved = self._counts(), self._money()
        totals = _currencies(row["currency"] for row in [*counts, *moved])
        _tally(counts, moved, lambda row: totals[row["currency"]])
        for currency, count in self.disputed_counts().items():
            totals[currency].disputed = count
        return totals

    def figures_by_period(self, interval: str = "day") -> list[PeriodFigures]:
        """The figures per period (local day, or month starting on its first) and currency,
        oldest first; only the periods where something happened (``analytics()`` fills in the
        others). A payment is counted in the period it was created, its money in the period it
        moved."""
        if interval not in _TRUNC:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
        found: dict[tuple[date, str], PeriodFigures] = {}

        def figures_of(row: dict[str, Any]) -> PeriodFigures:
            key = (row["period"], row["currency"])
            return found.setdefault(key, PeriodFigures(currency=key[1], period=key[0]))

        _tally(self._counts(interval), self._money(interval), figures_of)
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
        """The report of ``GET analytics/`` for the range (defaults and ``RangeError`` as
        ``ReportRange.of``): the payments of this queryset created in it, and the money they
        and their refunds moved in it. Totals per currency, a series per currency with every
        period of the range (zeros where nothing happened), and the failure codes."""
        found = ReportRange.of(date_from, date_to, interval)
        counts, moved = self._counts(found.interval, found.bounds()), self._money(found.interval, found.bounds())
        currencies = _currencies(row["currency"] for row in [*counts, *moved])
        series = {(period, code): PeriodFigures(currency=code, period=period)
                  for period in found.periods() for code in currencies}
        _tally(counts, moved, lambda row: currencies[row["currency"]])
        _tally(counts, moved, lambda row: series[found.period_of(row["period"]), row["currency"]])
        for row in self._disputed(found.interval, found.bounds()):
            currencies[row["currency"]].disputed += row["count"]
            series[found.period_of(row["period"]), row["currency"]].disputed += row["count"]
        created = self.created_between(found.date_from, found.date_to)
        return Report(found, currencies, [series[key] for key in sorted(series)], created.failure_code_counts())

    def _disputed(self, interval: str, bounds: Bounds) -> list[dict[str, Any]]:
        """The disputed payments (at least one dispute, whatever its outcome) per local period
        of ``created_at`` and currency, within ``bounds``: as counted in the period they were
        created, so the periods add up to the range's total."""
        disputed = self.filter(disputes__isnull=False, created_at__gte=bounds[0], created_at__lt=bounds[1])
        rows = disputed.order_by().values(**_keys("created_at", interval)).annotate(count=Count("pk", distinct=True))
        return [{**row, "currency": row["of_currency"]} for row in rows]

    def _paid(self, interval: str | None = None, bounds: Bounds | None = None) -> models.QuerySet[Any]:
        """``gross``, ``discounts`` and ``tax``: the succeeded payments per currency (and local
        period of ``succeeded_at``, with ``interval``), as ``{"period", "of_currency", "gross",
        "refunded": 0, "discounts", "tax", "count"}``; within ``bounds`` when given, from an
        index range scan of ``apranova_pay_paid_tax_figs_idx``."""
        paid = self.filter(status="succeeded", succeeded_at__isnull=False)
        if bounds is not None:
            paid = paid.filter(succeeded_at__gte=bounds[0], succeeded_at__lt=bounds[1])
        keys = _keys("succeeded_at", interval)
        return paid.order_by().values(**keys).annotate(gross=Sum("amount"), refunded=_NONE,
                                                      discounts=Sum("discount"), tax=Sum("amount_tax"),
                                                      count=Count("*"))

    def _refunded(self, interval: str | None = None, bounds: Bounds | None = None) -> models.QuerySet[Any]:
        """``refunded``: the succeeded refunds of these payments per currency (and local period
        of the refund's ``created_at``), the columns of ``_paid()``; from an index range scan of
        ``apranova_ref_created_figs_idx``."""
        within = {} if bounds is None else {"refunds__created_at__gte": bounds[0], "refunds__created_at__lt": bounds[1]}
        refunds = self.filter(refunds__status="succeeded", **within)
        keys = _keys("refunds__created_at", interval)
        return refunds.order_by().values(**keys).annotate(gross=_NONE, refunded=Sum("refunds__amount"),
                                                          discounts=_NONE, tax=_NONE, count=Value(0))

    def _money(self, interval: str | None = None, bounds: Bounds | None = None) -> list[dict[str, Any]]:
        """The payments' and refunds' money, one statement: a row per (period,) currency and kind."""
        rows = self._paid(interval, bounds).union(self._refunded(interval, bounds), all=True).order_by()
        return [{**row, "currency": row["of_currency"],
                 **{key: money.quantize_for_storage(row[key]) for key in _MONEY_COLUMNS}}
                for row in rows]

    def _counts(self, interval: str | None = None, bounds: Bounds | None = None) -> list[dict[str, Any]]:
        """One ``GROUP BY`` of the local period of ``created_at`` (with ``interval``), currency
        and status, within ``bounds`` when given: an index-only scan of
        ``apranova_pay_created_figs_idx``. The period is grouped (so sorted) first, as the
        index returns the rows: the grouped columns are annotations, which keep their order."""
        payments = self if bounds is None else self.filter(created_at__gte=bounds[0], created_at__lt=bounds[1])
        keys = _keys("created_at", interval) | {"of_status": F("status")}
        rows = payments.order_by().values(**keys).annotate(count=Count("*"))
        return [{**row, "currency": row["of_currency"], "status": row["of_status"]} for row in rows]


def _keys(moment: str, interval: str | None) -> dict[str, Any]:
    """What to group by: the local period of ``moment`` (with ``interval``), then the currency."""
    keys: dict[str, Any] = {}
    if interval is not None:
        keys["period"] = _TRUNC[interval](moment, tzinfo=report_time_zone(), output_field=models.DateField())
    return keys | {"of_currency": F("currency")}


def _tally(counts: list[dict[str, Any]], moved: list[dict[str, Any]],
           figures_of: Callable[[dict[str, Any]], CurrencyFigures]) -> None:
    """Adds the counts and the money rows to the figures ``figures_of`` picks for each."""
    for row in counts:
        figures_of(row).add_count(row["status"], row["count"])
    for row in moved:
        figures_of(row).add_money(row["gross"], row["refunded"], row["discounts"], row["tax"])


def _currencies(codes: Iterable[str]) -> dict[str, CurrencyFigures]:
    return {code: CurrencyFigures(code) for code in sorted(set(codes))}


__all__ = [
    "INTERVALS", "MAX_PERIODS", "AnalyticsQuerySet", "CurrencyFigures", "FailureCount", "PeriodFigures",
    "RangeError", "Report", "ReportRange", "local_today",
]
