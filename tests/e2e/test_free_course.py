"""Enrolling in a free course in a real browser: the checkout page has one "Enroll for free"
button and no card form; create-payment answers a succeeded ``free_…`` payment with
``clientSecret: null`` (``ALLOW_FREE`` in the example's settings) and the page shows the
enrolled state; the enrollment comes from the same ``payment_succeeded`` receiver as a paid
one, and no PaymentIntent is made."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from .conftest import ExampleServer, seed_user
from .test_checkout import expect, screenshot

pytestmark = pytest.mark.browser

TITLE = "Git Basics"
#: A student of its own, so the other journeys' "My courses" never see this enrollment.
STUDENT, PASSWORD = "e2e-free-student", "e2e-free-password"


@pytest.fixture
def student(example_server: ExampleServer) -> str:
    return seed_user(example_server, STUDENT, PASSWORD, "--no-admin")


@pytest.fixture
def free_course(example_server: ExampleServer) -> str:
    """The free course of the demo catalogue, added when this server's catalogue lacks it."""
    with sqlite3.connect(example_server.db_path, timeout=10) as db:
        db.execute("INSERT INTO courses_course (title, slug, description, price, currency) "
                   "SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM courses_course WHERE slug = ?)",
                   (TITLE, "git-basics", "Commits, branches and pull requests: a first course, free.", "0.00",
                    "usd", "git-basics"))
    return TITLE


def free_payments(server: ExampleServer) -> list[tuple[str, str, str]]:
    return server.query(
        "SELECT p.stripe_payment_intent, p.status, CAST(p.amount AS TEXT) FROM apranova_payments_payment p "
        "JOIN auth_user u ON u.id = p.user_id JOIN courses_course c ON CAST(c.id AS TEXT) = "
        "json_extract(p.metadata, '$.course') WHERE u.username = ? AND c.slug = 'git-basics'", STUDENT,
    )


def enrollments(server: ExampleServer) -> int:
    return server.query(
        "SELECT COUNT(*) FROM courses_enrollment e JOIN auth_user u ON u.id = e.user_id "
        "JOIN courses_course c ON c.id = e.course_id WHERE u.username = ? AND c.slug = 'git-basics'", STUDENT,
    )[0][0]


def test_enroll_in_a_free_course_with_one_button_and_no_card(page: Any, example_server: ExampleServer,
                                                             free_course: str, student: str) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(student)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Courses")).to_be_visible()
    course = page.locator("li.course", has_text=free_course)
    expect(course.locator(".price")).to_have_text("Free")
    course.get_by_role("link", name=f"Enroll in {free_course}").click()

    expect(page.get_by_role("heading", name=free_course)).to_be_visible()
    expect(page.locator("p.price")).to_have_text("Free")
    expect(page.get_by_label("Card number")).to_have_count(0)
    expect(page.locator("#payment-element")).to_have_count(0)
    screenshot(page, "free-course-checkout")
    page.get_by_role("button", name="Enroll for free").click()

    message = page.locator("#payment-message")
    expect(message).to_have_text(f"You are now enrolled in {free_course}. Go to my courses")
    expect(page.locator("#payment-form")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_role("button", name="Enroll for free")).to_have_count(0)
    expect(page.locator("#mode-note")).to_have_count(0)
    screenshot(page, "free-course-enrolled")

    [(intent, status, amount)] = free_payments(example_server)
    assert (intent[:5], status, float(amount)) == ("free_", "succeeded", 0)
    assert enrollments(example_server) == 1
    assert not any("/simulator/" in url for url in requests), "a free enrollment calls no payment provider"

    message.get_by_role("link", name="Go to my courses").click()
    expect(page.locator("li.enrollment", has_text=free_course)).to_be_visible()
    page.goto("/")
    expect(page.locator("li.course", has_text=free_course).locator(".enrolled")).to_have_text("Enrolled")
