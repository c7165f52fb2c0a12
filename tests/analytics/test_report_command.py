"""``manage.py apranova_report``: the figures of ``GET analytics/`` as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from django_apranova_payments.management.commands.apranova_report import Command
from django_apranova_payments.models import Dispute, Payment
from tests.factories import dated_payment, discounted_payment


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apranova_report", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


made = dated_payment


@pytest.fixture
def november(db: Any) -> None:
    discounted_payment(datetime(2026, 11, 1, 9, tzinfo=UTC), "999.00", "250.00", refunded="99.00",
                       amount_tax=Decimal("166.50"))
    made(datetime(2026, 11, 2, 9, tzinfo=UTC), "1000", "jpy", amount_tax=Decimal("91"))
    made(datetime(2026, 11, 2, 10, tzinfo=UTC), "49.00", status="failed", failure_code="card_declined")
    made(datetime(2026, 11, 2, 11, tzinfo=UTC), "49.00", status="failed", failure_code="=HYPERLINK(\"x\")")


def test_json_is_the_endpoints_body(november):
    out, _ = run("--from", "2026-11-01", "--to", "2026-11-02", "--format", "json")
    body = json.loads(out)
    assert body == Payment.objects.analytics(datetime(2026, 11, 1).date(), datetime(2026, 11, 2).date()).as_dict()
    assert body["currencies"]["usd"]["net"] == "900.00"


def test_the_table_has_a_line_per_currency_and_the_failure_codes(november):
    out, _ = run("--from", "2026-11-01", "--to", "2026-11-02")
    lines = out.splitlines()
    assert lines[0] == "Figures of 2026-11-01 to 2026-11-02 (UTC), by day"
    assert lines[1].split() == ["currency", "gross", "refunded", "net", "discounts", "tax", "payments",
                                "succeeded", "failed", "canceled", "disputed", "success"]
    assert lines[2].split() == ["JPY", "1000", "0", "1000", "0", "91", "1", "1", "0", "0", "0", "100.0%"]
    assert lines[3].split() == ["USD", "999.00", "99.00", "900.00", "250.00", "166.50", "3", "1", "2", "0", "0",
                                "33.3%"]
    assert lines[4] == 'Failure codes: =HYPERLINK("x") 1, card_declined 1'
    assert len(lines) == 5


def test_verbosity_2_adds_the_series_and_0_leaves_only_the_figures(november):
    detailed, _ = run("--from", "2026-11-01", "--to", "2026-11-02", verbosity=2)
    series = [line.split() for line in detailed.splitlines() if line.startswith("    ")]
    assert series[1] == ["period", "currency", "gross", "refunded", "net", "discounts", "tax", "payments",
                         "succeeded", "failed"]
    assert series[2] == ["2026-11-01", "JPY", "0", "0", "0", "0", "0", "0", "0", "0"]
    assert series[3] == ["2026-11-01", "USD", "999.00", "99.00", "900.00", "250.00", "166.50", "1", "1", "0"]
    assert series[-2] == ["2026-11-02", "JPY", "1000", "0", "1000", "0", "91", "1", "1", "0"]
    assert series[-1] == ["2026-11-02", "USD", "0.00", "0.00", "0.00", "0.00", "0.00", "2", "0", "2"]
    quiet, _ = run("--from", "2026-11-01", "--to", "2026-11-02", verbosity=0)
    assert [line.split()[0] for line in quiet.splitlines()] == ["currency", "JPY", "USD"]


def test_csv_has_a_row_per_period_and_currency_then_the_totals(november):
    out, _ = run("--from", "2026-11-01", "--to", "2026-11-02", "--interval", "day", "--format", "csv")
    rows = list(csv.reader(StringIO(out)))
    assert rows[0] == ["period", "currency", "gross", "refunded", "net", "discounts", "tax", "payments",
                       "succeeded", "failed", "canceled", "disputed"]
    assert rows[1:] == [
        ["2026-11-01", "jpy", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"],
        ["2026-11-01", "usd", "999.00", "99.00", "900.00", "250.00", "166.50", "1", "1", "0", "0", "0"],
        ["2026-11-02", "jpy", "1000", "0", "1000", "0", "91", "1", "1", "0", "0", "0"],
        ["2026-11-02", "usd", "0.00", "0.00", "0.00", "0.00", "0.00", "2", "0", "2", "0", "0"],
        ["total", "jpy", "1000", "0", "1000", "0", "91", "1", "1", "0", "0", "0"],
        ["total", "usd", "999.00", "99.00", "900.00", "250.00", "166.50", "3", "1", "2", "0", "0"],
    ]


def test_csv_counts_the_disputed_payments_of_each_period(november):
    """A payment with disputes counts once, in the period it was created (the totals'
    definition), so the periods add up to the total."""
    first, second = Payment.objects.filter(currency="usd").order_by("created_at")[:2]
    for payment, number, status in ((first, 1, "needs_response"), (first, 2, "lost"), (second, 3, "won")):
        Dispute.objects.create(payment=payment, stripe_dispute=f"dp_{number}", amount=payment.amount,
                               currency="usd", status=status)

    out, _ = run("--from", "2026-11-01", "--to", "2026-11-02", "--format", "csv")

    disputed = {(row[0], row[1]): row[-1] for row in list(csv.reader(StringIO(out)))[1:]}
    assert disputed == {("2026-11-01", "jpy"): "0", ("2026-11-01", "usd"): "1", ("2026-11-02", "jpy"): "0",
                        ("2026-11-02", "usd"): "1", ("total", "jpy"): "0", ("total", "usd"): "2"}
    by_month, _ = run("--from", "2026-11-01", "--to", "2026-11-30", "--interval", "month", "--format", "csv")
    assert [row[-1] for row in csv.reader(StringIO(by_month))][1:] == ["0", "2", "0", "2"]


def test_an_empty_range_says_so(db):
    out, _ = run("--from", "2026-11-01", "--to", "2026-11-02")
    assert out.splitlines()[1] == "No payment created, succeeded or refunded."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "yesterday"), "Error: argument --from: takes a date, YYYY-MM-DD, not 'yesterday'"),
        (("--from", "2026-11-02", "--to", "2026-11-01"),
         "Error: argument --to: Must be on or after from (2026-11-02)."),
        (("--from", "2020-01-01", "--to", "2026-11-01"),
         "Error: argument --to: A range by day covers at most 366 days; this one covers 2497. "
         "Use interval=month for a longer range."),
    ],
)
def test_bad_arguments_are_one_line_command_errors(db, args, message):
    with pytest.raises(CommandError) as raised:
        run(*args)
    assert str(raised.value) == message


def test_bad_keyword_options_are_command_errors_too(db):
    with pytest.raises(CommandError, match="argument --to: takes a date"):
        call_command("apranova_report", date_to="soon", stdout=StringIO())
    with pytest.raises(CommandError, match="argument --format: invalid choice: 'xml'"):
        call_command("apranova_report", format="xml", stdout=StringIO())


def test_a_bad_date_on_the_command_line_is_argparses_error(db, capsys):
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "apranova_report", "--to", "2026-02-30"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "manage.py apranova_report: error: argument --to: takes a date, YYYY-MM-DD, not '2026-02-30'")


#: A host without ``django.contrib.admin``, migrated, running the report as CSV.
WITHOUT_THE_ADMIN = """
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "rest_framework", "django_apranova_payments"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    USE_TZ=True,
    APRANOVA_PAYMENTS={"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
                       "STRIPE_WEBHOOK_SECRET": "whsec_x"},
)
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("apranova_report", "--format", "csv")
"""


def test_the_report_runs_where_the_admin_is_not_installed():
    """The CSV comes from ``exports``, not from the admin, which needs ``django.contrib.admin``."""
    done = subprocess.run([sys.executable, "-c", WITHOUT_THE_ADMIN], cwd=Path(__file__).resolve().parents[2],  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("period,currency,")
