"""Stripe Tax in Stripe Checkout: the payment takes its Session's amount, tax, breakdown and
billing address exactly once, under its row lock, whichever of ``checkout.session.completed``
and the PaymentIntent's own events arrives first; the amount grows only by the Session's tax,
and the installation mark (over the line before tax) still has to verify."""

from __future__ import annotations

import copy
import itertools
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments import services
from django_apranova_payments.conf import STRIPE_API_VERSION
from django_apranova_payments.metadata import CHECKOUT_TAX, verified_owner
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import capture_signals, post_event, stripe_objects
from tests.webhooks.test_checkout_events import CHECKOUT_URL

T0 = int(time.time()) - 100
DE = {"country": "DE", "postal_code": "10115", "city": "Berlin", "line1": "Unter den Linden 1"}
IN = {"country": "IN", "postal_code": "560001", "state": "KA", "city": "Bengaluru", "line1": "MG Road 1"}
JP = {"country": "JP", "postal_code": "100-0001", "city": "Tokyo", "line1": "Chiyoda 1"}


@pytest.fixture
def tax(settings: Any, webhook_mode: Any) -> Any:
    """TAX on (exclusive by default; ``tax("inclusive")`` changes it), with a SELLER."""
    def configure(behavior: str = "exclusive") -> None:
        settings.APRANOVA_PAYMENTS = {
            **settings.APRANOVA_PAYMENTS, "CURRENCIES": ["usd", "eur", "inr", "jpy"],
            "TAX": {"tax_code": "txcd_10000000", "behavior": behavior}, "SELLER": {"name": "ApraNova Academy"},
        }

    configure()
    return configure


def start(api: Any, amount: str = "19.99", currency: str = "eur") -> Payment:
    body = {"amount": amount, "currency": currency, "metadata": {"course": "12"},
            "successUrl": "http://testserver/paid", "cancelUrl": "http://testserver/cart"}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        response = api.post(CHECKOUT_URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return Payment.objects.get(stripe_checkout_session=response.json()["checkoutSession"])


def event(obj: dict[str, Any], event_type: str, offset: int = 0) -> dict[str, Any]:
    return stripe_objects.event(copy.deepcopy(obj), event_type, api_version=STRIPE_API_VERSION, created=T0 + offset)


def paid(stripe_mock: Any, payment: Payment, address: dict[str, str]) -> dict[str, dict[str, Any]]:
    """What Stripe sends when the customer enters ``address`` and pays on its page."""
    created = copy.deepcopy(stripe_mock.open_session_intent(payment.stripe_checkout_session, address=address))
    session, intent = stripe_mock.pay_session(payment.stripe_checkout_session)
    return {"created": event(created, "payment_intent.created", 0),
            "succeeded": event(intent, "payment_intent.succeeded", 1),
            "completed": event(session, "checkout.session.completed", 2)}


def deliver(client: Any, events: list[dict[str, Any]]) -> list[str]:
    outcomes = []
    for item in events:
        response = post_event(client, item)
        assert response.status_code == 200, response.content
        outcomes.append(response.json()["outcome"])
    return outcomes


ORDERS = sorted(set(itertools.permutations(["succeeded", "succeeded", "completed", "completed"])))


def test_the_session_uses_stripe_tax_and_collects_the_billing_address(api, stripe_mock, tax):
    start(api)

    [call] = stripe_mock.calls_to("create_checkout_session")
    params = call["params"]
    assert params["automatic_tax"] == {"enabled": "true"}
    assert params["billing_address_collection"] == "required"
    price = params["line_items"]["0"]["price_data"]
    assert (price["unit_amount"], price["tax_behavior"]) == ("1999", "exclusive")
    assert price["product_data"]["tax_code"] == "txcd_10000000"
    # The mark covers the line before tax and the behaviour, on the Session and its PaymentIntent.
    for metadata in (params["metadata"], params["payment_intent_data"]["metadata"]):
        assert metadata[CHECKOUT_TAX] == "exclusive"
        owner = verified_owner(metadata, 1999, "eur")
        assert owner is not None and owner.checkout_tax == "exclusive"
        assert verified_owner(metadata, 2379, "eur") is None
        assert verified_owner({**metadata, CHECKOUT_TAX: "inclusive"}, 1999, "eur") is None


def test_without_tax_the_session_has_no_tax_parameters(api, stripe_mock, webhook_mode):
    start(api, currency="usd")

    [call] = stripe_mock.calls_to("create_checkout_session")
    assert not {"automatic_tax", "billing_address_collection"} & set(call["params"])
    assert set(call["params"]["line_items"]["0"]["price_data"]) == {"currency", "unit_amount", "product_data"}
    assert CHECKOUT_TAX not in call["params"]["metadata"]


@pytest.mark.parametrize("order", ORDERS)
def test_eur_exclusive_tax_is_taken_once_in_any_order(api, client, stripe_mock, tax, order):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)
    assert events["succeeded"]["data"]["object"]["amount"] == 2379  # 19.99 + 19 % (3.7981 → 3.80)

    with capture_signals() as sent:
        deliver(client, [events["created"], *(events[name] for name in order)])

    payment.refresh_from_db()
    assert (payment.status, payment.amount, payment.amount_tax) == ("succeeded", Decimal("23.79"), Decimal("3.80"))
    assert payment.stripe_payment_intent == events["succeeded"]["data"]["object"]["id"]
    assert payment.billing_address == DE
    assert payment.tax_breakdown == [{
        "amount": 380, "taxable_amount": 1999, "percentage": "19.0", "country": "DE", "state": "",
        "tax_type": "vat", "inclusive": False, "taxability_reason": "standard_rated",
    }]
    assert sent.names().count("payment_succeeded") == 1 and sent.names().count("payment_status_changed") == 1
    # The Session is asked for once (its breakdown is only sent expanded), whichever came first.
    assert len(stripe_mock.calls_to("retrieve_checkout_session")) == 1
    assert Payment.objects.count() == 1
    assert set(WebhookEvent.objects.values_list("note", flat=True)) == {""}


