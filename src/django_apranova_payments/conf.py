"""Settings: one ``APRANOVA_PAYMENTS`` dict, read lazily.

``app_settings.NAME`` looks the key up in ``settings.APRANOVA_PAYMENTS`` on first access,
falls back to the top-level ``STRIPE_*`` names for the three Stripe keys, then to
``DEFAULTS``. The cache is dropped whenever Django's ``setting_changed`` fires, so
``override_settings`` in tests works as expected. Nothing is ever written into the host's
settings.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

SETTINGS_NAME = "APRANOVA_PAYMENTS"

#: Pinned Stripe API version; matches the stripe-python release the package is tested with.
STRIPE_API_VERSION = "2026-10-28.endive"

DEFAULTS: dict[str, Any] = {
    "STRIPE_SECRET_KEY": None,
    "STRIPE_PUBLISHABLE_KEY": None,
    "STRIPE_WEBHOOK_SECRET": None,
    "STRIPE_API_VERSION": STRIPE_API_VERSION,
    "STRIPE_API_BASE": None,
    "CURRENCIES": ["usd", "inr", "eur", "gbp"],
    "DEFAULT_CURRENCY": "usd",
    "STRIPE_TIMEOUT": 20,
    "STRIPE_MAX_NETWORK_RETRIES": 2,
    "WEBHOOK_TOLERANCE": 300,
    "WEBHOOK_MAX_BYTES": 1_048_576,
    "PRICE_RESOLVER": None,
    "PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "GATEWAY": "django_apranova_payments.gateway.StripeGateway",
    # The offline simulator (GATEWAY = "django_apranova_payments.simulator.gateway.SimulatorGateway"):
    # where it posts its signed webhook events (loopback only), and how long it waits.
    "SIMULATOR_WEBHOOK_URL": None,
    "SIMULATOR_WEBHOOK_TIMEOUT": 5,
}

#: Keys that may also be given as top-level settings (the names the seed project used).
TOP_LEVEL_FALLBACKS = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")

#: Keys holding dotted paths that are imported on access.
IMPORT_STRINGS = ("PRICE_RESOLVER", "GATEWAY")


class AppSettings:
    """Attribute access to the package settings, cached until a setting changes."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown {SETTINGS_NAME} setting: {name!r}")
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def _load(self, name: str) -> Any:
        user = getattr(settings, SETTINGS_NAME, None) or {}
        if not isinstance(user, dict):
            raise ImproperlyConfigured(f"settings.{SETTINGS_NAME} must be a dict.")
        if name in user:
            value = user[name]
        elif name in TOP_LEVEL_FALLBACKS and getattr(settings, name, None) is not None:
            value = getattr(settings, name)
        else:
            value = DEFAULTS[name]
        if name in IMPORT_STRINGS and isinstance(value, str):
            value = _import(name, value)
        if name == "PERMISSION_CLASSES":
            if isinstance(value, str):  # iterating it would import "r", "e", "s", ...
                raise ImproperlyConfigured(
                    f"{SETTINGS_NAME}[{name!r}] must be a list of dotted paths, not a string."
                )
            value = [_import(name, v) if isinstance(v, str) else v for v in value]
        return value

    def require(self, name: str) -> Any:
        """The value of ``name``, or ImproperlyConfigured saying exactly what to set."""
        value = getattr(self, name)
        if not value:
            raise ImproperlyConfigured(
                f"django-apranova-payments needs {SETTINGS_NAME}[{name!r}] "
                f"(or settings.{name}) to be set."
            )
        return value

    @property
    def gateway(self) -> Any:
        """An instance of the ``GATEWAY`` class, built on first use."""
        if "_gateway" not in self._cache:
            self._cache["_gateway"] = self.GATEWAY()
        return self._cache["_gateway"]

    def clear(self) -> None:
        self._cache.clear()

    @property
    def webhook_secrets(self) -> list[str]:
        """The configured webhook secrets as a list (rotation allows several)."""
        value = self.STRIPE_WEBHOOK_SECRET
        if not value:
            return []
        if isinstance(value, str):
            return [value]
        return [s for s in value if s]


def _import(name: str, path: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}[{name!r}] = {path!r} could not be imported: {exc}"
        ) from exc


app_settings = AppSettings()


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in (SETTINGS_NAME, *TOP_LEVEL_FALLBACKS):
        app_settings.clear()
