"""factory-boy factories for payments and stored webhook events (needs ``factory-boy``)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model

from ..models import Payment, WebhookEvent
from .events import build_event


class UserFactory(factory.django.DjangoModelFactory):
    """A user of the host's ``AUTH_USER_MODEL``, created through its manager's ``create_user``."""

    class Meta:
        model = get_user_model()

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        sequence = secrets.token_hex(4)
        username_field = model_class.USERNAME_FIELD
        kwargs.setdefault(username_field, f"user-{sequence}" if username_field != "email" else None)
        if "email" in {f.name for f in model_class._meta.get_fields()}:
            kwargs.setdefault("email", f"user-{sequence}@example.com")
        if kwargs.get(username_field) is None:
            kwargs[username_field] = kwargs["email"]
        kwargs.setdefault("password", "correct horse battery staple")
        return model_class._default_manager.create_user(*args, **kwargs)


class PaymentFactory(factory.django.DjangoModelFactory):
    """A pending USD payment with a unique ``pi_…`` id. ``created_at=…`` dates it (the field is
    ``auto_now_add``, so it is set by an update after the insert)."""

    class Meta:
        model = Payment

    user = factory.SubFactory(UserFactory)
    stripe_payment_intent = factory.LazyFunction(lambda: f"pi_{secrets.token_hex(12)}")
    amount = Decimal("999.00")
    currency = "usd"
    status = Payment.Status.PENDING
    stripe_status = "requires_payment_method"
    metadata = factory.LazyFunction(dict)

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        created_at = kwargs.pop("created_at", None)
        payment = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class._default_manager.filter(pk=payment.pk).update(created_at=created_at)
            payment.created_at = created_at
        return payment


class WebhookEventFactory(factory.django.DjangoModelFactory):
    """A stored, processed ``payment_intent.succeeded`` event for a new payment."""

    class Meta:
        model = WebhookEvent
        exclude = ["payment", "event_type", "event"]

    payment = factory.SubFactory(PaymentFactory)
    event_type = "payment_intent.succeeded"
    event = factory.LazyAttribute(lambda o: build_event(o.payment, o.event_type))
    stripe_id = factory.LazyAttribute(lambda o: o.event["id"])
    type = factory.LazyAttribute(lambda o: o.event_type)
    object_id = factory.LazyAttribute(lambda o: o.payment.stripe_payment_intent)
    payload = factory.LazyAttribute(lambda o: o.event)
    outcome = WebhookEvent.Outcome.PROCESSED
    attempts = 1
