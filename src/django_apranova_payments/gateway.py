"""Who talks to Stripe. This is the only module that imports ``stripe``.

A gateway turns three calls (create, retrieve, cancel a PaymentIntent) into
``PaymentIntentData`` values and turns every Stripe error into one of the package's own
exceptions (``exceptions.GatewayError`` and its subclasses). The ``GATEWAY`` setting picks
the class, so an offline simulator can stand in for Stripe; ``get_gateway()`` builds one
instance of it and keeps it until a payments setting changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import stripe
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables

from . import __version__, exceptions
from .conf import WATCHED_SETTINGS, app_settings

logger = logging.getLogger(__name__)

APP_INFO = {
    "name": "django-apranova-payments",
    "version": __version__,
    "url": "https://pypi.org/project/django-apranova-payments/",
}


@dataclass(frozen=True)
class PaymentIntentData:
    """The parts of a Stripe PaymentIntent this package uses, however it was obtained
    (an API response or a webhook event's ``data.object``)."""

    id: str
    status: str
    amount: int
    currency: str
    livemode: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    client_secret: str | None = field(default=None, repr=False)
    failure_code: str = ""
    failure_message: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentIntentData:
        """Build from Stripe's JSON; ``ValueError`` when it is not a PaymentIntent."""
        if not isinstance(data, Mapping) or data.get("object") != "payment_intent":
            raise ValueError("not a payment_intent object")
        intent_id, status, amount = data.get("id"), data.get("status"), data.get("amount")
        currency, metadata = data.get("currency"), data.get("metadata") or {}
        if not (isinstance(intent_id, str) and 0 < len(intent_id) <= 255 and isinstance(status, str)):
            raise ValueError("payment_intent without a usable id or status")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise ValueError("payment_intent amount is not an integer")
        if not isinstance(currency, str) or not isinstance(metadata, Mapping):
            raise ValueError("payment_intent currency or metadata has the wrong type")
        error = data.get("last_payment_error") or {}
        if not isinstance(error, Mapping):
            raise ValueError("payment_intent last_payment_error is not an object")
        return cls(
            id=intent_id,
            status=status,
            amount=amount,
            currency=currency.lower(),
            livemode=bool(data.get("livemode")),
            metadata={str(k): str(v) for k, v in metadata.items()},
            client_secret=data.get("client_secret") or None,
            failure_code=str(error.get("decline_code") or error.get("code") or ""),
            failure_message=str(error.get("message") or ""),
        )

    @property
    def has_failure(self) -> bool:
        return bool(self.failure_code or self.failure_message)


class BaseGateway:
    """The interface every gateway implements."""

    #: An offline stand-in that never moves money: refused with ``DEBUG`` off (check E005),
    #: and not warned about a missing ``PRICE_RESOLVER`` (W004).
    is_simulator: ClassVar[bool] = False
    #: Whether it talks to Stripe with the configured keys (checks E001 to E003 and W002).
    uses_stripe_keys: ClassVar[bool] = True

    @property
    def livemode(self) -> bool:
        """Whether this gateway moves real money (decides which webhook events match)."""
        raise NotImplementedError

    def create_payment_intent(
        self, *, amount: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> PaymentIntentData:
        raise NotImplementedError

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentData:
        raise NotImplementedError

    def cancel_payment_intent(self, intent_id: str) -> PaymentIntentData:
        raise NotImplementedError


def is_live_key(key: str | None) -> bool:
    return bool(key) and "_live_" in str(key)


class StripeGateway(BaseGateway):
    """Stripe's API through a ``stripe.StripeClient`` built from the package settings."""

    @sensitive_variables()  # the key, and every frame below that holds it
    def __init__(self) -> None:
        secret_key = app_settings.require("STRIPE_SECRET_KEY")
        base = app_settings.STRIPE_API_BASE
        self._live = is_live_key(secret_key)
        self._client = stripe.StripeClient(
            secret_key,
            stripe_version=app_settings.STRIPE_API_VERSION,
            # stripe-python appends "/v1/..." to the base as given: no trailing slash.
            base_addresses={"api": base.rstrip("/")} if base else None,
            max_network_retries=app_settings.STRIPE_MAX_NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=app_settings.STRIPE_TIMEOUT),
        )

    @property
    def livemode(self) -> bool:
        return self._live

    def create_payment_intent(
        self, *, amount: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> PaymentIntentData:
        params = {
            "amount": amount,
            "currency": currency,
            "metadata": dict(metadata),
            "automatic_payment_methods": {"enabled": True},
        }
        return self._call(
            "create", lambda: self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentData:
        return self._call("retrieve", lambda: self._client.v1.payment_intents.retrieve(intent_id))

    def cancel_payment_intent(self, intent_id: str) -> PaymentIntentData:
        return self._call("cancel", lambda: self._client.v1.payment_intents.cancel(intent_id))

    @sensitive_variables()  # stripe-python's frames below hold the API key
    def _call(self, action: str, request: Callable[[], stripe.PaymentIntent]) -> PaymentIntentData:
        with translate_stripe_errors(action):
            intent = request()
        try:
            return PaymentIntentData.from_dict(intent.to_dict())
        except ValueError as exc:
            logger.error("Stripe %s answered with an unusable PaymentIntent: %s", action, exc)
            raise exceptions.GatewayError() from exc


@contextmanager
def translate_stripe_errors(action: str) -> Iterator[None]:
    """Re-raise stripe-python's errors as the package's own, logging what matters."""
    try:
        yield
    except stripe.StripeError as exc:
        translated = _translate(exc)
        log = logger.error if isinstance(translated, exceptions.GatewayConfigurationError) else logger.warning
        log(
            "Stripe %s failed: %s (http %s, code %s, request %s)%s",
            action, type(exc).__name__, exc.http_status, exc.code, exc.request_id, _cause(exc),
        )
        raise translated from exc


def _cause(exc: stripe.StripeError) -> str:
    """Why a request never reached Stripe (DNS, refused connection, timeout, TLS), from
    stripe-python's message: Stripe's own errors say it in their code already."""
    if not isinstance(exc, stripe.APIConnectionError):
        return ""
    return f": {' '.join(str(exc).split())[:300]}"


def _translate(exc: stripe.StripeError) -> exceptions.PaymentsAPIError:
    code = exc.code or None
    if isinstance(exc, stripe.CardError):
        decline = getattr(exc.error, "decline_code", None) if exc.error else None
        return exceptions.CardError(exc.user_message or None, decline or code)
    if isinstance(exc, stripe.RateLimitError):
        return exceptions.GatewayRateLimited()
    if isinstance(exc, stripe.IdempotencyError):
        return exceptions.IdempotencyConflict()
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return exceptions.GatewayConfigurationError()
    if isinstance(exc, stripe.InvalidRequestError):
        if code == "payment_intent_unexpected_state":
            return exceptions.PaymentNotCancelable()
        return exceptions.GatewayRejected(code=code)
    # APIConnectionError, APIError (5xx, 409) and anything newer: worth retrying later.
    return exceptions.GatewayUnavailable()


def configure_stripe() -> None:
    """Identify the package to Stripe in the User-Agent of every request."""
    stripe.set_app_info(APP_INFO["name"], version=APP_INFO["version"], url=APP_INFO["url"])


_gateway: BaseGateway | None = None


@sensitive_variables()  # the gateway's constructor (and the Stripe client's) holds the key
def get_gateway() -> BaseGateway:
    """The configured gateway instance, built on first use and kept until a payments setting
    changes (``setting_changed``, as ``override_settings`` sends it)."""
    global _gateway
    gateway = _gateway
    if gateway is None:
        gateway = _gateway = app_settings.GATEWAY()
    return gateway


@receiver(setting_changed)
def _forget_gateway(*, setting: str, **kwargs: Any) -> None:
    global _gateway
    if setting in WATCHED_SETTINGS:
        _gateway = None
