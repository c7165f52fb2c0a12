"""Print the staff analytics of a range: what ``GET analytics/`` answers, for cron or e-mail.
Money counts on the day it moved (a payment, what its coupon took off it and the tax in it, on
the day it succeeded, a refund on the day it was made), the counts are of the payments created in
the range.

    manage.py apranova_report                                  # the last 30 days, by day
    manage.py apranova_report --from 2026-11-01 --to 2026-11-30
    manage.py apranova_report --interval month --format csv > months.csv
    manage.py apranova_report --format json

The table gives the totals per currency and the failure codes (``-v 2`` adds the series),
control characters escaped (``\\x1b``: a failure code comes from Stripe's payload and must
not drive the terminal); ``json`` is the endpoint's body and ``csv`` has a row per currency and
period, then a total row per currency, both exact. ``-v 0`` leaves out the table's heading
and notes (json and csv never have any).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from ...analytics import INTERVALS, MAX_PERIODS, CurrencyFigures, RangeError, Report, ReportRange, report_time_zone
from ...exports import csv_lines
from ...models import Payment
from ..base import PaymentsCommand, clean, day, printable

FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("period", "currency", "gross", "refunded", "net", "discounts", "tax", "payments", "succeeded",
               "failed", "canceled", "disputed")
TABLE_COLUMNS = ("currency", "gross", "refunded", "net", "discounts", "tax", "payments", "succeeded", "failed",
                 "canceled", "disputed", "success")


class Command(PaymentsCommand):
    help = (
        "Print a range's figures per currency, as a table, JSON or CSV: the money that moved in it (gross on "
        "the day payments succeeded, refunded on the day refunds were made, net, the discounts coupons "
        "took off the payments in gross and the tax collected in gross) and the payments created in "
        "it (counts by status, disputed, failure codes). Dates are local, in TIME_ZONE. "
        "-v 0 prints the figures alone, -v 2 adds the series per period."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", type=day, metavar="YYYY-MM-DD",
                            help="First day (inclusive). Default: 30 days before --to (12 months by month).")
        parser.add_argument("--to", dest="date_to", type=day, metavar="YYYY-MM-DD",
                            help="Last day (inclusive). Default: today.")
        parser.add_argument("--interval", choices=INTERVALS, default="day",
                            help=f"Periods of the series: day (at most {MAX_PERIODS['day']}) or month "
                                 f"(at most {MAX_PERIODS['month']}). Default: day.")
        parser.add_argument("--format", choices=FORMATS, default="table", help="Default: table.")

    def handle(self, *args: Any, **options: Any) -> None:
        date_from = clean("--from", options["date_from"], day)
        date_to = clean("--to", options["date_to"], day)
        for option, value, allowed in (("--interval", options["interval"], INTERVALS),
                                       ("--format", options["format"], FORMATS)):
            if value not in allowed:
                raise CommandError(f"Error: argument {option}: invalid choice: {value!r} "
                                   f"(choose from {', '.join(allowed)})")
        try:
            found = ReportRange.of(date_from, date_to, options["interval"])
        except RangeError as exc:
            raise CommandError(f"Error: argument --{exc.field}: {exc.message}") from None
        report = Payment.objects.analytics(found.date_from, found.date_to, found.interval)
        {"table": self._table, "json": self._json, "csv": self._csv}[options["format"]](report)

    def _json(self, report: Report) -> None:
        self.stdout.write(json.dumps(report.as_dict(), indent=2))

    def _csv(self, report: Report) -> None:
        def cells(period: str, figures: CurrencyFigures) -> list[Any]:
            shown = CurrencyFigures.as_dict(figures)  # every figure, a period's too
            return [period, figures.currency, *(shown[name] for name in CSV_COLUMNS[2:])]

        rows: list[list[Any]] = [list(CSV_COLUMNS)]
        rows += [cells(row.period.isoformat(), row) for row in report.series]
        rows += [cells("total", figures) for figures in report.currencies.values()]
        for line in csv_lines(rows):
            self.stdout.write(line, ending="")

    def _table(self, report: Report) -> None:
        found = report.range
        zone = report_time_zone()
        self.say(f"Figures of {found.date_from} to {found.date_to}"
                 f"{f' ({zone})' if zone is not None else ''}, by {found.interval}")
        if not report.currencies:
            self.say("No payment created, succeeded or refunded.")
            return
        rows = [TABLE_COLUMNS, *(_table_row(figures) for figures in report.currencies.values())]
        for line in _aligned(rows):
            self.stdout.write(printable(line))
        if report.failure_codes:
            codes = ", ".join(f"{item.code or '(no code)'} {item.count}" for item in report.failure_codes)
            self.say(f"Failure codes: {codes}")
        if self.verbosity >= 2:
            series = [("period", *TABLE_COLUMNS[:-3])] + [
                (row.period.isoformat(), *_table_row(row)[:-3]) for row in report.series]
            self.detail("")
            for line in _aligned(series):
                self.detail(line)


def _table_row(figures: CurrencyFigures) -> tuple[str, ...]:
    shown = CurrencyFigures.as_dict(figures)
    rate = figures.success_rate
    return (figures.currency.upper(), *(str(shown[name]) for name in TABLE_COLUMNS[1:-1]),
            "—" if rate is None else f"{rate:.1%}")


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Text columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
            strict=True))).rstrip() for row in rows]
