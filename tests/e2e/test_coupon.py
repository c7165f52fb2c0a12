"""Coupons at the checkout in a real browser: the course list offers the demo codes; a code
typed into the coupon field is applied by creating the payment at the new price (the page's
pending payment canceled first), so the page shows the price, the discount or the refusal
before any card is asked for; the 4242 card then pays the discounted price and enrolls. The
100% scholarship makes a free payment and enrolls without a card."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ExampleServer, seed_user
from .test_checkout import SUCCEEDS, expect, fill_address, screenshot
from .test_checkout import log_in as log_in_as

pytestmark = pytest.mark.browser

#: A student of its own, so the other journeys never see these payments or enrollments.
STUDENT, PASSWORD = "e2e-coupon-student", "e2e-coupon-password"


@pytest.fixture
def student(example_server: ExampleServer) -> str:
    return seed_user(example_server, STUDENT, PASSWORD, "--no-admin", "--no-payments")


def log_in(page: Any) -> None:
    log_in_as(page, STUDENT, PASSWORD)


def apply(page: Any, code: str) -> None:
    page.get_by_label("Coupon code").fill(code)
    page.get_by_role("button", name="Apply").click()


def payments(server: ExampleServer, title: str) -> list[tuple[str, str, str, str, str | None]]:
    """``(PaymentIntent, status, amount, discount, coupon)`` of the student's payments for the
    course, oldest first."""
    return server.query(
        "SELECT p.stripe_payment_intent, p.status, CAST(p.amount AS TEXT), CAST(p.discount AS TEXT), k.code "
        "FROM apranova_payments_payment p JOIN auth_user u ON u.id = p.user_id "
        "JOIN courses_course c ON CAST(c.id AS TEXT) = json_extract(p.metadata, '$.course') "
        "LEFT JOIN apranova_payments_coupon k ON k.id = p.coupon_id "
        "WHERE u.username = ? AND c.title = ? ORDER BY p.id", STUDENT, title,
    )


def enrollments(server: ExampleServer, title: str) -> int:
    return server.query(
        "SELECT COUNT(*) FROM courses_enrollment e JOIN auth_user u ON u.id = e.user_id "
        "JOIN courses_course c ON c.id = e.course_id WHERE u.username = ? AND c.title = ?", STUDENT, title,
    )[0][0]


def amounts(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(status, float(amount), float(discount), coupon) for _intent, status, amount, discount, coupon in rows]


def test_a_percent_coupon_shows_the_new_price_then_4242_pays_it_and_enrolls(page: Any, example_server: ExampleServer,
                                                                          student: str) -> None:
    title = "Full-Stack Web Development"
    log_in(page)
    expect(page.locator("li.coupon[data-code=SPRING25]")).to_contain_text("SPRING25 25% off")
    page.get_by_role("link", name=f"Enroll in {title}").click()
    expect(page.get_by_label("Card number")).to_be_editable()
    fill_address(page)  # sent with each Apply: a US address, taxed 0% offline
    coupon_message = page.locator("#coupon-message")

    apply(page, "NOT-A-CODE")

    expect(coupon_message).to_have_text("This coupon code is not valid.")
    expect(coupon_message).to_have_attribute("data-kind", "error")
    expect(page.locator("#price-now")).to_have_text("$999.00")
    assert payments(example_server, title) == []

    apply(page, "spring25")

    expect(coupon_message).to_have_text("SPRING25 applied: $249.75 off.")
    expect(page.locator("#price-now")).to_have_text("$749.25")
    expect(page.locator("#price-before")).to_be_visible()
    expect(page.get_by_role("button", name="Pay $749.25")).to_be_visible()
    screenshot(page, "coupon-applied")

    page.get_by_role("button", name="Remove coupon").click()  # the page's payment is replaced twice

    expect(page.get_by_role("button", name="Pay $999.00")).to_be_visible()
    expect(page.locator("#price-before")).to_be_hidden()
    apply(page, "SPRING25")
    expect(page.get_by_role("button", name="Pay $749.25")).to_be_visible()
    expect(page.get_by_label("Card number")).to_be_editable()  # the card form, mounted again

    page.get_by_label("Card number").fill(SUCCEEDS)
    page.get_by_role("button", name="Pay $749.25").click()

    expect(page.locator("#payment-message")).to_contain_text(f"Payment succeeded. You are now enrolled in {title}.")
    expect(page.locator("#coupon-form")).to_have_count(0)
    screenshot(page, "coupon-paid")
    assert amounts(payments(example_server, title)) == [
        ("canceled", 749.25, 249.75, "SPRING25"),  # applied, then replaced on "Remove coupon"
        ("canceled", 999.0, 0.0, None),  # without the coupon, replaced when it was applied again
        ("succeeded", 749.25, 249.75, "SPRING25"),
    ]
    assert enrollments(example_server, title) == 1


def test_the_scholarship_enrolls_at_once_without_a_card(page: Any, example_server: ExampleServer,
                                                         student: str) -> None:
    title = "Python for Data Science"
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    log_in(page)
    page.get_by_role("link", name=f"Enroll in {title}").click()
    expect(page.get_by_label("Card number")).to_be_editable()

    apply(page, "scholarship")

    expect(page.locator("#payment-message")).to_have_text(f"You are now enrolled in {title}. Go to my courses")
    expect(page.locator("#payment-form")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_label("Card number")).to_have_count(0)
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)
    screenshot(page, "coupon-scholarship")
    [(intent, *rest)] = payments(example_server, title)
    assert (intent[:5], *amounts([(intent, *rest)])[0]) == ("free_", "succeeded", 0.0, 19.99, "SCHOLARSHIP")
    assert enrollments(example_server, title) == 1
    assert not any("/confirm" in url for url in requests), "a free enrollment confirms no card"

    page.get_by_role("link", name="Go to my courses").click()
    expect(page.locator("li.enrollment", has_text=title)).to_be_visible()
