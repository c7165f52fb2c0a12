"""The admin's Analytics page in a real browser, on the example's demo payments (seed_demo):
reached from the payment list, its SVG charts drawn with data in the admin's light and dark
colours, under a strict Content-Security-Policy added to its answer (no violation, no script
error), the range form by month, and the list's CSV export downloaded. Screenshots are kept
in test-artifacts/e2e/ (analytics-light.png, analytics-dark.png)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLE, ExampleServer
from .test_checkout import expect, screenshot

pytestmark = pytest.mark.browser

STAFF, STAFF_PASSWORD = "e2e-analyst", "e2e-analyst-password"
#: What the page must work under: nothing inline, nothing from another host.
STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: The admin's --link-fg, which the net and succeeded bars are filled with (base.css, dark_mode.css).
LINK_FG = {"light": "rgb(65, 120, 147)", "dark": "rgb(129, 212, 250)"}


@pytest.fixture
def analyst(browser: Any, example_server: ExampleServer) -> Iterator[tuple[Any, list[str]]]:
    """A staff member logged in to the admin; the Analytics page answered with STRICT_CSP.
    Yields the page and the CSP violations and script errors seen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "EXAMPLE_", "SIMULATOR_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="example_site.settings", EXAMPLE_DB_PATH=str(example_server.db_path))
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "seed_demo", "--username", STAFF, "--password", STAFF_PASSWORD,
         "--no-payments"],  # the demo payments are there since the server's own seed_demo
        cwd=EXAMPLE, env=env, check=True, capture_output=True, timeout=120,
    )
    context = browser.new_context(base_url=example_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)

    def with_csp(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route("**/admin/apranova_payments/payment/analytics/**", with_csp)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(STAFF)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out"))).to_be_visible()
    yield page, problems
    context.close()


def bar_fill(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.evaluate("element => getComputedStyle(element).fill"))


def test_the_analytics_page_draws_the_demo_payments_under_a_strict_csp_in_both_themes(analyst):
    page, problems = analyst
    page.goto("/admin/apranova_payments/payment/")
    page.get_by_role("link", name="Analytics").click()

    expect(page.get_by_role("heading", name="Payment analytics")).to_be_visible()
    for code, symbol in (("USD", "$"), ("EUR", "€"), ("INR", "₹")):  # money as format_money writes it
        section = page.locator(f"#currency-{code.lower()}")
        expect(section.get_by_role("heading", name=code)).to_be_visible()
        expect(section.locator(".kpi-net .kpi-value")).to_contain_text(symbol)
        expect(section.locator(".kpi-discounts .kpi-value")).to_contain_text(symbol)
        expect(section.locator(".kpi-success .kpi-value")).to_contain_text("%")
    charts = page.locator("svg.apranova-chart")
    expect(charts).to_have_count(4)  # a revenue chart per currency, succeeded and failed
    for index in range(4):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 150, box
    assert page.locator("#currency-usd svg rect.net").count() >= 10  # bars with data on most days
    assert page.locator("#currency-usd svg rect.refunded").count() >= 1
    assert page.locator("#outcomes svg rect.succeeded").count() >= 10
    assert page.locator("#outcomes svg rect.failed").count() >= 3
    expect(page.locator("#failure-codes tbody tr").first).to_contain_text("card_declined")
    expect(page.locator("#currency-usd .kpi-refunds .kpi-note")).to_contain_text("1 disputed payment")

    assert bar_fill(page, "#currency-usd svg rect.net") == LINK_FG["light"]  # analytics.css, the admin's colours
    screenshot(page, "analytics-light")
    page.emulate_media(color_scheme="dark")
    page.reload()
    expect(charts.first).to_be_visible()
    assert bar_fill(page, "#currency-usd svg rect.net") == LINK_FG["dark"]
    assert bar_fill(page, "#outcomes svg rect.failed") == "rgb(227, 95, 95)"  # dark --error-fg
    screenshot(page, "analytics-dark")
    assert problems == []


def test_the_range_form_shows_months_and_the_list_exports_as_csv(analyst, example_server):
    page, problems = analyst
    page.goto("/admin/apranova_payments/payment/analytics/")
    form = page.locator("#analytics-range")
    form.get_by_label("From").fill("")  # no from: the 12 months up to to's
    form.get_by_label("By").select_option("month")
    form.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"interval=month"))
    expect(page.locator(".range-note")).to_contain_text("by month")
    expect(form.get_by_label("From")).not_to_have_value("")  # the range shown, its default filled in
    expect(page.locator("#currency-usd svg .bar")).to_have_count(12)  # the last 12 months, zeros included
    screenshot(page, "analytics-months")

    page.goto("/admin/apranova_payments/payment/?status__exact=failed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == ("id,payment_intent,user,amount,currency,status,amount_refunded,discount,coupon,failure_code,"
                        "created")
    failed = example_server.query("SELECT COUNT(*) FROM apranova_payments_payment WHERE status = 'failed'")[0][0]
    assert len(lines) - 1 == failed > 0
    assert all(",failed," in line for line in lines[1:])
    assert problems == []
