"""Settings: one ``APRANOVA_PAYMENTS`` dict, read lazily, and only here.

``app_settings.NAME`` looks the key up in ``settings.APRANOVA_PAYMENTS`` on first access,
falls back to the top-level ``STRIPE_*`` names for the three Stripe keys, then to
``DEFAULTS``. The values are cached until Django's ``setting_changed`` fires, so
``override_settings`` in tests works as expected. Nothing is ever written into the host's
settings. ``app_settings`` holds values only: the gateway instance built from ``GATEWAY``
is cached by ``gateway.get_gateway()``.

Functions that hold a secret in a local variable (the dict itself, a key, the webhook
secrets) are ``sensitive_variables``, so Django's error reports show stars instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

logger = logging.getLogger(__name__)

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
    # callable(request, coupon, data) that may refuse a coupon for this purchase (another
    # course, say) by raising DRF's ValidationError; data is the price before the discount.
    "COUPON_VALIDATOR": None,
    # Hosts, besides ALLOWED_HOSTS, that Checkout's successUrl and cancelUrl may point to
    # (".example.com" takes its subdomains too, as in ALLOWED_HOSTS; "*" is never honoured).
    "CHECKOUT_REDIRECT_HOSTS": [],
    "PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The refund endpoint: staff holding refund_payment by default (the admin's refund action
    # asks the same permission). Whoever they let in, a caller who is not staff may only
    # refund their own payments.
    "REFUND_PERMISSION_CLASSES": ["django_apranova_payments.permissions.CanRefundPayments"],
    # The analytics endpoint and the admin's analytics page: staff holding view_payment.
    "ANALYTICS_PERMISSION_CLASSES": ["django_apranova_payments.permissions.CanViewPayments"],
    "GATEWAY": "django_apranova_payments.gateway.StripeGateway",
    # Per-user DRF rates of the endpoints that call Stripe; None turns one off. A dict given
    # by the host is merged over this one, so it names only what it changes.
    "THROTTLE_RATES": {
        "create": "20/min", "update_status": "60/min", "cancel": "20/min", "refund": "20/min",
        "payment_methods": "30/min",
    },
    # A price of 0 from PRICE_RESOLVER (never from the client) makes a free payment: stored
    # succeeded, its signals sent, no one called.
    "ALLOW_FREE": False,
    # Send the paying user's e-mail address as the PaymentIntent's receipt_email, so Stripe
    # e-mails a receipt when the payment succeeds (and when it is refunded).
    "RECEIPT_EMAIL": False,
    # A student may save the card they pay with (on their own Stripe Customer) and pay with it
    # again in one click: create-payment's savePaymentMethod and paymentMethod.
    "SAVE_PAYMENT_METHODS": False,
    # Stripe Tax on every payment: {"tax_code": "txcd_…", "behavior": "exclusive" or
    # "inclusive"} (exclusive adds the tax to the price, inclusive takes it out of it).
    "TAX": None,
    # Who sells, as printed on receipts: {"name", "address", "tax_id", "email"}; receipts are
    # numbered and served only when it is set (see receipts.py).
    "SELLER": None,
    # "inline": the webhook request applies the event; "task": it stores the event and
    # django_apranova_payments.tasks.process_webhook_event applies it, enqueued on
    # TASK_BACKEND (an alias of the host's TASKS setting) and TASK_QUEUE, tried up to
    # TASK_MAX_ATTEMPTS times before it waits for a replay.
    "WEBHOOK_PROCESSING": "inline",
    "TASK_BACKEND": "default",
    "TASK_QUEUE": "default",
    "TASK_MAX_ATTEMPTS": 5,
    # The offline simulator (GATEWAY = "django_apranova_payments.simulator.gateway.SimulatorGateway",
    # app "django_apranova_payments.simulator"): where it posts its signed webhook events
    # (loopback only), and how long it waits.
    "SIMULATOR_WEBHOOK_URL": None,
    "SIMULATOR_WEBHOOK_TIMEOUT": 5,
}

#: Keys that may also be given as top-level settings (the names of the ApraNova LMS's
#: original flow).
TOP_LEVEL_FALLBACKS = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")

#: Keys holding lists of DRF permission classes (dotted paths imported on access).
PERMISSION_SETTINGS = ("PERMISSION_CLASSES", "REFUND_PERMISSION_CLASSES", "ANALYTICS_PERMISSION_CLASSES")

#: Keys holding dotted paths that are imported on access.
IMPORT_STRINGS = ("PRICE_RESOLVER", "COUPON_VALIDATOR", "GATEWAY")


class AppSettings:
    """Attribute access to the package settings, cached until a setting changes. The only
    reader of ``settings.APRANOVA_PAYMENTS``."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown {SETTINGS_NAME} setting: {name!r}")
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    @sensitive_variables()
    def configured(self) -> dict[str, Any]:
        """The host's ``APRANOVA_PAYMENTS`` dict as given (``{}`` when unset), for the checks
        that look at its keys; ``ImproperlyConfigured`` when it is not a dict."""
        user = getattr(settings, SETTINGS_NAME, None) or {}
        if not isinstance(user, dict):
            raise ImproperlyConfigured(f"settings.{SETTINGS_NAME} must be a dict.")
        return user

    @sensitive_variables()
    def _raw(self, name: str) -> Any:
        """The value of ``name`` as configured. The host's whole dict (with its keys) is a
        local variable only here, where nothing can raise once it is read: Django's debug
        page shows local variables when ``DEBUG`` is on, ``sensitive_variables`` or not."""
        user = self.configured()
        if name in user:
            return user[name]
        if name in TOP_LEVEL_FALLBACKS and getattr(settings, name, None) is not None:
            return getattr(settings, name)
        return DEFAULTS[name]

    @sensitive_variables()
    def _load(self, name: str) -> Any:
        value = self._raw(name)
        if name in IMPORT_STRINGS and isinstance(value, str):
            value = _import(name, value)
        if name in PERMISSION_SETTINGS:
            if isinstance(value, str):  # iterating it would import "r", "e", "s", ...
                raise ImproperlyConfigured(
                    f"{SETTINGS_NAME}[{name!r}] must be a list of dotted paths, not a string."
                )
            value = [_import(name, v) if isinstance(v, str) else v for v in value]
        if name == "THROTTLE_RATES":
            value = _throttle_rates(value)
        if name == "TAX":
            value = _tax(value)
        if name == "SELLER":
            value = _seller(value)
        return value

    @sensitive_variables()
    def require(self, name: str) -> Any:
        """The value of ``name``, or ImproperlyConfigured saying exactly what to set."""
        value = getattr(self, name)
        if not value:
            raise ImproperlyConfigured(
                f"django-apranova-payments needs {SETTINGS_NAME}[{name!r}] "
                f"(or settings.{name}) to be set."
            )
        return value

    def clear(self) -> None:
        self._cache.clear()

    @property
    @sensitive_variables()
    def webhook_secrets(self) -> list[str]:
        """The configured webhook secrets as a list (rotation allows several)."""
        value = self.STRIPE_WEBHOOK_SECRET
        if not value:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list | tuple):
            return [s for s in value if s]  # signing.as_secrets skips and logs non-strings
        logger.error(
            "STRIPE_WEBHOOK_SECRET must be a string or a list of strings, not %s; no secret is used.",
            type(value).__name__,
        )
        return []


