"""The simulator's Stripe Checkout: POST checkout/ makes a Session whose hosted page takes the
same test cards (4242 pays, 9995 declines and lets another card try, 3155 asks for 3-D
Secure), redirects to the success URL with ``session_id``, and sends the signed
``payment_intent.*`` and ``checkout.session.*`` events that move the payment."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments.models import Payment
from django_apranova_payments.simulator.models import SimulatedCheckoutSession

SUCCEEDS, DECLINED, AUTHENTICATE = "4242 4242 4242 4242", "4000 0000 0000 9995", "4000 0025 0000 3155"
SUCCESS, CANCEL = "http://testserver/paid?course=12", "http://testserver/courses/12"


@pytest.fixture(autouse=True)
def testserver_redirects() -> Any:
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        yield


def start(api: Any, **body: Any) -> dict[str, Any]:
    body = {"amount": "19.99", "metadata": {"course": "12", "product_name": "Django in depth"},
            "successUrl": SUCCESS, "cancelUrl": CANCEL, **body}
    response = api.post(reverse("apranova_payments:checkout-session"), data=json.dumps(body),
                        content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def pay(client: Any, started: dict[str, Any], number: str) -> Any:
    return client.post(started["url"], {"number": number, "exp_month": "12", "exp_year": "2099", "cvc": "123"})


def replay(client: Any, request: Any) -> Any:
    return client.post(reverse("apranova_payments:webhook"), data=request.body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=request.headers["Stripe-Signature"])


def test_the_hosted_page_shows_the_line_and_the_test_cards(api, client):
    started = start(api)

    page = client.get(started["url"])

    assert started["url"] == reverse("apranova_payments_simulator:checkout", args=[started["checkoutSession"]])
    assert page.status_code == 200
    text = page.content.decode()
    assert "Django in depth" in text and "19.99" in text and SUCCEEDS in text and CANCEL in text


def test_4242_pays_redirects_with_the_session_id_and_its_events_succeed_the_payment_once(
    api, client, outbox, captured_signals
):
    started = start(api)

    response = pay(client, started, SUCCEEDS)

    assert response.status_code == 302
    assert response["Location"] == f"{SUCCESS}&session_id={started['checkoutSession']}"
    sent = outbox()
    events = [json.loads(request.body) for request in sent]
    assert [e["type"] for e in events] == [
        "payment_intent.created", "payment_intent.succeeded", "checkout.session.completed"]
    assert all("client_secret" not in e["data"]["object"] for e in events)
    assert [replay(client, request).json()["outcome"] for request in sent] == ["processed"] * 3
    payment = Payment.objects.get()
    assert (payment.status, payment.stripe_payment_intent) == ("succeeded", events[0]["data"]["object"]["id"])
    assert captured_signals.count("payment_succeeded") == 1
    assert client.get(started["url"])["Location"].endswith(started["checkoutSession"])  # paid: straight on


def test_9995_declines_on_the_page_and_another_card_pays(api, client, outbox):
    started = start(api)

    declined = pay(client, started, DECLINED)

    assert declined.status_code == 402 and "insufficient funds" in declined.content.decode()
    assert SimulatedCheckoutSession.objects.get().status == "open"
    assert pay(client, started, SUCCEEDS).status_code == 302
    assert [json.loads(r.body)["type"] for r in outbox()] == [
        "payment_intent.created", "payment_intent.payment_failed", "payment_intent.succeeded",
        "checkout.session.completed"]


@pytest.mark.parametrize(("action", "location"), [("complete", True), ("fail", False)])
def test_3155_asks_for_3d_secure_on_the_page(api, client, action, location):
    started = start(api)

    page = pay(client, started, AUTHENTICATE)
    assert page.status_code == 200 and "3-D Secure" in page.content.decode()
    decided = client.post(reverse("apranova_payments_simulator:checkout-authenticate",
                                  args=[started["checkoutSession"]]), {"action": action})

    assert (decided.status_code == 302) is location
    assert SimulatedCheckoutSession.objects.get().status == ("complete" if location else "open")


def test_an_invalid_card_is_refused_on_the_page(api, client):
    started = start(api)

    response = pay(client, started, "4242 4242 4242 4241")

    assert response.status_code == 402 and "incorrect" in response.content.decode()
    assert SimulatedCheckoutSession.objects.get().intent is None


def test_canceling_expires_the_session_and_its_event_cancels_the_payment(api, client, outbox):
    started = start(api)
    pay(client, started, DECLINED)

    canceled = api.post(reverse("apranova_payments:payment-cancel", args=[started["checkoutSession"]]))

    assert canceled.json()["status"] == "canceled"
    assert SimulatedCheckoutSession.objects.get().status == "expired"
    sent = outbox()
    assert [json.loads(r.body)["type"] for r in sent][-2:] == ["payment_intent.canceled", "checkout.session.expired"]
    assert "expired" in client.get(started["url"]).content.decode()
    assert pay(client, started, SUCCEEDS).status_code == 200  # an expired Session takes no payment


def test_an_unknown_session_is_404(client, db):
    assert client.get(reverse("apranova_payments_simulator:checkout", args=["cs_simunknown"])).status_code == 404


def test_the_page_is_404_with_debug_off(api, client, settings):
    started = start(api)
    settings.DEBUG = False

    assert client.get(started["url"]).status_code == 404


# -- Stripe Tax on the hosted page (TAX set) ------------------------------------------------

TAXED = {"tax_code": "txcd_10000000", "behavior": "exclusive"}


@pytest.fixture
def taxed(settings: Any) -> Any:
    def configure(behavior: str = "exclusive") -> None:
        settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "CURRENCIES": ["usd", "eur", "inr", "jpy"],
                                      "TAX": {**TAXED, "behavior": behavior}, "SELLER": {"name": "ApraNova Academy"}}

    configure()
    return configure


def pay_from(client: Any, started: dict[str, Any], number: str, **address: str) -> Any:
    return client.post(started["url"], {"number": number, "exp_month": "12", "exp_year": "2099", "cvc": "123",
                                        **address})


@pytest.mark.parametrize(("first", "order"), [("payment_intent", [0, 1, 2]), ("session", [2, 1, 0])])
def test_the_page_taxes_the_address_entered_and_the_payment_takes_the_tax(api, client, outbox, taxed, first, order):
    started = start(api, currency="eur")
    page = client.get(started["url"]).content.decode()
    assert 'name="country"' in page and 'name="postal_code"' in page and "billing address" in page

    response = pay_from(client, started, SUCCEEDS, country="de", postal_code="10115")

    assert response.status_code == 302
    sent = outbox()
    events = [json.loads(request.body) for request in sent]
    intent, session = events[1]["data"]["object"], events[2]["data"]["object"]
    assert intent["amount"] == 2379 and session["amount_total"] == 2379
    assert (session["amount_subtotal"], session["total_details"]["amount_tax"]) == (1999, 380)
    assert "breakdown" not in session["total_details"]  # events never carry expanded fields
    assert [replay(client, sent[index]).json()["outcome"] for index in order] == ["processed"] * 3
    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.amount_tax) == ("succeeded", Decimal("23.79"), Decimal("3.80"))
    assert payment.billing_address == {"country": "DE", "postal_code": "10115"}
    assert payment.tax_breakdown[0]["amount"] == 380 and payment.tax_breakdown[0]["percentage"] == "19.0"


def test_inclusive_tax_on_the_page_keeps_the_amount(api, client, outbox, taxed):
    taxed("inclusive")
    started = start(api, amount="999.00", currency="inr")

    assert pay_from(client, started, SUCCEEDS, country="IN", postal_code="560001").status_code == 302

    sent = outbox()
    assert json.loads(sent[1].body)["data"]["object"]["amount"] == 99900
    for request in sent:
        replay(client, request)
    payment = Payment.objects.get()
    assert (payment.amount, payment.amount_tax) == (Decimal("999.00"), Decimal("152.39"))


@pytest.mark.parametrize("address", [{}, {"country": "US", "postal_code": "nowhere"}])
def test_an_address_stripe_could_not_tax_is_asked_again(api, client, taxed, address):
    started = start(api, currency="eur")

    response = pay_from(client, started, SUCCEEDS, **address)

    assert response.status_code == 400 and "billing address" in response.content.decode()
    session = SimulatedCheckoutSession.objects.get()
    assert (session.status, session.intent, session.amount_tax) == ("open", None, 0)


def test_a_declined_card_keeps_the_address_and_its_tax(api, client, taxed):
    started = start(api, amount="1999", currency="jpy")

    declined = pay_from(client, started, DECLINED, country="JP", postal_code="100-0001")

    assert declined.status_code == 402
    text = declined.content.decode()
    assert "2199 JPY" in text and "Subtotal 1999 JPY + tax 200 JPY" in text
    session = SimulatedCheckoutSession.objects.get()
    assert (session.amount_tax, session.intent.amount) == (200, 2199)
    assert pay(client, started, SUCCEEDS).status_code == 302
    assert SimulatedCheckoutSession.objects.get().status == "complete"


def test_without_tax_the_page_asks_for_no_address(api, client):
    started = start(api)

    page = client.get(started["url"]).content.decode()

    assert 'name="country"' not in page
