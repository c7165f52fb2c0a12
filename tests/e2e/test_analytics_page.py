"""The admin's Analytics page in a real browser, on the example's demo payments (seed_demo):
reached from its entry on the admin's home page, its SVG charts drawn with data in the admin's
light and dark colours, under a strict Content-Security-Policy added to its answer (no
violation, no script error), the range form by month, the list's CSV export downloaded; the
payment list at 1280 px with the sidebar open and the Analytics page at 390 px, neither
scrolling sideways. Screenshots are kept in test-artifacts/e2e/ (analytics-light.png,
analytics-dark.png, payments-1280.png, analytics-390.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ExampleServer, seed_user
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
    seed_user(example_server, STAFF, STAFF_PASSWORD, "--no-payments")  # the server's own seed made the payments
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
    page.goto("/admin/")  # the entry under Payments on the admin's home page
    page.locator("#content-main .app-apranova_payments").get_by_role("link", name="Analytics").click()

    expect(page.get_by_role("heading", name="Payment analytics")).to_be_visible()
    for code, symbol in (("USD", "$"), ("EUR", "€"), ("INR", "₹")):  # money as format_money writes it
        section = page.locator(f"#currency-{code.lower()}")
        expect(section.get_by_role("heading", name=code)).to_be_visible()
        expect(section.locator(".kpi-net .kpi-value")).to_contain_text(symbol)
        expect(section.locator(".kpi-discounts .kpi-value")).to_contain_text(symbol)
        expect(section.locator(".kpi-tax .kpi-value")).to_contain_text(symbol)
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
    assert lines[0] == ("id,payment_intent,user,amount,currency,status,amount_refunded,discount,coupon,amount_tax,"
                        "failure_code,created")
    failed = example_server.query("SELECT COUNT(*) FROM apranova_payments_payment WHERE status = 'failed'")[0][0]
    assert len(lines) - 1 == failed > 0
    assert all(",failed," in line for line in lines[1:])
    assert problems == []


#: The size of the page's box that scrolls sideways: 0 when nothing is wider than the window.
OVERFLOW = "element => element.scrollWidth - element.clientWidth"


def test_the_payment_list_fits_1280_px_with_the_sidebar_open(analyst):
    page, problems = analyst
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/admin/apranova_payments/payment/")
    if not page.locator("#nav-sidebar").is_visible():
        page.locator("#toggle-nav-sidebar").click()
    expect(page.locator("#nav-sidebar")).to_be_visible()
    expect(page.locator("#nav-sidebar")).to_contain_text("Analytics")  # the entry under Payments

    table = page.locator("#result_list")
    expect(table).to_be_visible()
    assert page.locator("#changelist .results").evaluate(OVERFLOW) <= 0  # the table's own scroll box
    assert page.locator("html").evaluate(OVERFLOW) <= 0
    assert table.evaluate("t => t.getBoundingClientRect().right") <= page.locator("#changelist .results").evaluate(
        "r => r.getBoundingClientRect().right") + 0.5
    assert page.locator("th.column-livemode").count() == 0  # the demo has test-mode payments only
    expect(page.locator("th.column-display_created")).to_be_visible()
    amounts = page.locator("td.field-display_amount")
    for index in range(min(amounts.count(), 20)):  # an amount and its currency on one line
        cell = amounts.nth(index)
        assert cell.evaluate("c => getComputedStyle(c).whiteSpace") == "nowrap"
        assert cell.evaluate("c => { const r = document.createRange(); r.selectNodeContents(c);"
                             " return r.getClientRects().length; }") == 1
    # A Stripe id is longer than the demo's: cut with an ellipsis, the table still fits.
    page.locator("#result_list tbody tr").first.locator("th.field-display_intent span").evaluate(
        "span => { span.textContent = 'pi_3PqRsT2eZvKYlo2C1aBcDeFg'; }")
    page.locator("#result_list tbody tr").first.locator("td.field-display_user span").evaluate(
        "span => { span.textContent = 'a.very.long.username@school.example.com'; }")
    assert page.locator("#changelist .results").evaluate(OVERFLOW) <= 0
    screenshot(page, "payments-1280")

    page.goto("/admin/apranova_payments/payment/")
    page.locator("#searchbar").fill("pi_demo_001")
    page.locator("#changelist-search").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=pi_demo_001"))
    expect(page.locator("#result_list tbody tr")).to_have_count(10)  # pi_demo_0010 to pi_demo_0019, by their start
    assert problems == []


def test_the_analytics_page_fits_a_390_px_phone(analyst):
    page, problems = analyst
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/apranova_payments/payment/analytics/")

    expect(page.locator("#failure-codes tbody tr").first).to_be_visible()
    assert page.locator("html").evaluate(OVERFLOW) <= 0, "the page scrolls sideways"
    assert page.locator("body").evaluate(OVERFLOW) <= 0
    tick = page.locator("#currency-usd svg text.tick").first
    assert tick.evaluate("t => t.getBoundingClientRect().height") >= 9  # readable axis text on a phone
    meter = page.locator("#failure-codes meter").first
    assert meter.evaluate("m => getComputedStyle(m).appearance") == "none"  # styled: the error colour
    screenshot(page, "analytics-390")
    assert problems == []