def _import(name: str, path: str) -> Any:
    try:
        return import_string(path)
    except (ImportError, ImproperlyConfigured) as exc:  # e.g. the simulator's app not installed
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}[{name!r}] = {path!r} could not be imported: {exc}"
        ) from exc


#: The number of requests of a throttle rate must be ASCII digits; the period is DRF's
#: (``s``, ``sec``, ``m``, ``min``, ``h``, ``hour``, ``d``, ``day``: only the first letter counts).
THROTTLE_PERIODS = "smhd"


def _throttle_rates(value: Any) -> dict[str, str | None]:
    """The host's ``THROTTLE_RATES`` over the defaults, each rate checked: a bad rate is an
    ``ImproperlyConfigured`` naming the key, not a crash inside DRF on the first request.
    Keys the package does not know are left out (``manage.py check`` reports them, W003)."""
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['THROTTLE_RATES'] must be a dict such as {{'create': '20/min'}}, "
            f"not {type(value).__name__}."
        )
    defaults: dict[str, str | None] = DEFAULTS["THROTTLE_RATES"]
    rates = {**defaults, **{key: rate for key, rate in value.items() if key in defaults}}
    for key, rate in rates.items():
        if rate is not None and not _is_rate(rate):
            raise ImproperlyConfigured(
                f"{SETTINGS_NAME}['THROTTLE_RATES'][{key!r}] = {rate!r} is not a rate: use "
                "'<requests>/<period>' with a positive number of requests and a period of "
                "s, min, hour or day (e.g. '20/min'), or None to turn this throttle off."
            )
    return rates


