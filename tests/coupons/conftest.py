"""What the coupon tests share: a coupon maker, create-payment with a coupon, and settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments.models import Coupon

CREATE = reverse("apranova_payments:create-payment")


def make_coupon(code: str = "SPRING25", **fields: Any) -> Coupon:
    """A coupon, 25% off unless ``fields`` say otherwise (``amount_off`` needs ``currency``)."""
    if "amount_off" not in fields:
        fields.setdefault("percent_off", Decimal(25))
    return Coupon.objects.create(code=code, **fields)


def create(api: Any, coupon: Any = "SPRING25", amount: str = "100.00", currency: str = "usd", **headers: Any) -> Any:
    body: dict[str, Any] = {"amount": amount, "currency": currency}
    if coupon is not ...:
        body["coupon"] = coupon
    return api.post(CREATE, body, format="json", **headers)


def payments_settings(**extra: Any) -> Any:
    return override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, **extra})


def coupon_errors(response: Any) -> list[str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"coupon"}, body
    return list(body["coupon"])


@pytest.fixture
def coupon(db: Any) -> Coupon:
    return make_coupon()
