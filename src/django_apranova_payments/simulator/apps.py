from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulatorConfig(AppConfig):
    """The offline simulator: an app of its own, installed only where it is used, so a
    production install has no simulator table, URL or code path."""

    name = "django_apranova_payments.simulator"
    label = "apranova_simulator"
    verbose_name = _("Payment simulator")
    # Explicit, so a host's DEFAULT_AUTO_FIELD never asks for a migration of ours.
    default_auto_field = "django.db.models.BigAutoField"