@pytest.mark.parametrize("first", ["succeeded", "completed"])
def test_inr_inclusive_tax_leaves_the_amount_and_records_the_tax(api, client, stripe_mock, tax, first):
    tax("inclusive")
    payment = start(api, "999.00", "inr")
    events = paid(stripe_mock, payment, IN)
    assert events["succeeded"]["data"]["object"]["amount"] == 99900

    deliver(client, [events[first], events["succeeded" if first == "completed" else "completed"]])

    payment.refresh_from_db()
    # 999.00 * 18/118 = 152.3898… → 152.39, inside the price.
    assert (payment.status, payment.amount, payment.amount_tax) == ("succeeded", Decimal("999.00"), Decimal("152.39"))
    assert payment.billing_address == IN
    [line] = payment.tax_breakdown
    assert (line["amount"], line["taxable_amount"], line["inclusive"], line["percentage"]) == (15239, 84661, True,
                                                                                               "18.0")
    detail = reverse("apranova_payments:payment-detail", args=[payment.stripe_payment_intent])
    assert api.get(detail).json()["amountTax"] == "152.39"


@pytest.mark.parametrize("first", ["succeeded", "completed"])
def test_jpy_has_no_minor_unit(api, client, stripe_mock, tax, first):
    payment = start(api, "1999", "jpy")
    events = paid(stripe_mock, payment, JP)
    assert events["succeeded"]["data"]["object"]["amount"] == 2199  # ¥1999 + 10 % (199.9 → 200)

    deliver(client, [events[first], events["succeeded" if first == "completed" else "completed"]])

    payment.refresh_from_db()
    assert (payment.amount, payment.amount_tax, payment.amount_minor) == (Decimal("2199"), Decimal("200"), 2199)
    body = api.get(reverse("apranova_payments:payment-detail", args=[payment.stripe_payment_intent])).json()
    assert (body["amount"], body["amountTax"], body["status"]) == ("2199", "200", "succeeded")


def test_duplicates_after_success_change_nothing(api, client, stripe_mock, tax, webhook_mode):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)
    deliver(client, [events["succeeded"], events["completed"]])
    again = [dict(item, id=f"{item['id']}_again") for item in (events["succeeded"], events["completed"])]

    with capture_signals() as sent:
        outcomes = deliver(client, [*again, events["succeeded"]])

    payment.refresh_from_db()
    assert (payment.amount, payment.amount_tax) == (Decimal("23.79"), Decimal("3.80"))
    assert "payment_succeeded" not in sent.names()
    assert outcomes == [webhook_mode.answer("processed"), webhook_mode.answer("processed"), "duplicate"]
    assert len(stripe_mock.calls_to("retrieve_checkout_session")) == 1


def test_a_payment_intent_grown_by_more_than_the_tax_is_refused(api, client, stripe_mock, tax, webhook_mode):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)
    grown = copy.deepcopy(events["succeeded"])
    grown["data"]["object"]["amount"] = 2380  # one cent more than line + tax
    grown["id"] = f"{grown['id']}_grown"

    outcomes = deliver(client, [grown])

    payment.refresh_from_db()
    assert outcomes == [webhook_mode.answer("ignored")]
    assert payment.status == "pending"
    assert "mismatch" in WebhookEvent.objects.get().note
    # The Session's own tax was taken (it is Stripe's), so the real PaymentIntent then fits.
    assert (payment.amount, payment.amount_tax) == (Decimal("23.79"), Decimal("3.80"))
    deliver(client, [events["succeeded"]])
    payment.refresh_from_db()
    assert payment.status == "succeeded"


