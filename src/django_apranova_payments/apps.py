import importlib.util
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


class ApranovaPaymentsConfig(AppConfig):
    name = "django_apranova_payments"
    label = "apranova_payments"
    verbose_name = _("Payments")
    # Explicit, so a host's DEFAULT_AUTO_FIELD never asks for a migration of ours.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, gateway, receipt_mail, signals  # noqa: F401  (registers the system checks)

        gateway.configure_stripe()
        # A deleted user's Stripe Customer is deleted too (or queued when Stripe is away).
        pre_delete.connect(_delete_customer, sender=settings.AUTH_USER_MODEL, dispatch_uid="apranova_customers")
        # Our own numbered receipt by e-mail (RECEIPT_EMAIL with SELLER), after the commit.
        signals.payment_succeeded.connect(receipt_mail.queue_receipt, dispatch_uid="apranova_receipt_email")
        if importlib.util.find_spec("drf_spectacular") is not None:
            from .api import (  # noqa: F401  (the extensions)
                openapi,
                openapi_cards,
                openapi_checkout,
                openapi_receipts,
                openapi_views,
            )


def _delete_customer(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .services.customers import queue_customer_deletion

    queue_customer_deletion(instance)
