import importlib.util

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApranovaPaymentsConfig(AppConfig):
    name = "django_apranova_payments"
    label = "apranova_payments"
    verbose_name = _("Payments")
    # Explicit, so a host's DEFAULT_AUTO_FIELD never asks for a migration of ours.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, gateway  # noqa: F401  (registers the system checks)

        gateway.configure_stripe()
        if importlib.util.find_spec("drf_spectacular") is not None:
            from .api import openapi, openapi_checkout, openapi_views  # noqa: F401  (register the schema extensions)