def test_a_payment_intent_in_another_currency_is_refused_and_takes_no_tax(api, client, stripe_mock, tax,
                                                                          webhook_mode):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)
    other = copy.deepcopy(events["succeeded"])
    other["data"]["object"]["currency"] = "usd"

    assert deliver(client, [other]) == [webhook_mode.answer("ignored")]

    payment.refresh_from_db()
    assert (payment.status, payment.amount, payment.amount_tax) == ("pending", Decimal("19.99"), Decimal("0"))
    assert stripe_mock.calls_to("retrieve_checkout_session") == []


def test_a_session_whose_total_is_not_line_plus_tax_is_refused(api, client, stripe_mock, tax, webhook_mode):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)
    completed = copy.deepcopy(events["completed"])
    completed["data"]["object"]["amount_total"] = 2400  # the tax says 2379

    assert deliver(client, [completed]) == [webhook_mode.answer("ignored")]

    payment.refresh_from_db()
    assert (payment.status, payment.amount, payment.amount_tax) == ("pending", Decimal("19.99"), Decimal("0"))
    assert "mismatch" in WebhookEvent.objects.get().note


def test_a_session_claiming_another_line_is_refused(api, client, stripe_mock, tax, webhook_mode):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)
    completed = copy.deepcopy(events["completed"])
    obj = completed["data"]["object"]
    obj.update(amount_subtotal=999, amount_total=999 + 190)
    obj["total_details"]["amount_tax"] = 190

    assert deliver(client, [completed]) == [webhook_mode.answer("ignored")]

    payment.refresh_from_db()
    assert (payment.status, payment.amount) == ("pending", Decimal("19.99"))


def test_another_installations_payment_intent_does_not_verify(api, client, stripe_mock, tax, webhook_mode):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)

    with override_settings(SECRET_KEY="another installation's secret " * 2):
        outcomes = deliver(client, [events["succeeded"]])

    assert outcomes == [webhook_mode.answer("ignored")]
    payment.refresh_from_db()
    assert (payment.status, payment.amount, payment.amount_tax) == ("pending", Decimal("19.99"), Decimal("0"))
    assert stripe_mock.calls_to("retrieve_checkout_session") == []


def test_a_forged_session_from_another_installation_builds_nothing(api, client, stripe_mock, tax, webhook_mode):
    with override_settings(SECRET_KEY="another installation's secret " * 2):
        payment = start(api)
    events = paid(stripe_mock, payment, DE)
    Payment.objects.all().delete()  # not stored here: only a mark that verifies could rebuild it

    outcomes = deliver(client, [events["completed"]])

    assert outcomes == [webhook_mode.answer("ignored")]
    assert not Payment.objects.exists()


def test_a_lost_row_is_rebuilt_from_its_session_with_the_tax(api, client, stripe_mock, tax, user):
    payment = start(api)
    events = paid(stripe_mock, payment, DE)
    Payment.objects.all().delete()  # the process died between Stripe's answer and the INSERT

    deliver(client, [events["completed"], events["succeeded"]])

    rebuilt = Payment.objects.get()
    assert (rebuilt.user, rebuilt.status, rebuilt.amount, rebuilt.amount_tax) == (
        user, "succeeded", Decimal("23.79"), Decimal("3.80"))
    assert rebuilt.billing_address == DE and rebuilt.tax_breakdown[0]["amount"] == 380


def test_refreshing_from_stripe_before_any_event_takes_the_tax(api, stripe_mock, tax):
    payment = start(api)
    paid(stripe_mock, payment, DE)

    result = services.refresh_payment(payment)  # update-status and apranova_reconcile's path

    payment.refresh_from_db()
    assert (result.old_status, result.new_status) == ("pending", "succeeded")
    assert (payment.amount, payment.amount_tax, payment.billing_address) == (Decimal("23.79"), Decimal("3.80"), DE)
    assert payment.tax_breakdown[0]["amount"] == 380
    body = api.get(reverse("apranova_payments:payment-detail", args=[payment.stripe_payment_intent])).json()
    assert (body["amount"], body["amountTax"]) == ("23.79", "3.80")


def test_a_session_expired_after_the_address_was_taxed_cancels_the_payment(api, client, stripe_mock, tax,
                                                                          webhook_mode):
    payment = start(api)
    stripe_mock.enter_address(payment.stripe_checkout_session, DE)  # the total now includes the tax
    expired = event(stripe_mock.expire_session(payment.stripe_checkout_session), "checkout.session.expired")
    assert expired["data"]["object"]["amount_total"] == 2379

    assert deliver(client, [expired]) == [webhook_mode.answer("processed")]

    payment.refresh_from_db()
    # Nothing was charged: the payment keeps its line, and no tax is recorded.
    assert (payment.status, payment.amount, payment.amount_tax, payment.billing_address) == (
        "canceled", Decimal("19.99"), Decimal("0"), {})
