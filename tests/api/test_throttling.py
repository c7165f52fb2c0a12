"""THROTTLE_RATES: per-user throttles on the endpoints that call Stripe (429 with Retry-After)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory

CREATE_URL = reverse("apranova_payments:create-payment")
UPDATE_URL = reverse("apranova_payments:update-status")
LIST_URL = reverse("apranova_payments:payment-list")


def cancel_url(payment: Any) -> str:
    return reverse("apranova_payments:payment-cancel", args=[payment.stripe_payment_intent])


@pytest.fixture(autouse=True)
def counting_cache() -> Any:
    """The suite's settings use a dummy cache (it counts nothing); these tests count, in a
    local-memory cache emptied around each test."""
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                          "LOCATION": "apranova-throttling-tests"}}
    with override_settings(CACHES=caches):
        cache.clear()
        yield
        cache.clear()


def rates(**rates: Any) -> Any:
    return override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "THROTTLE_RATES": rates})


def create(api: APIClient) -> Any:
    return api.post(CREATE_URL, data=json.dumps({"amount": "10.00"}), content_type="application/json")


def update(api: APIClient, payment: Any) -> Any:
    body = json.dumps({"paymentIntent": payment.stripe_payment_intent})
    return api.post(UPDATE_URL, data=body, content_type="application/json")


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_create_is_throttled_with_429_and_retry_after(api, stripe_mock):
    with rates(create="2/min"):
        statuses = [create(api).status_code for _ in range(3)]
        throttled = create(api)

    assert statuses == [201, 201, 429]
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 60
    assert set(throttled.json()) == {"detail"} and "throttled" in throttled.json()["detail"]
    assert len(stripe_mock.calls_to("create")) == 2  # the throttled requests never reached Stripe


def test_default_rates_apply_without_throttle_rates(api, stripe_mock):
    config = {k: v for k, v in settings.APRANOVA_PAYMENTS.items() if k != "THROTTLE_RATES"}
    with override_settings(APRANOVA_PAYMENTS=config):
        statuses = [create(api).status_code for _ in range(21)]

    assert statuses == [201] * 20 + [429]  # "create": "20/min"


def test_one_users_throttle_does_not_affect_another_user(api, other_user, stripe_mock):
    with rates(create="1/min"):
        mine = [create(api).status_code for _ in range(2)]
        theirs = create(client_for(other_user)).status_code

    assert mine == [201, 429]
    assert theirs == 201


def test_each_endpoint_has_its_own_count(api, user, stripe_mock):
    payment = PaymentFactory(user=user)
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "requires_payment_method")
    with rates(create="1/min", update_status="1/min", cancel="1/min"):
        first = [create(api).status_code, update(api, payment).status_code]
        second = [create(api).status_code, update(api, payment).status_code]

    assert first == [201, 200]
    assert second == [429, 429]


def test_cancel_is_throttled(api, user, stripe_mock):
    payments = [PaymentFactory(user=user, status="canceled", stripe_status="canceled") for _ in range(2)]
    with rates(cancel="1/min"):
        statuses = [api.post(cancel_url(payment)).status_code for payment in payments]

    assert statuses == [200, 429]


def test_update_status_on_a_final_payment_counts_too(api, user, stripe_mock):
    """Answered from the database, but still a request: a client polling in a loop after the
    payment succeeded is slowed down like any other."""
    payment = PaymentFactory(user=user, status="succeeded", stripe_status="succeeded")
    with rates(update_status="2/min"):
        statuses = [update(api, payment).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert stripe_mock.calls == []


def test_none_turns_one_throttle_off_and_keeps_the_others(api, user, stripe_mock):
    payment = PaymentFactory(user=user, status="succeeded", stripe_status="succeeded")
    with rates(create=None, update_status="1/min"):
        creates = [create(api).status_code for _ in range(25)]
        updates = [update(api, payment).status_code for _ in range(2)]

    assert creates == [201] * 25
    assert updates == [200, 429]


def test_a_partial_dict_keeps_the_default_of_the_others(api, user, stripe_mock):
    payment = PaymentFactory(user=user, status="succeeded", stripe_status="succeeded")
    with rates(create="1/min"):  # update_status keeps "60/min"
        updates = [update(api, payment).status_code for _ in range(61)]

    assert updates == [200] * 60 + [429]


def test_reading_endpoints_are_not_throttled(api, user, stripe_mock):
    PaymentFactory(user=user)
    with rates(create="1/min", update_status="1/min", cancel="1/min"):
        statuses = {api.get(LIST_URL).status_code for _ in range(5)}

    assert statuses == {200}


def test_counts_do_not_share_keys_with_a_hosts_own_scoped_throttle(api, stripe_mock):
    """A host's ScopedRateThrottle scope named "create" keeps its own count."""
    with rates(create="1/min"):
        create(api)

    keys = list(cache._cache)  # type: ignore[attr-defined]
    assert [key for key in keys if "throttle_apranova_payments_create_" in key] != []
    assert [key for key in keys if "throttle_create_" in key] == []


def test_a_bad_rate_is_a_clear_error_not_a_crash_inside_drf(api, stripe_mock):
    with rates(create="20 per minute"):
        with pytest.raises(ImproperlyConfigured, match=r"THROTTLE_RATES'\]\['create'\]"):
            create(api)

    assert stripe_mock.calls == []


def test_rates_follow_override_settings_at_request_time(api, stripe_mock):
    with rates(create="1/min"):
        assert create(api).status_code == 201
        assert create(api).status_code == 429
    with rates(create="5/min"):
        assert create(api).status_code == 201  # the same history, counted against the new rate
