"""Tax and receipts in a real browser: a student picks a course, is told under the address
fields that a US address without its ZIP code is not enough, gives a French then a German
address and sees the price, the VAT and the total change before any card is confirmed (the
pending payment for France canceled, one for Germany made), pays the German total with 4242,
then opens the numbered receipt and its PDF from "My courses"."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

from .conftest import ExampleServer, seed_user
from .test_checkout import SUCCEEDS, enter_address, expect, expect_success, screenshot
from .test_checkout import log_in as log_in_as

pytestmark = pytest.mark.browser

TITLE = "Taxed Course"
#: A student of its own, so the other journeys never see this enrollment.
STUDENT, PASSWORD = "e2e-tax-student", "e2e-tax-password"


@pytest.fixture
def student(example_server: ExampleServer) -> str:
    return seed_user(example_server, STUDENT, PASSWORD, "--no-admin", "--no-payments")


def log_in(page: Any) -> None:
    log_in_as(page, STUDENT, PASSWORD)


def taxed_course(server: ExampleServer) -> str:
    """A course of its own in euros (19% of 49.00 is 9.31, 20% is 9.80)."""
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("INSERT INTO courses_course (title, slug, description, price, currency) VALUES (?, ?, ?, ?, ?)",
                   (TITLE, "taxed-course", "A course of the tax journey.", "49.00", "eur"))
    return TITLE


def payments(server: ExampleServer) -> list[tuple[str, str, str, str, str]]:
    """``(PaymentIntent, status, amount, tax, billing country)`` of the course's payments, oldest first."""
    return server.query(
        "SELECT p.stripe_payment_intent, p.status, CAST(p.amount AS TEXT), CAST(p.amount_tax AS TEXT), "
        "json_extract(p.billing_address, '$.country') FROM apranova_payments_payment p "
        "JOIN auth_user u ON u.id = p.user_id "
        "JOIN courses_course c ON CAST(c.id AS TEXT) = json_extract(p.metadata, '$.course') "
        "WHERE u.username = ? AND c.title = ? ORDER BY p.id", STUDENT, TITLE,
    )


def figures(rows: list[tuple[str, ...]]) -> list[tuple[Any, ...]]:
    return [(status, float(amount), float(tax), country) for _intent, status, amount, tax, country in rows]


def test_the_tax_shows_before_paying_and_the_receipt_and_its_pdf_follow(page: Any, example_server: ExampleServer,
                                                                         student: str) -> None:
    title = taxed_course(example_server)
    log_in(page)
    page.get_by_role("link", name=f"Enroll in {title}").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator("#tax-summary")).to_be_hidden()
    summary = page.locator("#tax-summary")

    page.locator("#billing-country").select_option("US")  # no ZIP code: Stripe cannot place it
    page.get_by_role("button", name="Show the total").click()

    message = page.locator("#tax-message")
    expect(message).to_have_text("Required: the buyer's country (and postal code where needed) decides the tax.")
    expect(message).to_have_attribute("data-kind", "error")
    expect(summary).to_be_hidden()
    assert payments(example_server) == []

    enter_address(page, "FR", "75001")

    expect(message).to_be_hidden()

    expect(summary).to_contain_text("Tax (VAT 20%)")
    expect(page.locator("#summary-total")).to_have_text("€58.80")

    page.locator("#billing-country").select_option("DE")  # a change of country hides the total

    expect(summary).to_be_hidden()
    expect(message).to_have_text("The address changed: show the total again before you pay.")
    page.locator("#billing-postal-code").fill("10115")
    page.get_by_role("button", name="Show the total").click()

    expect(page.locator("#summary-price")).to_have_text("€49.00")
    expect(page.locator("#summary-taxes")).to_have_text("Tax (VAT 19%)€9.31")
    expect(page.locator("#summary-total")).to_have_text("€58.31")
    expect(page.get_by_role("button", name="Pay €58.31")).to_be_visible()
    screenshot(page, "tax-before-paying")
    assert figures(payments(example_server)) == [("canceled", 58.8, 9.8, "FR"), ("pending", 58.31, 9.31, "DE")]

    page.get_by_label("Card number").fill(SUCCEEDS)
    page.get_by_role("button", name="Pay €58.31").click()

    expect_success(page, title)
    [_france, (intent, status, _amount, _tax, _country)] = payments(example_server)
    assert status == "succeeded"

    page.get_by_role("link", name="Go to my courses").click()
    row = page.locator('.enrollment[data-course="taxed-course"]')
    expect(row.get_by_role("link", name="Receipt")).to_have_attribute("href", f"/api/payments/{intent}/receipt/")
    row.get_by_role("link", name="Receipt").click()

    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    number = page.locator("#receipt-number").inner_text()
    assert re.fullmatch(r"R-\d{6}", number), number
    [(stored,)] = example_server.query(
        "SELECT receipt_number FROM apranova_payments_payment WHERE stripe_payment_intent = ?", intent)
    assert number == f"R-{stored:06d}"
    body = page.locator("main")
    expect(body).to_contain_text("ApraNova Academy Ltd")
    expect(body).to_contain_text(STUDENT)
    expect(body).to_contain_text("10115")
    expect(page.locator("tr.tax")).to_have_text(re.compile(r"VAT 19% \(DE\)\s*€9\.31"))
    expect(page.locator("tr.total")).to_contain_text("€58.31")
    screenshot(page, "tax-receipt")  # test-artifacts/e2e/tax-receipt.png

    pdf = page.request.get(f"/api/payments/{intent}/receipt/?format=pdf")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")
