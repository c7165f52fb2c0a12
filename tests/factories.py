"""Factories for the suite: the ones the package ships to hosts, plus the test user."""

from typing import Any

from django.contrib.auth.models import Permission

from django_apranova_payments.testing.factories import PaymentFactory, UserFactory, WebhookEventFactory

__all__ = ["PaymentFactory", "UserFactory", "WebhookEventFactory", "staff_holding"]


def staff_holding(*codenames: str, **kwargs: Any) -> Any:
    """A staff user (not a superuser) holding exactly these permissions of the app, such as
    ``refund_payment`` or ``view_payment``."""
    user = UserFactory(is_staff=True, **kwargs)
    permissions = Permission.objects.filter(content_type__app_label="apranova_payments", codename__in=codenames)
    assert len(permissions) == len(codenames)
    user.user_permissions.add(*permissions)
    return user
