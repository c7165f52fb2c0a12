"""A refund in a real browser: a student pays in the example, a staff member refunds the
payment in the admin through its "Refund…" button, and the course leaves the student's
"My courses" for "Refunded purchases". Offline: the simulator makes the refund and posts its
signed events to the example's webhook endpoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ExampleServer, seed_user, wait_until
from .test_checkout import SUCCEEDS, expect, log_in, pay_with, screenshot

pytestmark = pytest.mark.browser

TITLE = "Refund Journey"
STAFF, STAFF_PASSWORD = "e2e-staff", "e2e-staff-password"


@pytest.fixture
def course(example_server: ExampleServer) -> str:
    """A course of its own, so the journey does not depend on the other journeys' purchases."""
    with sqlite3.connect(example_server.db_path, timeout=10) as db:
        db.execute("INSERT INTO courses_course (title, slug, description, price, currency) VALUES (?, ?, ?, ?, ?)",
                   (TITLE, "refund-journey", "A course bought, then refunded.", "25.00", "usd"))
    return TITLE


@pytest.fixture
def staff_page(browser: Any, example_server: ExampleServer) -> Iterator[Any]:
    """A browser context logged in to the admin as a staff member (a superuser)."""
    seed_user(example_server, STAFF, STAFF_PASSWORD)
    context = browser.new_context(base_url=example_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(STAFF)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the admin's pages: {errors}"


def the_payment(server: ExampleServer) -> tuple[int, str]:
    [(pk, intent)] = server.query(
        "SELECT p.id, p.stripe_payment_intent FROM apranova_payments_payment p "
        "JOIN courses_course c ON CAST(c.id AS TEXT) = json_extract(p.metadata, '$.course') "
        "WHERE c.title = ? AND p.status = 'succeeded'", TITLE,
    )
    return int(pk), str(intent)


def enrolled(server: ExampleServer) -> int:
    return server.query(
        "SELECT COUNT(*) FROM courses_enrollment e JOIN courses_course c ON c.id = e.course_id WHERE c.title = ?",
        TITLE,
    )[0][0]


def test_pay_then_staff_refunds_in_the_admin_and_the_course_leaves_my_courses(page, staff_page, example_server,
                                                                                course):
    log_in(page)
    page.get_by_role("link", name=f"Enroll in {course}").click()
    pay_with(page, SUCCEEDS)
    expect(page.locator("#payment-message")).to_contain_text(f"You are now enrolled in {course}.")
    page.get_by_role("link", name="Go to my courses").click()
    expect(page.locator(f'.enrollment:not(.revoked):has-text("{course}")')).to_have_count(1)
    pk, intent = the_payment(example_server)

    staff_page.goto(f"/admin/apranova_payments/payment/{pk}/change/")
    staff_page.get_by_role("link", name="Refund…").click()
    expect(staff_page.get_by_role("heading", name="Refund payment")).to_be_visible()
    expect(staff_page.get_by_label("Amount")).to_have_value("25.00")
    staff_page.get_by_label("Reason").select_option("requested_by_customer")
    staff_page.get_by_label("Yes, refund in the simulator (no money moves)").check()
    screenshot(staff_page, "refund-confirmation")
    staff_page.get_by_role("button", name="Refund in the simulator").click()

    expect(staff_page.locator(".messagelist")).to_contain_text(f"Refunded {intent}: $25.00")
    expect(staff_page.locator("#refunds-group")).to_contain_text("$25.00")
    screenshot(staff_page, "refund-done")
    wait_until(lambda: enrolled(example_server) == 0, what="the enrollment to be revoked")

    page.reload()
    expect(page.locator(f'.enrollment:not(.revoked):has-text("{course}")')).to_have_count(0)
    expect(page.locator(f'.enrollment.revoked:has-text("{course}")')).to_have_count(1)
    screenshot(page, "refund-my-courses")
    wait_until(lambda: example_server.query(
        "SELECT 1 FROM apranova_payments_webhookevent WHERE type = 'refund.created' AND object_id IN "
        "(SELECT stripe_refund FROM apranova_payments_refund r JOIN apranova_payments_payment p ON p.id = r.payment_id "
        "WHERE p.stripe_payment_intent = ?) AND outcome IN ('processed', 'ignored')", intent,
    ), what="the simulator's refund.created webhook")
    assert example_server.query(
        "SELECT COUNT(*) FROM apranova_payments_refund r JOIN apranova_payments_payment p ON p.id = r.payment_id "
        "WHERE p.stripe_payment_intent = ? AND r.status = 'succeeded'", intent,
    ) == [(1,)]
