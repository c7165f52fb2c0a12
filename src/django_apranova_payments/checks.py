"""Misconfiguration, reported by ``manage.py check`` with stable ids.

========  =====================================================================
id        problem
========  =====================================================================
E001      no Stripe secret key, or one that is not ``sk_…``/``rk_…``
E002      no publishable key, or one that is not ``pk_…``
E003      test and live keys mixed
E004      a currency in ``CURRENCIES`` (or ``DEFAULT_CURRENCY``) Stripe does not support
E005      the offline simulator gateway with ``DEBUG`` off
E006      ``GATEWAY``, ``PRICE_RESOLVER`` or ``COUPON_VALIDATOR`` cannot be imported
E007      ``DEFAULT_CURRENCY`` is not one of ``CURRENCIES``
E008      ``GATEWAY``, ``PRICE_RESOLVER`` or ``COUPON_VALIDATOR`` imports but is not callable (or ``GATEWAY``
          is not a ``BaseGateway`` subclass)
E009      ``WEBHOOK_PROCESSING = "task"`` without a usable task backend or queue (no task
          framework, an unknown ``TASK_BACKEND`` alias, a ``TASK_QUEUE`` the backend does
          not serve, or a backend that never runs tasks)
E010      a setting has a value the package cannot use: ``THROTTLE_RATES`` (a bad
          rate), ``PERMISSION_CLASSES``, ``REFUND_PERMISSION_CLASSES`` or
          ``ANALYTICS_PERMISSION_CLASSES``, a number that is not one
          (``WEBHOOK_TOLERANCE``, ``WEBHOOK_MAX_BYTES``, ``STRIPE_TIMEOUT``,
          ``STRIPE_MAX_NETWORK_RETRIES``, ``TASK_MAX_ATTEMPTS``), a
          ``WEBHOOK_PROCESSING`` other than ``"inline"`` or ``"task"``, ``ALLOW_FREE`` or
          ``RECEIPT_EMAIL`` that is not ``True`` or ``False``, or a webhook secret that is
          not a string
E011      ``TAX`` set without a ``SELLER``, ``SELLER`` without a name, or either of
          them malformed (an unknown key, a tax code that is not ``txcd_…``, a
          ``behavior`` other than ``"exclusive"`` or ``"inclusive"``)
W001      webhook secret missing or not ``whsec_…``
W002      live keys while ``DEBUG`` is on
W003      an unknown key in ``APRANOVA_PAYMENTS`` or in its ``THROTTLE_RATES``
          (naming the closest real key)
W004      no ``PRICE_RESOLVER``, so clients choose what they pay
W005      ``THROTTLE_RATES`` on while the default cache is per process (local memory or
          dummy) and ``DEBUG`` is off: each server process counts on its own
========  =====================================================================

The checks are advice: every protection also holds at run time, whether or not
``manage.py check`` ran. Functions that read a secret are ``sensitive_variables``.

Messages and hints are translated (``gettext``, when the checks run: in the active language,
else ``LANGUAGE_CODE``); setting names, dotted paths, key prefixes and values are placeholders
or literal text, never translated. Messages taken from an exception (``str(exc)``) are the
exception's.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, TypeGuard

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from . import money
from .conf import DEFAULTS, PERMISSION_SETTINGS, SETTINGS_NAME, app_settings
from .gateway import BaseGateway

ID = "apranova_payments.{}"


def _setting(name: str) -> str:
    return f"{SETTINGS_NAME}[{name!r}]"


@register(Tags.security, Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = check_unknown_keys()
    imported = _import_dotted_paths(messages)
    messages += check_callables(imported)
    gateway_class = imported.get("GATEWAY")
    if not _is_gateway_class(gateway_class):
        gateway_class = None  # E006/E008 said why; the key checks still run
    if gateway_class is None or gateway_class.uses_stripe_keys:
        messages += check_keys()
    is_simulator = gateway_class is not None and gateway_class.is_simulator
    if is_simulator and not settings.DEBUG:
        messages.append(Error(
            _("The offline payment simulator is configured while DEBUG is False."),
            hint=_("Set %(setting)s to the Stripe gateway (the default) in production.")
            % {"setting": _setting("GATEWAY")},
            id=ID.format("E005"),
        ))
    if "PRICE_RESOLVER" in imported and not imported["PRICE_RESOLVER"] and not is_simulator:
        messages.append(_no_price_resolver())
    messages += check_currencies()
    messages += check_webhook_secret()
    messages += check_values()
    messages += check_tax()
    messages += check_task_mode()
    messages += check_throttle_cache()
    return messages


#: Caches that keep their counts inside one process (``DummyCache`` keeps none at all).
PER_PROCESS_CACHES = (LocMemCache, DummyCache)


def check_throttle_cache() -> list[CheckMessage]:
    """W005: throttles counted per process, with ``DEBUG`` off (a development server is one
    process, and a warning there would be silenced for production too). With four workers
    "20/min" lets 80 through."""
    if settings.DEBUG:
        return []
    try:
        rates = app_settings.THROTTLE_RATES
        cache = caches[DEFAULT_CACHE_ALIAS]
    except Exception:  # E010, or Django's own check of CACHES, says what is wrong
        return []
    if not any(rates.values()) or not isinstance(cache, PER_PROCESS_CACHES):
        return []
    return [Warning(
        _("%(setting)s are on, but the default cache (%(backend)s) is kept in each server process: "
          "every process counts on its own, so each limit is multiplied by the number of processes.")
        % {"setting": _setting("THROTTLE_RATES"), "backend": type(cache).__name__},
        hint=_("Set CACHES['default'] to a cache every server process shares: Redis, Memcached or the "
               "database cache."),
        id=ID.format("W005"),
    )]


def check_task_mode() -> list[CheckMessage]:
    """E009: task mode whose webhook task could not be enqueued or would never run."""
    if app_settings.WEBHOOK_PROCESSING != "task":
        return []
    problem: str | None
    try:
        from .tasks import usable_backend_problem
    except Exception as exc:  # no task framework (Django 5.2 without django-tasks), a bad TASKS
        problem = f"{type(exc).__name__}: {exc}"
    else:
        problem = usable_backend_problem()
    if problem is None:
        return []
    return [Error(
        _("%(processing)s is 'task', but the webhook task cannot run on %(backend)s = "
          "%(backend_value)s, %(queue)s = %(queue_value)s: %(problem)s") % {
            "processing": _setting("WEBHOOK_PROCESSING"),
            "backend": _setting("TASK_BACKEND"), "backend_value": repr(app_settings.TASK_BACKEND),
            "queue": _setting("TASK_QUEUE"), "queue_value": repr(app_settings.TASK_QUEUE),
            "problem": problem,
        },
        hint=_("Name a backend of settings.TASKS (django-tasks-db, Celery, …) that serves that queue, "
               "install django-tasks on Django 5.2 (the [tasks] extra), or leave WEBHOOK_PROCESSING out "
               "to apply events in the request."),
        id=ID.format("E009"),
    )]


#: Numeric settings: (smallest value allowed, whether a float is fine).
NUMBERS = {
    "WEBHOOK_TOLERANCE": (0, False),
    "WEBHOOK_MAX_BYTES": (1, False),
    "STRIPE_TIMEOUT": (0.001, True),
    "STRIPE_MAX_NETWORK_RETRIES": (0, False),
    "TASK_MAX_ATTEMPTS": (1, False),
}


#: Settings that are on only when they are ``True``: a typo such as ``"False"`` (a true
#: string) never turns one on.
SWITCHES = ("ALLOW_FREE", "RECEIPT_EMAIL", "SAVE_PAYMENT_METHODS")


def check_values() -> list[CheckMessage]:
    """E010: values that would make every request fail at run time (a 500, or an endpoint
    that refuses everything), found before the first request instead."""
    messages: list[CheckMessage] = []
    for name in ("THROTTLE_RATES", *PERMISSION_SETTINGS):
        try:
            getattr(app_settings, name)
        except (ImproperlyConfigured, TypeError) as exc:
            messages.append(Error(str(exc), id=ID.format("E010")))
    for name, (least, floats) in NUMBERS.items():
        value = getattr(app_settings, name)
        kinds = (int, float) if floats else (int,)
        if isinstance(value, bool) or not isinstance(value, kinds) or not least <= value < float("inf"):
            params = {"setting": _setting(name), "value": f"{value!r:.40}", "least": least}
            messages.append(Error(
                (_("%(setting)s = %(value)s is not a number of at least %(least)s.") if floats
                 else _("%(setting)s = %(value)s is not a whole number of at least %(least)s.")) % params,
                hint=_("Leave it out for the default, %(default)s.") % {"default": repr(DEFAULTS[name])},
                id=ID.format("E010"),
            ))
    for name in SWITCHES:
        value = getattr(app_settings, name)
        if not isinstance(value, bool):
            messages.append(Error(
                _("%(setting)s = %(value)s is not True or False; it counts as False.")
                % {"setting": _setting(name), "value": f"{value!r:.40}"},
                id=ID.format("E010"),
            ))
    if app_settings.WEBHOOK_PROCESSING not in ("inline", "task"):
        messages.append(Error(
            _("%(setting)s = %(value)s is neither 'inline' nor 'task'; events are applied in the "
              "request.") % {"setting": _setting("WEBHOOK_PROCESSING"),
                             "value": f"{app_settings.WEBHOOK_PROCESSING!r:.40}"},
            id=ID.format("E010"),
        ))
    if not _webhook_secrets_are_strings():
        messages.append(Error(
            _("%(setting)s must be a string or a list of strings; a value of another type is never "
              "used to verify a delivery.") % {"setting": _setting("STRIPE_WEBHOOK_SECRET")},
            id=ID.format("E010"),
        ))
    return messages


def check_tax() -> list[CheckMessage]:
    """E011: ``TAX`` and ``SELLER`` as the receipts and Stripe Tax need them."""
    messages: list[CheckMessage] = []
    values = {}
    for name in ("TAX", "SELLER"):
        try:
            values[name] = getattr(app_settings, name)
        except ImproperlyConfigured as exc:
            messages.append(Error(str(exc), id=ID.format("E011")))
    if not messages and values["TAX"] is not None and values["SELLER"] is None:
        messages.append(Error(
            _("%(tax)s is set without %(seller)s: a taxed payment's receipt must say who sells, with "
              "their tax id.") % {"tax": _setting("TAX"), "seller": _setting("SELLER")},
            hint=_("Set %(seller)s = {'name': …, 'address': …, 'tax_id': …, 'email': …}.")
            % {"seller": _setting("SELLER")},
            id=ID.format("E011"),
        ))
    return messages


@sensitive_variables("value")
def _webhook_secrets_are_strings() -> bool:
    value = app_settings.STRIPE_WEBHOOK_SECRET
    if value is None or isinstance(value, str):
        return True
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


def _import_dotted_paths(messages: list[CheckMessage]) -> dict[str, Any]:
    """``PRICE_RESOLVER``, ``COUPON_VALIDATOR`` and ``GATEWAY`` as imported; an E006 for each
    dotted path that fails to import (a bad ``PRICE_RESOLVER`` must not hide what the
    gateway's own checks say)."""
    imported = {}
    for name in ("PRICE_RESOLVER", "COUPON_VALIDATOR", "GATEWAY"):
        try:
            imported[name] = getattr(app_settings, name)
        except ImproperlyConfigured as exc:
            messages.append(Error(str(exc), id=ID.format("E006")))
    return imported


def _is_gateway_class(value: Any) -> TypeGuard[type[BaseGateway]]:
    return isinstance(value, type) and issubclass(value, BaseGateway)


def check_callables(imported: Mapping[str, Any]) -> list[CheckMessage]:
    """E008: a dotted path that imports, but not something the package can call."""
    messages: list[CheckMessage] = []
    hints = {
        "PRICE_RESOLVER": _("Point it at a function taking (request, data) and returning the data to charge."),
        "COUPON_VALIDATOR": _("Point it at a function taking (request, coupon, data) that raises "
                              "ValidationError to refuse the coupon."),
    }
    for name, hint in hints.items():
        value = imported.get(name)
        if value is not None and not callable(value):
            messages.append(Error(
                _("%(setting)s is not callable (it is a %(type)s).")
                % {"setting": _setting(name), "type": type(value).__name__},
                hint=hint, id=ID.format("E008"),
            ))
    if "GATEWAY" in imported and not _is_gateway_class(imported["GATEWAY"]):
        messages.append(Error(
            _("%(setting)s is not a gateway class (it is a %(type)s).")
            % {"setting": _setting("GATEWAY"), "type": type(imported["GATEWAY"]).__name__},
            hint=_("Point it at a subclass of django_apranova_payments.gateway.BaseGateway, "
                   "such as the default django_apranova_payments.gateway.StripeGateway."),
            id=ID.format("E008"),
        ))
    return messages


def _no_price_resolver() -> CheckMessage:
    return Warning(
        _("No PRICE_RESOLVER is set, so each client chooses the amount it pays."),
        hint=_("Set %(setting)s to a function that decides the price on the server. Where clients "
               "are meant to choose the amount (donations, say), silence this with "
               "SILENCED_SYSTEM_CHECKS = ['apranova_payments.W004'].") % {"setting": _setting("PRICE_RESOLVER")},
        id=ID.format("W004"),
    )


@sensitive_variables()  # the host's dict holds the Stripe keys
def check_unknown_keys() -> list[CheckMessage]:
    """W003: a key the package does not know is ignored, so a typo would silently turn a
    protection off (``PRICE_RESOLVERS``: clients choose the price)."""
    try:
        configured = app_settings.configured()
    except ImproperlyConfigured:
        return []  # reading any setting raises it, saying so
    messages = [
        _unknown_key(_setting(key), key, DEFAULTS) for key in configured if key not in DEFAULTS
    ]
    rates = configured.get("THROTTLE_RATES")
    if isinstance(rates, Mapping):
        known = DEFAULTS["THROTTLE_RATES"]
        messages += [
            _unknown_key(f"{_setting('THROTTLE_RATES')}[{key!r}]", key, known)
            for key in rates if key not in known
        ]
    return messages


def _unknown_key(where: str, key: Any, known: Mapping[str, Any]) -> CheckMessage:
    close = difflib.get_close_matches(key, list(known), n=1) if isinstance(key, str) else []
    hint = (
        _("Did you mean %(key)s?") % {"key": repr(close[0])} if close
        else _("Known keys: %(keys)s.") % {"keys": ", ".join(sorted(known))}
    )
    return Warning(_("%(setting)s is not a setting of django-apranova-payments; it is ignored.")
                   % {"setting": where}, hint=hint, id=ID.format("W003"))


SECRET_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
PUBLISHABLE_PREFIXES = ("pk_test_", "pk_live_")


@sensitive_variables()
def check_keys() -> list[CheckMessage]:
    secret = app_settings.STRIPE_SECRET_KEY or ""
    publishable = app_settings.STRIPE_PUBLISHABLE_KEY or ""
    messages: list[CheckMessage] = []
    secret_ok = str(secret).startswith(SECRET_PREFIXES)
    publishable_ok = str(publishable).startswith(PUBLISHABLE_PREFIXES)
    swapped = str(secret).startswith(PUBLISHABLE_PREFIXES) and str(publishable).startswith(SECRET_PREFIXES)
    swap_hint = " " + _(
        "They look swapped: %(secret)s holds a pk_… key and %(publishable)s an sk_…/rk_… key."
    ) % {
        "secret": _setting("STRIPE_SECRET_KEY"), "publishable": _setting("STRIPE_PUBLISHABLE_KEY"),
    } if swapped else ""
    if not secret_ok:
        messages.append(Error(
            _("The Stripe secret key is missing or is not a Stripe secret key.") + swap_hint,
            hint=_("Set %(setting)s (or settings.STRIPE_SECRET_KEY) to your sk_test_… / sk_live_… "
                   "or restricted rk_… key.") % {"setting": _setting("STRIPE_SECRET_KEY")},
            id=ID.format("E001"),
        ))
    if not publishable_ok:
        messages.append(Error(
            _("The Stripe publishable key is missing or is not a publishable key.") + swap_hint,
            hint=_("Set %(setting)s to your pk_test_… / pk_live_… key; it is sent to browsers, so "
                   "never put a secret key there.") % {"setting": _setting("STRIPE_PUBLISHABLE_KEY")},
            id=ID.format("E002"),
        ))
    modes = {"_live_" in str(key) for key in (secret, publishable) if key}
    if len(modes) > 1:
        messages.append(Error(
            _("A Stripe test key is configured together with a live key."),
            hint=_("Use sk_test_/pk_test_ together, or sk_live_/pk_live_ together."),
            id=ID.format("E003"),
        ))
    elif modes == {True} and settings.DEBUG:
        messages.append(Warning(
            _("Live Stripe keys are configured while DEBUG is True."),
            hint=_("Use test keys in development; real cards are charged with live keys."),
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
            _("Stripe does not support these currencies: %(currencies)s.")
            % {"currencies": ", ".join(map(repr, unknown))},
            hint=_("Fix %(currencies)s / %(default)s; use lowercase ISO 4217 codes Stripe lists at "
                   "docs.stripe.com/currencies.")
            % {"currencies": _setting("CURRENCIES"), "default": _setting("DEFAULT_CURRENCY")},
            id=ID.format("E004"),
        ))
    default = str(app_settings.DEFAULT_CURRENCY).lower()
    listed = [str(code).lower() for code in app_settings.CURRENCIES]
    if app_settings.DEFAULT_CURRENCY not in unknown and default not in listed:
        messages.append(Error(
            _("DEFAULT_CURRENCY %(currency)s is not one of CURRENCIES, so every request that names "
              "no currency is refused.") % {"currency": repr(default)},
            hint=_("Add it to %(currencies)s or change %(default)s.")
            % {"currencies": _setting("CURRENCIES"), "default": _setting("DEFAULT_CURRENCY")},
            id=ID.format("E007"),
        ))
    return messages


@sensitive_variables()
def check_webhook_secret() -> list[CheckMessage]:
    secrets = app_settings.webhook_secrets
    if secrets and all(isinstance(s, str) and s.startswith("whsec_") for s in secrets):
        return []
    return [Warning(
        _("The Stripe webhook secret is missing or is not a whsec_… secret; the webhook endpoint "
          "will refuse every delivery."),
        hint=_("Set %(setting)s to the endpoint's signing secret (a list is accepted while you roll "
               "the secret).") % {"setting": _setting("STRIPE_WEBHOOK_SECRET")},
        id=ID.format("W001"),
    )]
