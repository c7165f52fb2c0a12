"""Stripe Checkout in a real browser: "Pay on Stripe's page" sends the student to the
simulator's hosted page, which takes the same test cards; a paid Session comes back to the
course's "paid" page, which waits (a spinner) for the signed webhooks and then shows the
enrollment. Each journey buys a course of its own."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest

from .conftest import ExampleServer, wait_until
from .test_checkout import AUTHENTICATE, DECLINED, SUCCEEDS, expect, log_in, screenshot

pytestmark = pytest.mark.browser


def own_course(server: ExampleServer, title: str) -> str:
    slug = title.lower().replace(" ", "-")
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("INSERT INTO courses_course (title, slug, description, price, currency) VALUES (?, ?, ?, ?, ?)",
                   (title, slug, "A course bought on Stripe's page.", "29.00", "usd"))
    return title


def to_stripes_page(page: Any, title: str) -> None:
    page.get_by_role("link", name=f"Enroll in {title}").click()
    expect(page.get_by_role("heading", name="Pay on Stripe's page")).to_be_visible()
    page.get_by_role("button", name="Go to Stripe's page").click()
    expect(page).to_have_url(re.compile(r"/simulator/checkout/cs_sim\w+/$"))
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def pay_on_stripes_page(page: Any, number: str) -> None:
    country = page.locator("input#country")
    if country.count():  # the stand-in asks a Session made with TAX for the billing address
        country.fill("US")  # taxed 0% offline, so the amounts stay the course's prices
        page.locator("input#postal_code").fill("10001")
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Month").fill("12")
    page.get_by_label("Year").fill("2099")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()


def checkout_payment(server: ExampleServer, title: str) -> tuple[str | None, str, str]:
    """``(PaymentIntent, Checkout Session, status)`` of the one payment for the course."""
    [row] = server.query(
        "SELECT p.stripe_payment_intent, p.stripe_checkout_session, p.status FROM apranova_payments_payment p "
        "JOIN courses_course c ON CAST(c.id AS TEXT) = json_extract(p.metadata, '$.course') WHERE c.title = ?",
        title,
    )
    return row


def enrollments(server: ExampleServer, title: str) -> int:
    return server.query(
        "SELECT COUNT(*) FROM courses_enrollment e JOIN courses_course c ON c.id = e.course_id WHERE c.title = ?",
        title,
    )[0][0]


def expect_enrolled_after_the_webhook(page: Any, server: ExampleServer, title: str) -> None:
    expect(page).to_have_url(re.compile(r"/paid/\?session_id=cs_sim\w+$"))
    expect(page.locator("#paid-message")).to_contain_text(f"Payment succeeded. You are now enrolled in {title}.")
    intent, session, status = checkout_payment(server, title)
    assert status == "succeeded" and intent is not None and session.startswith("cs_sim")
    assert enrollments(server, title) == 1
    wait_until(lambda: server.query(
        "SELECT 1 FROM apranova_payments_webhookevent WHERE object_id = ? AND type = 'checkout.session.completed' "
        "AND outcome IN ('processed', 'ignored')", session,
    ), what=f"the checkout.session.completed webhook of {session}")
    page.get_by_role("link", name="Go to my courses").click()
    expect(page.locator(f'.enrollment:has-text("{title}")')).to_have_count(1)


def test_checkout_on_stripes_page_with_4242_enrolls_once_the_webhook_arrives(page, example_server):
    title = own_course(example_server, "Hosted Checkout")
    log_in(page)
    to_stripes_page(page, title)

    pay_on_stripes_page(page, SUCCEEDS)

    expect_enrolled_after_the_webhook(page, example_server, title)
    screenshot(page, "d-checkout-4242")


def test_checkout_on_stripes_page_with_9995_is_declined_and_back_goes_to_the_cart(page, example_server):
    title = own_course(example_server, "Hosted Decline")
    log_in(page)
    to_stripes_page(page, title)

    pay_on_stripes_page(page, DECLINED)

    expect(page.get_by_role("alert")).to_have_text("Your card has insufficient funds.")
    page.get_by_role("link", name="Back").click()
    expect(page).to_have_url(re.compile(r"/courses/hosted-decline/checkout/$"))
    expect(page.get_by_role("button", name="Go to Stripe's page")).to_be_visible()
    screenshot(page, "e-checkout-9995-back")
    # The decline's payment_intent.payment_failed found the Checkout payment through its reference.
    wait_until(lambda: checkout_payment(example_server, title)[2] == "failed", what="the decline's webhook")
    assert checkout_payment(example_server, title)[0] is not None and enrollments(example_server, title) == 0


def test_checkout_on_stripes_page_with_3155_asks_for_authentication_then_enrolls(page, example_server):
    title = own_course(example_server, "Hosted Authentication")
    log_in(page)
    to_stripes_page(page, title)

    pay_on_stripes_page(page, AUTHENTICATE)

    expect(page.get_by_role("heading", name="3-D Secure authentication")).to_be_visible()
    assert enrollments(example_server, title) == 0
    page.get_by_role("button", name="Complete authentication").click()
    expect_enrolled_after_the_webhook(page, example_server, title)
    screenshot(page, "f-checkout-3155")