def _is_rate(rate: Any) -> bool:
    if not isinstance(rate, str) or rate.count("/") != 1:
        return False
    number, period = rate.split("/")
    return (
        number.isascii() and number.isdigit() and int(number) > 0
        and period[:1] in tuple(THROTTLE_PERIODS) and period.isascii() and period.isalpha()
    )


@dataclass(frozen=True)
class Tax:
    """``TAX`` as read: the Stripe Tax code of what is sold, and whether prices include tax."""

    tax_code: str
    behavior: str  # "exclusive" (tax added to the price) or "inclusive" (tax within it)


TAX_BEHAVIORS = ("exclusive", "inclusive")


def _tax(value: Any) -> Tax | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['TAX'] must be a dict such as "
            "{'tax_code': 'txcd_10000000', 'behavior': 'exclusive'}, or None."
        )
    unknown = sorted(set(value) - {"tax_code", "behavior"})
    if unknown:
        raise ImproperlyConfigured(f"{SETTINGS_NAME}['TAX'] has unknown keys: {', '.join(map(repr, unknown))}.")
    code, behavior = value.get("tax_code"), value.get("behavior", "exclusive")
    if not isinstance(code, str) or not re.fullmatch(r"txcd_[0-9]{8}", code):
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['TAX']['tax_code'] = {code!r:.40} is not a Stripe tax code "
            "('txcd_' and 8 digits, e.g. 'txcd_10000000'; see Stripe's list of product tax codes)."
        )
    if behavior not in TAX_BEHAVIORS:
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['TAX']['behavior'] = {behavior!r:.40} is neither 'exclusive' (tax added "
            "to the price) nor 'inclusive' (tax within the price)."
        )
    return Tax(code, behavior)


@dataclass(frozen=True)
class Seller:
    """``SELLER`` as read: who the receipts say sells. ``address`` is its lines."""

    name: str
    address: tuple[str, ...] = ()
    tax_id: str = ""
    email: str = ""


def _seller(value: Any) -> Seller | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"{SETTINGS_NAME}['SELLER'] must be a dict such as {{'name': 'ApraNova Academy', "
            "'address': '…', 'tax_id': '…', 'email': '…'}, or None."
        )
    unknown = sorted(set(value) - {"name", "address", "tax_id", "email"})
    if unknown:
        raise ImproperlyConfigured(f"{SETTINGS_NAME}['SELLER'] has unknown keys: {', '.join(map(repr, unknown))}.")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ImproperlyConfigured(f"{SETTINGS_NAME}['SELLER'] needs a 'name': receipts say who sells.")
    address = value.get("address", "")
    lines = address.splitlines() if isinstance(address, str) else address
    if not isinstance(lines, list | tuple) or not all(isinstance(line, str) for line in lines):
        raise ImproperlyConfigured(f"{SETTINGS_NAME}['SELLER']['address'] must be a string or a list of lines.")
    for key in ("tax_id", "email"):
        if not isinstance(value.get(key, ""), str):
            raise ImproperlyConfigured(f"{SETTINGS_NAME}['SELLER'][{key!r}] must be a string.")
    return Seller(
        name.strip(), tuple(line.strip() for line in lines if line.strip()),
        value.get("tax_id", "").strip(), value.get("email", "").strip(),
    )


app_settings = AppSettings()


#: The Django settings the package's values are read from: a change to one drops the caches.
WATCHED_SETTINGS = frozenset({SETTINGS_NAME, *TOP_LEVEL_FALLBACKS})


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in WATCHED_SETTINGS:
        app_settings.clear()
