"""Text from Stripe's payloads (a failure code) reaches the operator's terminal and the staff's
spreadsheets: ``apranova_report`` escapes control characters in its table, keeps CSV and JSON
exact, and the CSV export never hands a spreadsheet a formula."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from django_apranova_payments import exports
from django_apranova_payments.management.base import printable
from tests.factories import PaymentFactory

#: Sets the terminal's window title, then turns the text red.
TITLE_AND_COLOUR = "\x1b]0;pwned\x07\x1b[31m"


def report(*args: str) -> str:
    out = StringIO()
    call_command("apranova_report", "--from", "2026-11-01", "--to", "2026-11-30", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def hostile_failure(db: Any) -> None:
    PaymentFactory(created_at=datetime(2026, 11, 2, 10, tzinfo=UTC), amount=Decimal("49.00"), currency="usd",
                   status="failed", failure_code=TITLE_AND_COLOUR)


# -- apranova_report ---------------------------------------------------------------------------------


@pytest.mark.parametrize("verbosity", ["1", "2"])
def test_the_report_table_escapes_control_characters_of_a_failure_code(hostile_failure, verbosity):
    out = report("-v", verbosity)

    assert "\x1b" not in out and "\x07" not in out
    assert "Failure codes: \\x1b]0;pwned\\x07\\x1b[31m 1" in out


def test_the_report_json_keeps_the_failure_code_exact(hostile_failure):
    body = json.loads(report("--format", "json"))

    assert body["failureCodes"] == [{"code": TITLE_AND_COLOUR, "count": 1}]


def test_the_report_csv_is_unchanged_by_the_escaping(hostile_failure):
    rows = list(csv.reader(StringIO(report("--format", "csv"))))

    assert rows[-1][:2] == ["total", "usd"] and rows[-1][rows[0].index("failed")] == "1"  # one failed payment


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),  # clear the screen
        ("\x9b31m", "\\x9b31m"),  # the 8-bit CSI
        ("ab\u202edc", "ab\\u202edc"),  # right-to-left override: the line would read reversed
        ("a\rb\nc\u2028d", "a\\x0db\\x0ac\\u2028d"),
        ("\x7f\x00", "\\x7f\\x00"),
        ("card_declined", "card_declined"),
        ("कार्ड अस्वीकृत é €", "कार्ड अस्वीकृत é €"),  # text stays text
    ],
)
def test_printable_escapes_what_drives_a_terminal_and_nothing_else(text, shown):
    assert printable(text) == shown


# -- the CSV export ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    ["=1+1", " =1+1", "   +1", "\u00a0-1+2", "\u3000@SUM(A1)", "\uff1d1+1", " \uff0b1", "-1-1", "-30.00\n=1",
     " -30.00", "-1e3"],
)
def test_a_cell_whose_first_non_space_character_starts_a_formula_is_quoted(cell):
    assert exports.safe_cell(cell) == f"'{cell}"


@pytest.mark.parametrize("cell", ["\nhello", "\rhello", "\thello", "\n", "\r\n=1"])
def test_a_cell_starting_with_a_line_break_or_tab_is_quoted(cell):
    assert exports.safe_cell(cell) == f"'{cell}"


@pytest.mark.parametrize("cell", ["card_declined", "a =1", "pi_-1", "", "  ", "x\n=1", "1 000", "-30.00", "-7",
                                  "12.5"])
def test_other_cells_are_left_alone(cell):
    assert exports.safe_cell(cell) == cell


def test_the_export_quotes_a_spaced_formula_in_a_failure_code(db):
    payment = PaymentFactory(status="failed", failure_code=' =HYPERLINK("http://x","y")')

    [header, row] = list(csv.reader(exports.csv_lines(exports.payment_rows(type(payment).objects.all()))))

    assert row[header.index("failure_code")] == "' =HYPERLINK(\"http://x\",\"y\")"
