"""The test kit's Stripe Checkout with Stripe Tax: it accepts the parameters stripe-python
16.1 types for ``automatic_tax``, ``billing_address_collection`` and a price's tax, refuses
what Stripe refuses, and taxes the address a test enters by the kit's table, as Stripe fills
``total_details`` and the PaymentIntent's amount. Requests go through stripe-python itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from django_apranova_payments.testing import StripeMock
from django_apranova_payments.testing.stripe_tax import TaxLocationInvalid
from tests.testing.test_stripe_mock_strict import client, error_of, refused


@pytest.fixture
def strict() -> Iterator[StripeMock]:
    with StripeMock() as mock:
        yield mock


def session_params(behavior: Any = "exclusive", amount: int = 1999, currency: str = "eur", **more: Any) -> Any:
    price: dict[str, Any] = {"currency": currency, "unit_amount": amount,
                             "product_data": {"name": "Course", "tax_code": "txcd_10000000"}}
    if behavior is not None:
        price["tax_behavior"] = behavior
    return {"mode": "payment", "success_url": "https://shop.example/paid", "line_items": [
        {"quantity": 1, "price_data": price}], "automatic_tax": {"enabled": True},
        "billing_address_collection": "required", **more}


def create(**params: Any) -> stripe.checkout.Session:
    return client().v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]


def test_a_session_with_automatic_tax_is_created_requiring_an_address(strict):
    session = create(**session_params())

    assert session.automatic_tax.enabled is True and session.automatic_tax.status == "requires_location_inputs"
    assert session.billing_address_collection == "required"
    assert (session.amount_subtotal, session.amount_total, session.total_details.amount_tax) == (1999, 1999, 0)


@pytest.mark.parametrize(("params", "param", "message"), [
    (session_params("sometimes"), "line_items[0][price_data][tax_behavior]",
     "Invalid tax_behavior: must be one of exclusive, inclusive, or unspecified"),
    (session_params(automatic_tax={"liability": {"type": "self"}}), "automatic_tax[enabled]",
     "Missing required param: automatic_tax[enabled]."),
    (session_params(automatic_tax={"enabled": "yes"}), "automatic_tax[enabled]", "Invalid boolean: yes"),
    (session_params(billing_address_collection="always"), "billing_address_collection",
     "Invalid billing_address_collection: must be one of auto or required"),
    (session_params(None), "line_items[0][price_data][tax_behavior]", "Automatic tax requires a tax behavior"),
    (session_params("unspecified"), "line_items[0][price_data][tax_behavior]", "Automatic tax requires a tax behavior"),
])
def test_what_stripe_refuses_is_refused(strict, params, param, message):
    _code, refused_param, text = error_of(refused(create, **params))

    assert refused_param == param and text.startswith(message)
    assert strict.sessions == {}


def test_an_unknown_tax_code_is_refused(strict):
    params = session_params()
    params["line_items"][0]["price_data"]["product_data"]["tax_code"] = "general"

    assert error_of(refused(create, **params))[:2] == ("resource_missing",
                                                      "line_items[0][price_data][product_data][tax_code]")


@pytest.mark.parametrize(("behavior", "currency", "amount", "address", "tax", "total"), [
    ("exclusive", "eur", 1999, {"country": "DE", "postal_code": "10115"}, 380, 2379),
    ("inclusive", "inr", 99900, {"country": "IN", "postal_code": "560001"}, 15239, 99900),
    ("exclusive", "jpy", 1999, {"country": "JP", "postal_code": "100-0001"}, 200, 2199),
    ("exclusive", "usd", 1999, {"country": "US", "postal_code": "94103"}, 0, 1999),
])
def test_the_address_decides_the_tax_and_the_payment_intents_amount(strict, behavior, currency, amount, address,
                                                                   tax, total):
    session = create(**session_params(behavior, amount, currency))

    paid, intent = strict.pay_session(session.id, address=address)

    assert (paid["amount_subtotal"], paid["total_details"]["amount_tax"], paid["amount_total"]) == (amount, tax, total)
    assert intent["amount"] == total and paid["customer_details"]["address"]["country"] == address["country"]
    expanded = client().v1.checkout.sessions.retrieve(session.id, params={"expand": ["total_details.breakdown"]})
    [line] = expanded.total_details.breakdown.taxes
    assert (line.amount, line.rate.inclusive, line.rate.country) == (tax, behavior == "inclusive", address["country"])
    assert "breakdown" not in client().v1.checkout.sessions.retrieve(session.id).total_details


def test_a_session_requiring_an_address_cannot_be_paid_without_one(strict):
    session = create(**session_params())

    with pytest.raises(ValueError, match="requires a billing address"):
        strict.pay_session(session.id)


def test_an_address_stripe_cannot_place_is_refused_as_the_page_would(strict):
    session = create(**session_params())

    with pytest.raises(TaxLocationInvalid):
        strict.enter_address(session.id, {"country": "US", "postal_code": "nowhere"})
    assert strict.sessions[session.id]["total_details"]["amount_tax"] == 0
