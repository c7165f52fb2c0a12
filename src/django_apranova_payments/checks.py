"""Misconfiguration, reported by ``manage.py check`` with stable ids.

========  =====================================================================
id        problem
========  =====================================================================
E001      no Stripe secret key, or one that is not ``sk_…``/``rk_…``
E002      no publishable key, or one that is not ``pk_…``
E003      test and live keys mixed
E004      a currency in ``CURRENCIES`` (or ``DEFAULT_CURRENCY``) Stripe does not support
E005      the offline simulator gateway with ``DEBUG`` off
E006      ``GATEWAY`` or ``PRICE_RESOLVER`` cannot be imported
E007      ``DEFAULT_CURRENCY`` is not one of ``CURRENCIES``
W001      webhook secret missing or not ``whsec_…``
W002      live keys while ``DEBUG`` is on
========  =====================================================================
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from . import money
from .conf import SETTINGS_NAME, app_settings

ID = "apranova_payments.{}"


def _setting(name: str) -> str:
    return f"{SETTINGS_NAME}[{name!r}]"


@register(Tags.security, Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    gateway_class = _gateway_class(messages)
    if gateway_class is None or getattr(gateway_class, "uses_stripe_keys", True):
        messages += check_keys()
    if gateway_class is not None and getattr(gateway_class, "is_simulator", False) and not settings.DEBUG:
        messages.append(Error(
            "The offline payment simulator is configured while DEBUG is False.",
            hint=f"Set {_setting('GATEWAY')} to the Stripe gateway (the default) in production.",
            id=ID.format("E005"),
        ))
    messages += check_currencies()
    messages += check_webhook_secret()
    return messages


def _gateway_class(messages: list[CheckMessage]) -> Any:
    """The ``GATEWAY`` class, or ``None``; an E006 for each dotted path that fails to import
    (a bad ``PRICE_RESOLVER`` must not hide what the gateway's own checks would say)."""
    imported = {}
    for name in ("PRICE_RESOLVER", "GATEWAY"):
        try:
            imported[name] = getattr(app_settings, name)
        except ImproperlyConfigured as exc:
            messages.append(Error(str(exc), id=ID.format("E006")))
    return imported.get("GATEWAY")


def check_keys() -> list[CheckMessage]:
    secret = app_settings.STRIPE_SECRET_KEY or ""
    publishable = app_settings.STRIPE_PUBLISHABLE_KEY or ""
    messages: list[CheckMessage] = []
    if not str(secret).startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
        messages.append(Error(
            "The Stripe secret key is missing or is not a Stripe secret key.",
            hint=f"Set {_setting('STRIPE_SECRET_KEY')} (or settings.STRIPE_SECRET_KEY) "
            "to your sk_test_… / sk_live_… or restricted rk_… key.",
            id=ID.format("E001"),
        ))
    if not str(publishable).startswith(("pk_test_", "pk_live_")):
        messages.append(Error(
            "The Stripe publishable key is missing or is not a publishable key.",
            hint=f"Set {_setting('STRIPE_PUBLISHABLE_KEY')} to your pk_test_… / pk_live_… key; "
            "it is sent to browsers, so never put a secret key there.",
            id=ID.format("E002"),
        ))
    modes = {"_live_" in str(key) for key in (secret, publishable) if key}
    if len(modes) > 1:
        messages.append(Error(
            "A Stripe test key is configured together with a live key.",
            hint="Use sk_test_/pk_test_ together, or sk_live_/pk_live_ together.",
            id=ID.format("E003"),
        ))
    elif modes == {True} and settings.DEBUG:
        messages.append(Warning(
            "Live Stripe keys are configured while DEBUG is True.",
            hint="Use test keys in development; real cards are charged with live keys.",
            id=ID.format("W002"),
        ))
    return messages


def check_currencies() -> list[CheckMessage]:
    configured = [*app_settings.CURRENCIES, app_settings.DEFAULT_CURRENCY]
    unknown = []
    for code in configured:
        try:
            money.normalize_currency(code)
        except money.MoneyError:
            unknown.append(code)
    messages: list[CheckMessage] = []
    if unknown:
        messages.append(Error(
            f"Stripe does not support these currencies: {', '.join(map(repr, unknown))}.",
            hint=f"Fix {_setting('CURRENCIES')} / {_setting('DEFAULT_CURRENCY')}; "
            "use lowercase ISO 4217 codes Stripe lists at docs.stripe.com/currencies.",
            id=ID.format("E004"),
        ))
    default = str(app_settings.DEFAULT_CURRENCY).lower()
    listed = [str(code).lower() for code in app_settings.CURRENCIES]
    if app_settings.DEFAULT_CURRENCY not in unknown and default not in listed:
        messages.append(Error(
            f"DEFAULT_CURRENCY {default!r} is not one of CURRENCIES, so every request that "
            "names no currency is refused.",
            hint=f"Add it to {_setting('CURRENCIES')} or change {_setting('DEFAULT_CURRENCY')}.",
            id=ID.format("E007"),
        ))
    return messages


def check_webhook_secret() -> list[CheckMessage]:
    secrets = app_settings.webhook_secrets
    if secrets and all(isinstance(s, str) and s.startswith("whsec_") for s in secrets):
        return []
    return [Warning(
        "The Stripe webhook secret is missing or is not a whsec_… secret; "
        "the webhook endpoint will refuse every delivery.",
        hint=f"Set {_setting('STRIPE_WEBHOOK_SECRET')} to the endpoint's signing secret "
        "(a list is accepted while you roll the secret).",
        id=ID.format("W001"),
    )]
