"""The three card journeys of the ApraNova LMS's original flow, in a real browser against the
example project (offline simulator). Each journey buys a different course, so they are
independent."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ARTIFACTS, PASSWORD, USERNAME, ExampleServer, wait_until

pytestmark = pytest.mark.browser

SUCCEEDS, DECLINED, AUTHENTICATE = "4242 4242 4242 4242", "4000 0000 0000 9995", "4000 0025 0000 3155"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect

    return expect(target)


def log_in(page: Any, username: str = USERNAME, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Courses")).to_be_visible()


def open_checkout(page: Any, title: str) -> None:
    page.get_by_role("link", name=f"Enroll in {title}").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("no money moves")
    expect(page.get_by_label("Card number")).to_be_editable()
    enter_address(page)


def fill_address(page: Any, country: str = "US", postal_code: str = "10001") -> None:
    """The billing address the example asks for with TAX on (a US one: 0% tax offline)."""
    page.locator("#billing-country").select_option(country)
    page.locator("#billing-postal-code").fill(postal_code)


def enter_address(page: Any, country: str = "US", postal_code: str = "10001") -> None:
    """Enter the billing address and show the total: the payment is created, its tax shown."""
    fill_address(page, country, postal_code)
    page.get_by_role("button", name="Show the total").click()
    expect(page.locator("#tax-summary")).to_be_visible()


def pay_with(page: Any, number: str) -> None:
    if page.locator("#tax-form").count() and page.locator("#tax-summary").is_hidden():
        enter_address(page)
    page.get_by_label("Card number").fill(number)
    page.get_by_role("button", name="Pay").click()


def expect_success(page: Any, title: str) -> None:
    message = page.locator("#payment-message")
    expect(message).to_contain_text(f"Payment succeeded. You are now enrolled in {title}.")
    expect(page.locator("#payment-form")).to_have_attribute("data-status", "succeeded")


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def course_payments(server: ExampleServer, title: str) -> list[tuple[str, str, str]]:
    """``(PaymentIntent, status, amount)`` of the student's payments for the course."""
    return server.query(
        "SELECT p.stripe_payment_intent, p.status, CAST(p.amount AS TEXT) FROM apranova_payments_payment p "
        "JOIN auth_user u ON u.id = p.user_id "
        "JOIN courses_course c ON CAST(c.id AS TEXT) = json_extract(p.metadata, '$.course') "
        "WHERE u.username = ? AND c.title = ?", USERNAME, title,
    )


def enrollments(server: ExampleServer, title: str) -> int:
    return server.query(
        "SELECT COUNT(*) FROM courses_enrollment e JOIN auth_user u ON u.id = e.user_id "
        "JOIN courses_course c ON c.id = e.course_id WHERE u.username = ? AND c.title = ?", USERNAME, title,
    )[0][0]


def expect_one_paid_enrollment(server: ExampleServer, title: str) -> str:
    """Exactly one enrollment and one succeeded payment, and the simulator's signed
    ``payment_intent.succeeded`` webhook processed by the real endpoint."""
    assert enrollments(server, title) == 1
    [(intent, status, _amount)] = course_payments(server, title)
    assert status == "succeeded"
    wait_until(lambda: server.query(
        "SELECT 1 FROM apranova_payments_webhookevent WHERE object_id = ? AND type = 'payment_intent.succeeded' "
        "AND outcome IN ('processed', 'ignored')", intent,
    ), what=f"the payment_intent.succeeded webhook of {intent}")
    return str(intent)


def test_pay_with_4242_and_see_the_enrollment(page, example_server):
    title = "Python for Data Science"
    log_in(page)
    open_checkout(page, title)

    pay_with(page, SUCCEEDS)

    expect_success(page, title)
    page.get_by_role("link", name="Go to my courses").click()
    expect(page.locator(".enrollment")).to_have_count(1)
    expect(page.locator(".enrollment")).to_contain_text(title)
    screenshot(page, "a-4242-succeeds")
    expect_one_paid_enrollment(example_server, title)
    [(_intent, _status, amount)] = course_payments(example_server, title)
    assert amount in ("19.99", "19.990000")  # the server's price, exact (the original flow's float code charged 19.98)


def test_9995_is_declined_then_a_retry_with_4242_enrolls_once(page, example_server):
    title = "DevOps Essentials"
    log_in(page)
    open_checkout(page, title)

    pay_with(page, DECLINED)

    expect(page.locator("#payment-message")).to_have_text("Your card has insufficient funds.")
    expect(page.locator("#payment-form")).to_have_attribute("data-status", "failed")
    [(declined_intent, status, _amount)] = course_payments(example_server, title)
    assert status == "failed" and enrollments(example_server, title) == 0

    pay_with(page, SUCCEEDS)

    expect_success(page, title)
    page.goto("/")
    expect(page.locator(f'.course:has-text("{title}") .enrolled')).to_have_text("Enrolled")
    screenshot(page, "b-9995-declined-then-4242")
    assert expect_one_paid_enrollment(example_server, title) == declined_intent  # the same payment, retried


def test_3155_asks_for_authentication_then_succeeds(page, example_server):
    title = "Cloud Fundamentals"
    log_in(page)
    open_checkout(page, title)

    pay_with(page, AUTHENTICATE)

    challenge = page.frame_locator("iframe[title='3-D Secure authentication']")
    expect(challenge.get_by_role("heading", name="3-D Secure authentication")).to_be_visible()
    assert enrollments(example_server, title) == 0
    challenge.get_by_role("button", name="Complete authentication").click()

    expect_success(page, title)
    expect(page.get_by_role("dialog")).to_have_count(0)
    screenshot(page, "c-3155-authenticated")
    expect_one_paid_enrollment(example_server, title)
