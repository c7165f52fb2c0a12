"""POST checkout/: a Stripe Checkout Session for the same purchase as create-payment (price,
coupon, throttle, Idempotency-Key), redirect URLs that cannot be turned into an open redirect,
and what Stripe is sent."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test.utils import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from django_apranova_payments.conf import STRIPE_API_VERSION
from django_apranova_payments.metadata import CHECKOUT, MARK, USER, verified_owner
from django_apranova_payments.models import Coupon, Payment
from django_apranova_payments.testing import post_event, stripe_objects
from tests.factories import staff_holding

URL = reverse("apranova_payments:checkout-session")
SUCCESS, CANCEL = "https://shop.example/paid?course=12", "https://shop.example/courses/12"
HOSTS = {"ALLOWED_HOSTS": ["testserver", "shop.example", ".campus.example"]}


@pytest.fixture(autouse=True)
def redirect_hosts() -> Any:
    with override_settings(**HOSTS, APRANOVA_PAYMENTS={
        **settings.APRANOVA_PAYMENTS, "CHECKOUT_REDIRECT_HOSTS": ["pay.partner.example", "bücher.example"],
    }):
        yield


def checkout(api: Any, body: dict[str, Any] | None = None, **headers: Any) -> Any:
    body = {"amount": "19.99", "successUrl": SUCCESS, "cancelUrl": CANCEL, **(body or {})}
    return api.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def test_checkout_creates_a_session_and_a_pending_payment(api, user, stripe_mock):
    response = checkout(api, {"metadata": {"course": "12"}})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"checkoutSession", "url", "payment"}
    session = stripe_mock.sessions[body["checkoutSession"]]
    assert body["url"] == session["url"] and body["url"].startswith("https://checkout.stripe.com/")
    assert body["payment"]["checkoutSession"] == session["id"] and body["payment"]["paymentIntent"] is None
    assert (body["payment"]["status"], body["payment"]["amount"]) == ("pending", "19.99")
    payment = Payment.objects.get(stripe_checkout_session=session["id"])
    assert (payment.user, payment.stripe_payment_intent, payment.amount) == (user, None, Decimal("19.99"))
    assert payment.metadata == {"course": "12"}


def test_the_session_is_one_price_data_line_in_exact_minor_units_with_the_mark(api, user, stripe_mock):
    response = checkout(api, {"metadata": {"course": "12", "product_name": "Django in depth"}})

    [call] = stripe_mock.calls_to("create_checkout_session")
    sent = call["params"]
    assert sent["mode"] == "payment"
    assert sent["line_items"] == {"0": {"quantity": "1", "price_data": {
        "currency": "usd", "unit_amount": "1999", "product_data": {"name": "Django in depth"}}}}
    assert sent["success_url"] == SUCCESS + "&session_id={CHECKOUT_SESSION_ID}"
    assert sent["cancel_url"] == CANCEL
    assert sent["customer_email"] == user.email
    assert sent["metadata"] == sent["payment_intent_data"]["metadata"]
    assert sent["metadata"][USER] == str(user.pk) and MARK in sent["metadata"]
    payment = Payment.objects.get(stripe_checkout_session=response.json()["checkoutSession"])
    assert sent["client_reference_id"] == sent["metadata"][CHECKOUT] == payment.checkout_reference.hex
    owner = verified_owner(sent["metadata"], 1999, "usd")
    assert owner is not None and owner.checkout == payment.checkout_reference.hex
    assert call["headers"]["Idempotency-Key"].startswith("apranova-checkout-")


@pytest.mark.parametrize(("amount", "currency", "minor"), [("1000", "jpy", "1000"), ("5.12", "kwd", "5120")])
def test_the_line_is_in_the_currencys_minor_units(api, stripe_mock, amount, currency, minor):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "CURRENCIES": ["usd", currency]}):
        response = checkout(api, {"amount": amount, "currency": currency})

    assert response.status_code == 201, response.content
    price = stripe_mock.calls_to("create_checkout_session")[0]["params"]["line_items"]["0"]["price_data"]
    assert (price["unit_amount"], price["currency"]) == (minor, currency)


def test_without_a_product_name_the_line_is_called_payment(api, stripe_mock):
    checkout(api)

    sent = stripe_mock.calls_to("create_checkout_session")[0]["params"]
    assert sent["line_items"]["0"]["price_data"]["product_data"] == {"name": "Payment"}


def test_a_user_without_an_email_address_sends_no_customer_email(api, user, stripe_mock):
    user.email = ""
    user.save()

    assert checkout(api).status_code == 201
    assert "customer_email" not in stripe_mock.calls_to("create_checkout_session")[0]["params"]


UNSAFE = [
    "//evil.example/path",
    "javascript:alert(1)",
    "https://good.example@evil.example/",
    "https://shop.example@evil.example/",
    "https://shop.example:pw@evil.example/",
    "https://evil.example\\@shop.example/",
    "https:\\\\evil.example/",
    "https://evil.example\\shop.example",
    "/relative/path",
    "shop.example/paid",
    "ftp://shop.example/file",
    "https://evil.example/",
    "https://shop.example.evil.example/",
    "https://evilshop.example/",
    "https://sh\u043ep.example/",  # a Cyrillic "o"
    "https://xn--shp-tdd.example/",
    "https://shop.example /x",
    "https://shop.example/\nLocation: https://evil.example",
    "https://\x07shop.example/",
    "http://shop.example:99999/",
    "https:///shop.example",
    "https://" + "a" * 2050 + ".shop.example/",
    "",
]


@pytest.mark.parametrize("field", ["successUrl", "cancelUrl"])
@pytest.mark.parametrize("url", UNSAFE)
def test_an_unsafe_redirect_url_is_400_on_its_field_before_stripe(api, stripe_mock, field, url):
    response = checkout(api, {field: url})

    assert response.status_code == 400, response.content
    assert set(response.json()) == {field}
    assert stripe_mock.calls == [] and not Payment.objects.exists()


@pytest.mark.parametrize("body", [{"successUrl": None}, {"cancelUrl": 5}, {"successUrl": ["https://shop.example/"]}])
def test_a_redirect_url_of_the_wrong_type_is_400(api, stripe_mock, body):
    response = checkout(api, body)

    assert response.status_code == 400 and set(response.json()) == set(body)


def test_both_urls_are_required(api, stripe_mock):
    response = api.post(URL, data=json.dumps({"amount": "19.99"}), content_type="application/json")

    assert response.status_code == 400 and set(response.json()) == {"successUrl", "cancelUrl"}


@pytest.mark.parametrize(("url", "sent"), [
    ("https://shop.example/ok", "https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}"),
    ("http://SHOP.example:8000/ok#top", "http://shop.example:8000/ok?session_id={CHECKOUT_SESSION_ID}#top"),
    ("https://campus.example/ok", "https://campus.example/ok?session_id={CHECKOUT_SESSION_ID}"),
    ("https://north.campus.example/ok", "https://north.campus.example/ok?session_id={CHECKOUT_SESSION_ID}"),
    ("https://pay.partner.example/ok", "https://pay.partner.example/ok?session_id={CHECKOUT_SESSION_ID}"),
    ("https://bücher.example/ok", "https://xn--bcher-kva.example/ok?session_id={CHECKOUT_SESSION_ID}"),
    ("https://xn--bcher-kva.example/ok", "https://xn--bcher-kva.example/ok?session_id={CHECKOUT_SESSION_ID}"),
])
def test_a_url_on_an_allowed_host_is_sent_in_ascii_form(api, stripe_mock, url, sent):
    assert checkout(api, {"successUrl": url}).status_code == 201

    assert stripe_mock.calls_to("create_checkout_session")[0]["params"]["success_url"] == sent


def test_a_wildcard_in_allowed_hosts_allows_no_redirect(api, stripe_mock):
    with override_settings(ALLOWED_HOSTS=["testserver", "*"]):
        response = checkout(api, {"successUrl": "https://evil.example/", "cancelUrl": "https://pay.partner.example/"})

    assert response.status_code == 400 and set(response.json()) == {"successUrl"}


def test_a_percent_coupon_comes_off_the_session_line(api, stripe_mock):
    Coupon.objects.create(code="SPRING25", percent_off=Decimal(25))

    response = checkout(api, {"amount": "20.00", "coupon": "spring25"})

    assert response.status_code == 201, response.content
    assert (response.json()["payment"]["amount"], response.json()["payment"]["discount"]) == ("15.00", "5.00")
    price = stripe_mock.calls_to("create_checkout_session")[0]["params"]["line_items"]["0"]["price_data"]
    assert price["unit_amount"] == "1500"
    sent = stripe_mock.calls_to("create_checkout_session")[0]["params"]["metadata"]
    owner = verified_owner(sent, 1500, "usd")
    assert owner is not None and (owner.coupon, owner.discount_minor) == ("SPRING25", 500)


def test_a_used_up_coupon_is_400_before_stripe(api, user, stripe_mock):
    Coupon.objects.create(code="ONCE", percent_off=Decimal(10), max_redemptions=1)
    assert checkout(api, {"coupon": "ONCE"}).status_code == 201

    response = checkout(api, {"coupon": "ONCE"})

    assert response.status_code == 400 and set(response.json()) == {"coupon"}
    assert len(stripe_mock.calls_to("create_checkout_session")) == 1


def test_an_expired_session_gives_its_coupon_back(api, stripe_mock):
    Coupon.objects.create(code="ONCE", percent_off=Decimal(10), max_redemptions=1)
    first = checkout(api, {"coupon": "ONCE"}).json()
    cancel = reverse("apranova_payments:payment-cancel", args=[first["checkoutSession"]])

    assert api.post(cancel).json()["status"] == "canceled"
    assert stripe_mock.sessions[first["checkoutSession"]]["status"] == "expired"
    assert checkout(api, {"coupon": "ONCE"}).status_code == 201


def test_a_coupon_that_makes_it_free_makes_a_free_payment_and_no_session(api, stripe_mock):
    Coupon.objects.create(code="GIFT", percent_off=Decimal(100))
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "ALLOW_FREE": True}):
        response = checkout(api, {"coupon": "GIFT"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["checkoutSession"], body["url"], body["payment"]["status"]) == (None, SUCCESS, "succeeded")
    assert stripe_mock.calls == []


def test_the_price_resolver_decides_the_price(api, stripe_mock):
    def resolver(request: Any, data: dict[str, Any]) -> dict[str, Any]:
        return {"amount": Decimal("49.00"), "currency": "usd", "metadata": {"course": data["metadata"]["course"],
                                                                             "product_name": "Course 12"}}

    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "PRICE_RESOLVER": resolver}):
        response = checkout(api, {"amount": "1.00", "metadata": {"course": "12"}})

    assert response.json()["payment"]["amount"] == "49.00"
    price = stripe_mock.calls_to("create_checkout_session")[0]["params"]["line_items"]["0"]["price_data"]
    assert (price["unit_amount"], price["product_data"]["name"]) == ("4900", "Course 12")


def test_same_idempotency_key_and_body_returns_the_same_session(api, stripe_mock):
    first = checkout(api, HTTP_IDEMPOTENCY_KEY="order-1")
    again = checkout(api, HTTP_IDEMPOTENCY_KEY="order-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_mock.calls_to("create_checkout_session")) == 1 and Payment.objects.count() == 1


def test_same_idempotency_key_with_another_body_is_422(api, stripe_mock):
    checkout(api, HTTP_IDEMPOTENCY_KEY="order-1")

    response = checkout(api, {"cancelUrl": "https://shop.example/other"}, HTTP_IDEMPOTENCY_KEY="order-1")

    assert response.status_code == 422


def test_a_retry_after_a_lost_answer_gets_stripes_same_session(api, stripe_mock):
    stripe_mock.fail_next("create_checkout_session", lost_response=True)
    assert checkout(api, HTTP_IDEMPOTENCY_KEY="order-1").status_code == 503

    response = checkout(api, HTTP_IDEMPOTENCY_KEY="order-1")

    assert response.status_code == 201
    assert list(stripe_mock.sessions) == [response.json()["checkoutSession"]]


def test_stripe_unavailable_is_503_and_stores_nothing(api, stripe_mock):
    stripe_mock.fail_next("create_checkout_session")

    response = checkout(api)

    assert response.status_code == 503 and "Retry-After" in response.headers
    assert not Payment.objects.exists()


def test_checkout_shares_create_payments_throttle(api, stripe_mock):
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "checkout"}}
    rates = {**settings.APRANOVA_PAYMENTS["THROTTLE_RATES"]} if "THROTTLE_RATES" in settings.APRANOVA_PAYMENTS else {}
    with override_settings(CACHES=caches, APRANOVA_PAYMENTS={
        **settings.APRANOVA_PAYMENTS, "CHECKOUT_REDIRECT_HOSTS": [], "THROTTLE_RATES": {**rates, "create": "2/min"},
    }):
        cache.clear()
        statuses = [checkout(api).status_code for _ in range(3)]
        cache.clear()

    assert statuses == [201, 201, 429]


def test_detail_answers_to_the_session_id(api, stripe_mock):
    session = checkout(api).json()["checkoutSession"]

    response = api.get(reverse("apranova_payments:payment-detail", args=[session]))

    assert response.status_code == 200 and response.json()["checkoutSession"] == session


def test_anonymous_is_refused(client, stripe_mock):
    response = client.post(URL, data=json.dumps({"amount": "1.00"}), content_type="application/json")

    assert response.status_code in (401, 403) and stripe_mock.calls == []


def test_a_key_spent_on_create_payment_is_422_on_checkout_and_back(api, stripe_mock):
    create_url = reverse("apranova_payments:create-payment")
    api.post(create_url, data=json.dumps({"amount": "19.99"}), content_type="application/json",
             HTTP_IDEMPOTENCY_KEY="order-1")
    checkout(api, HTTP_IDEMPOTENCY_KEY="order-2")

    assert checkout(api, HTTP_IDEMPOTENCY_KEY="order-1").status_code == 422
    again = api.post(create_url, data=json.dumps({"amount": "19.99"}), content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="order-2")
    assert again.status_code == 422


def test_a_paid_checkout_payment_is_refunded_through_its_payment_intent(api, client, stripe_mock):
    session_id = checkout(api).json()["checkoutSession"]
    session, intent = stripe_mock.pay_session(session_id)
    post_event(client, stripe_objects.event(session, "checkout.session.completed", api_version=STRIPE_API_VERSION))
    staff = APIClient()
    staff.force_authenticate(staff_holding("refund_payment"))

    response = staff.post(reverse("apranova_payments:payment-refund", args=[session_id]),
                          data=json.dumps({"amount": "5.00"}), content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["paymentIntent"] == intent["id"]
    assert stripe_mock.calls_to("refund")[0]["params"]["payment_intent"] == intent["id"]


def test_a_pending_checkout_payment_is_not_refundable(api, stripe_mock):
    session_id = checkout(api).json()["checkoutSession"]
    staff = APIClient()
    staff.force_authenticate(staff_holding("refund_payment"))

    response = staff.post(reverse("apranova_payments:payment-refund", args=[session_id]), data="{}",
                          content_type="application/json")

    assert response.status_code == 409 and stripe_mock.calls_to("refund") == []
