"""Factories for the suite: the ones the package ships to hosts, plus the test user."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Permission

from django_apranova_payments.models import Coupon, Payment, Refund
from django_apranova_payments.testing.factories import PaymentFactory, UserFactory, WebhookEventFactory

__all__ = ["CouponFactory", "PaymentFactory", "UserFactory", "WebhookEventFactory", "dated_payment",
           "discounted_payment", "staff_holding"]


class CouponFactory(factory.django.DjangoModelFactory):
    """An active coupon, 25% off, with a unique code; ``amount_off=…, currency=…`` (and
    ``percent_off=None``) makes an amount off."""

    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SPRING{n:04d}")
    percent_off = Decimal(25)


def dated_payment(created: datetime, amount: str = "10.00", currency: str = "usd", status: str = "succeeded", *,
                  succeeded: datetime | None = None, refunded: str = "0.00", refunded_at: datetime | None = None,
                  **extra: Any) -> Payment:
    """A payment created at ``created``; a succeeded one succeeded at ``succeeded`` (by default
    when it was created). With ``refunded``, a succeeded refund of that much, made at
    ``refunded_at`` (by default when the payment was created), in ``amount_refunded`` too."""
    if status == "succeeded":
        extra["succeeded_at"] = succeeded or created
    payment = PaymentFactory(created_at=created, amount=Decimal(amount), currency=currency, status=status,
                             amount_refunded=Decimal(refunded), **extra)
    if Decimal(refunded):
        refund = Refund.objects.create(payment=payment, stripe_refund=f"re_{payment.pk}", amount=Decimal(refunded),
                                       currency=currency, status="succeeded")
        Refund.objects.filter(pk=refund.pk).update(created_at=refunded_at or created)
    return payment


def staff_holding(*codenames: str, **kwargs: Any) -> Any:
    """A staff user (not a superuser) holding exactly these permissions of the app, such as
    ``refund_payment`` or ``view_payment``."""
    user = UserFactory(is_staff=True, **kwargs)
    permissions = Permission.objects.filter(content_type__app_label="apranova_payments", codename__in=codenames)
    assert len(permissions) == len(codenames)
    user.user_permissions.add(*permissions)
    return user


# --- payments with a coupon (the discounts in the analytics) -----------------------------------


def discounted_payment(created: datetime, amount: str, discount: str, currency: str = "usd",
                       status: str = "succeeded", *, code: str = "SPRING25", **extra: Any) -> Payment:
    """A payment as ``dated_payment`` makes it, with the coupon ``code`` (25% off, created on
    first use) and ``discount`` taken off: ``amount`` is what was charged after it. The
    figures read the stored ``discount``, never the coupon's terms."""
    coupon, _ = Coupon.objects.get_or_create(code=code, defaults={"percent_off": Decimal(25)})
    return dated_payment(created, amount, currency, status, coupon=coupon, discount=Decimal(discount), **extra)
