"""The example's pages at a desktop (1280 px) and a phone (390 px) width: screenshots for a
person to look at, and the layout rules they showed were needed.

Screenshots go to ``test-artifacts/e2e/ui/`` (``APRANOVA_SCREENSHOTS`` names another
directory, e.g. to keep a "before" set), one ``<page>-<width>.png`` each.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, PASSWORD, USERNAME, ExampleServer
from .test_checkout import AUTHENTICATE, DECLINED, SUCCEEDS, enter_address, expect, log_in, pay_with

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("APRANOVA_SCREENSHOTS", ARTIFACTS / "ui"))
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(params=list(WIDTHS), ids=list(WIDTHS))
def sized(request: Any, browser: Any, example_server: Any) -> Iterator[tuple[Any, int]]:
    """A page of the given width, and that width."""
    width = WIDTHS[request.param]
    context = browser.new_context(base_url=example_server.url, viewport={"width": width, "height": 800},
                                  device_scale_factor=1)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, width
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page: Any, name: str, width: int, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=full_page)


_numbers = itertools.count(1)


def new_course(server: ExampleServer, price: str = "4999.00", currency: str = "inr") -> str:
    """A course nobody bought yet (the server's database is shared by the session's tests)."""
    number = next(_numbers)
    title = f"Interface Design {number}"
    with sqlite3.connect(server.db_path, timeout=10) as db:
        db.execute("INSERT INTO courses_course (title, slug, description, price, currency) VALUES (?, ?, ?, ?, ?)",
                   (title, f"interface-design-{number}", "Layouts that fit every screen.", price, currency))
    return title


def open_checkout(page: Any, title: str) -> None:
    page.goto("/")
    page.get_by_role("link", name=f"Enroll in {title}").click()
    expect(page.get_by_label("Card number")).to_be_editable()
    enter_address(page)


def test_screenshots(sized, example_server):
    """Every page and state of the checkout, for a person to look at."""
    page, width = sized
    title = new_course(example_server)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".message.error")).to_be_visible()
    shot(page, "login-wrong-password", width)

    log_in(page)
    shot(page, "courses", width)

    open_checkout(page, title)
    shot(page, "checkout", width)

    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_text("Your card number is incorrect.").first).to_be_visible()
    shot(page, "checkout-invalid-number", width)

    pay_with(page, DECLINED)
    expect(page.locator("#payment-form")).to_have_attribute("data-status", "failed")
    shot(page, "checkout-declined", width)

    pay_with(page, AUTHENTICATE)
    frame = page.frame_locator("dialog.apranova-sim-3ds iframe")
    expect(frame.get_by_role("button", name="Complete authentication")).to_be_visible()
    shot(page, "checkout-3d-secure", width, full_page=False)
    frame.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_text("Payment succeeded.")).to_be_visible()
    shot(page, "checkout-succeeded", width)

    page.goto("/my-courses/")
    shot(page, "my-courses", width)


# -- what the screenshots showed ------------------------------------------------------------------


def test_a_card_error_is_shown_once(page, example_server):
    title = new_course(example_server)
    log_in(page)
    open_checkout(page, title)

    page.get_by_label("Card number").fill("4242 4242 4242 4241")
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_text("Your card number is incorrect.")).to_have_count(1)

    pay_with(page, DECLINED)
    expect(page.get_by_text("Your card has insufficient funds.")).to_have_count(1)
    expect(page.get_by_text("Your card number is incorrect.")).to_have_count(0)


def test_success_replaces_the_form(page, example_server):
    title = new_course(example_server)
    log_in(page)
    open_checkout(page, title)

    pay_with(page, SUCCEEDS)

    expect(page.get_by_text("Payment succeeded.")).to_be_visible()
    expect(page.get_by_text("test cards")).to_have_count(0)
    expect(page.get_by_label("Card number")).to_have_count(0)
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)


def test_prices_are_formatted_for_the_locale(page):
    page.goto("/")
    def price(slug: str) -> Any:
        return page.locator(f".course[data-course='{slug}'] .price")

    expect(price("python-for-data-science")).to_have_text("$19.99")
    expect(price("cloud-fundamentals")).to_have_text("₹4,999.00")
    expect(price("devops-essentials")).to_have_text("€49.00")


def test_the_wrong_password_page_keeps_the_username(page):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.locator(".message.error")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value(USERNAME)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_be_focused()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Courses")).to_be_visible()


def boxes(page: Any, selector: str) -> list[dict[str, float]]:
    """The boxes of the visible elements ``selector`` matches."""
    found = [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]
    return [box for box in found if box is not None]


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_the_header_fits_a_phone(sized):
    page, width = sized
    log_in(page)

    brand = page.locator(".brand").bounding_box()
    items = boxes(page, "header.site nav > *")
    assert all(not overlaps(brand, item) for item in items)
    assert all(item["x"] >= 0 and item["x"] + item["width"] <= width for item in [brand, *items])
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    rows = {round(item["y"]) for item in items}
    assert len(rows) == 1, f"the navigation wraps onto {len(rows)} rows"


def test_no_dead_space_under_the_card_form_and_in_the_3d_secure_frame(sized, example_server):
    page, _width = sized
    title = new_course(example_server)
    log_in(page)
    open_checkout(page, title)

    form = page.locator("#payment-form").bounding_box()
    button = page.locator("#pay-button").bounding_box()
    assert form["y"] + form["height"] - (button["y"] + button["height"]) <= 24  # the form's padding, no more

    pay_with(page, AUTHENTICATE)
    iframe = page.locator("dialog.apranova-sim-3ds iframe")
    frame = page.frame_locator("dialog.apranova-sim-3ds iframe")
    expect(frame.get_by_role("button", name="Fail authentication")).to_be_visible()
    content = frame.locator("body").evaluate("b => b.scrollHeight")
    height = iframe.bounding_box()["height"]
    assert content <= height <= content + 24, (content, height)
    frame.get_by_role("button", name="Fail authentication").click()
    expect(page.locator("#payment-form")).to_have_attribute("data-status", "failed")
