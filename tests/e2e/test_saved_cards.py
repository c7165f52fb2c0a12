"""Saved cards in a real browser against the example project (offline simulator): save a card
while paying, pay the next course with "Use my saved Visa •••• 4242" in one click (3155 asks
for 3-D Secure again), and remove a card from the student's page. Each journey buys courses of
its own, as a student of its own: with tax, each checkout creates a payment for its total
before the card, and one student's journeys in a minute would meet create-payment's throttle."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from .conftest import ExampleServer, seed_user
from .test_checkout import AUTHENTICATE, SUCCEEDS, enter_address, expect, expect_success, pay_with, screenshot
from .test_checkout import log_in as log_in_as

pytestmark = pytest.mark.browser

STUDENT, PASSWORD = "e2e-card-student", "e2e-card-password"


@pytest.fixture(scope="module")
def student(example_server: ExampleServer) -> str:
    return seed_user(example_server, STUDENT, PASSWORD, "--no-admin", "--no-payments")


def log_in(page: Any) -> None:
    log_in_as(page, STUDENT, PASSWORD)


def new_course(server: ExampleServer, title: str) -> str:
    slug = title.lower().replace(" ", "-")
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("INSERT INTO courses_course (title, slug, description, price, currency) VALUES (?, ?, ?, ?, ?)",
                   (title, slug, "A course of the saved-card journeys.", "15.00", "usd"))
    return title


def checkout(page: Any, title: str, *, address: bool = True) -> None:
    page.goto("/")
    page.get_by_role("link", name=f"Enroll in {title}").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    if address:
        enter_address(page)  # the total, tax included, before a saved card pays it


def save_while_paying(page: Any, title: str, number: str) -> None:
    checkout(page, title, address=False)
    page.get_by_label("Save this card for next time").check()
    pay_with(page, number)  # the address and its total first, then the card
    if number == AUTHENTICATE:
        challenge = page.frame_locator("iframe[title='3-D Secure authentication']")
        challenge.get_by_role("button", name="Complete authentication").click()
    expect_success(page, title)


def succeeded_payments(server: ExampleServer, title: str) -> int:
    return server.query(
        "SELECT COUNT(*) FROM apranova_payments_payment p JOIN courses_course c "
        "ON CAST(c.id AS TEXT) = json_extract(p.metadata, '$.course') WHERE c.title = ? AND p.status = 'succeeded'",
        title,
    )[0][0]


def test_saved_4242_pays_the_next_course_in_one_click(page, example_server, student):
    first, second = new_course(example_server, "Saved Card One"), new_course(example_server, "Saved Card Two")
    log_in(page)
    save_while_paying(page, first, SUCCEEDS)

    checkout(page, second)
    page.get_by_role("button", name="Use my saved Visa •••• 4242").first.click()

    expect_success(page, second)
    expect(page.locator("#saved-cards")).to_have_count(0)
    screenshot(page, "d-saved-4242-one-click")
    assert succeeded_payments(example_server, second) == 1


def test_saved_3155_asks_for_3d_secure_again(page, example_server, student):
    first, second = new_course(example_server, "Saved Card Three"), new_course(example_server, "Saved Card Four")
    log_in(page)
    save_while_paying(page, first, AUTHENTICATE)

    checkout(page, second)
    page.get_by_role("button", name="Use my saved Visa •••• 3155").first.click()
    challenge = page.frame_locator("iframe[title='3-D Secure authentication']")
    expect(challenge.get_by_role("heading", name="3-D Secure authentication")).to_be_visible()
    assert succeeded_payments(example_server, second) == 0
    challenge.get_by_role("button", name="Complete authentication").click()

    expect_success(page, second)
    screenshot(page, "e-saved-3155-authenticated-again")
    assert succeeded_payments(example_server, second) == 1


def test_a_student_sees_and_removes_saved_cards(page, example_server, student):
    title = new_course(example_server, "Saved Card Five")
    log_in(page)
    save_while_paying(page, title, SUCCEEDS)
    page.goto("/my-courses/")
    expect(page.get_by_role("heading", name="Saved cards")).to_be_visible()
    cards = page.locator("ul.saved-cards li.saved-card")
    before = cards.count()
    assert before >= 1
    expect(cards.first).to_contain_text("Visa •••• ")

    cards.first.get_by_role("button", name="Remove").click()

    expect(cards).to_have_count(before - 1)
    screenshot(page, "f-saved-card-removed")


def test_ticking_save_after_the_total_is_shown_pays_again_with_it_and_saves_the_card(page, example_server,
                                                                                 student):
    title = new_course(example_server, "Saved Card Six")
    log_in(page)
    page.goto("/my-courses/")
    before = page.locator("ul.saved-cards li.saved-card").count()
    checkout(page, title)  # the total shown: the payment exists, without saving

    page.get_by_label("Save this card for next time").check()
    expect(page.locator("#pay-button")).to_be_enabled()  # the payment made again, with savePaymentMethod
    expect(page.locator("#tax-summary")).to_be_visible()
    pay_with(page, SUCCEEDS)

    expect_success(page, title)
    statuses = example_server.query(
        "SELECT p.status FROM apranova_payments_payment p JOIN courses_course c "
        "ON CAST(c.id AS TEXT) = json_extract(p.metadata, '$.course') WHERE c.title = ? ORDER BY p.id", title,
    )
    assert statuses == [("canceled",), ("succeeded",)]
    page.goto("/my-courses/")
    expect(page.locator("ul.saved-cards li.saved-card")).to_have_count(before + 1)
