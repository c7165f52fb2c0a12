"""Factories for the suite: the ones the package ships to hosts, plus the test user."""

from django_apranova_payments.testing.factories import PaymentFactory, UserFactory, WebhookEventFactory

__all__ = ["PaymentFactory", "UserFactory", "WebhookEventFactory"]
