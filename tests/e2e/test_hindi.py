"""The example in Hindi, in a real browser whose language is Hindi (``Accept-Language: hi-IN``):
log in, pay a course with the simulator's card form, all in Hindi, then switch the site to
English with the header's switcher. The journey buys a course of its own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import PASSWORD, USERNAME, ExampleServer
from .test_checkout import SUCCEEDS, expect, screenshot

pytestmark = pytest.mark.browser

TITLE = "Hindi Journey"


@pytest.fixture
def hindi_page(browser: Any, example_server: ExampleServer) -> Iterator[Any]:
    context = browser.new_context(base_url=example_server.url, locale="hi-IN", viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_hindi_checkout_then_the_switcher_back_to_english(hindi_page, example_server):
    page = hindi_page
    with sqlite3.connect(example_server.db_path, timeout=10) as db:
        db.execute("INSERT INTO courses_course (title, slug, description, price, currency) VALUES (?, ?, ?, ?, ?)",
                   (TITLE, "hindi-journey", "A course of the Hindi journey.", "4999.00", "inr"))

    page.goto("/accounts/login/")
    page.get_by_label("उपयोगकर्ता नाम").fill(USERNAME)
    page.get_by_label("पासवर्ड").fill(PASSWORD)
    page.get_by_role("button", name="लॉग इन").click()
    expect(page.get_by_role("heading", name="पाठ्यक्रम")).to_be_visible()

    page.get_by_role("link", name=f"{TITLE} में नामांकन करें").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_label("कार्ड नंबर")).to_be_editable()  # the simulator's card form, too
    # India is preselected for a Hindi reader: 18% GST on ₹4,999.00 is ₹899.82.
    expect(page.get_by_label("देश")).to_have_value("IN")
    page.get_by_role("button", name="कुल राशि दिखाएँ").click()
    expect(page.locator("#summary-total")).to_have_text("₹5,898.82")
    expect(page.locator("#summary-taxes")).to_contain_text("कर (जीएसटी 18%)")
    page.get_by_label("कार्ड नंबर").fill(SUCCEEDS)
    page.get_by_role("button", name="₹5,898.82 का भुगतान करें").click()

    message = page.locator("#payment-message")
    expect(message).to_contain_text(f"भुगतान सफल रहा। अब आप {TITLE} में नामांकित हैं।")
    expect(message.get_by_role("link", name="मेरे पाठ्यक्रमों पर जाएँ")).to_be_visible()
    screenshot(page, "hindi-checkout-succeeds")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_text(f"You are enrolled in {TITLE}.")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")


def test_hindi_header_fits_a_phone(hindi_page):
    page = hindi_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/accounts/login/")
    page.get_by_label("उपयोगकर्ता नाम").fill(USERNAME)
    page.get_by_label("पासवर्ड").fill(PASSWORD)
    page.get_by_role("button", name="लॉग इन").click()

    expect(page.get_by_role("heading", name="पाठ्यक्रम")).to_be_visible()
    items = page.locator("header.site nav > *")
    shown = [box for box in (items.nth(i).bounding_box() for i in range(items.count())) if box is not None]
    rows = {round(box["y"]) for box in shown}
    assert len(rows) == 1, f"the Hindi navigation wraps onto {len(rows)} rows"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    screenshot(page, "hindi-phone-header")
