"""Who talks to Stripe. This is the only module that imports ``stripe``.

A gateway turns its calls (PaymentIntents, refunds, Customers and their cards, Checkout
Sessions) into the values of ``stripe_data`` (handed on here), and every Stripe error into one of
the package's own exceptions (``exceptions.GatewayError`` and its subclasses). The ``GATEWAY``
setting picks the class, so an offline simulator can stand in for Stripe; ``get_gateway()``
builds one instance of it and keeps it until a payments setting changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, ClassVar, TypeVar

import stripe
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables

from . import __version__, exceptions
from .checkout_request import CheckoutRequest
from .conf import WATCHED_SETTINGS, app_settings
from .metadata import for_stripe
from .stripe_data import (
    CancellationReason,
    ChargeData,
    CheckoutSessionData,
    CustomerData,
    DisputeData,
    PaymentIntentData,
    PaymentMethodData,
    RefundData,
    SetupFutureUsage,
    TaxCalculationData,
)

logger = logging.getLogger(__name__)

APP_INFO = {"name": "django-apranova-payments", "version": __version__,
            "url": "https://pypi.org/project/django-apranova-payments/"}


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
        self,
        *,
        amount: int,
        currency: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
        receipt_email: str | None = None,
        customer: str | None = None,
        payment_method: str | None = None,
        setup_future_usage: SetupFutureUsage | None = None,
        tax_calculation: str | None = None,
    ) -> PaymentIntentData:
        """Create a PaymentIntent; ``receipt_email`` (``RECEIPT_EMAIL``) is where Stripe sends
        its receipt. ``customer`` with ``setup_future_usage`` saves the card it is paid with;
        ``customer`` with ``payment_method`` pays with a saved card (confirmed by the browser).
        ``tax_calculation`` links a Stripe Tax calculation (``hooks[inputs][tax][calculation]``):
        Stripe records its tax transaction when the PaymentIntent succeeds, and reverses its
        share for each refund."""
        raise NotImplementedError

    def calculate_tax(
        self, *, amount: int, currency: str, address: Mapping[str, str], tax_code: str, behavior: str,
        reference: str, idempotency_key: str,
    ) -> TaxCalculationData:
        """Stripe Tax's calculation for one line of ``amount`` minor units (``behavior``
        ``exclusive``: tax added; ``inclusive``: tax within) sold to ``address`` (Stripe's
        keys: ``country``, ``postal_code``, ``state``, ``city``, ``line1``). An address Stripe
        cannot place raises ``exceptions.TaxLocationInvalid``."""
        raise NotImplementedError

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentData:
        raise NotImplementedError

    def payment_card(self, intent_id: str) -> PaymentMethodData | None:
        """The payment method the PaymentIntent was paid with (a card's brand and last four
        digits, or the method's type: ``link``, ``sepa_debit`` …), for a receipt; ``None`` when
        the gateway cannot tell."""
        return None

    def cancel_payment_intent(self, intent_id: str, *, reason: CancellationReason) -> PaymentIntentData:
        """Cancel with Stripe's ``cancellation_reason`` (``requested_by_customer`` when the
        payer cancels, ``abandoned`` for ``apranova_cancel_abandoned``)."""
        raise NotImplementedError

    def create_refund(
        self, *, payment_intent: str, amount: int, reason: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> RefundData:
        """Refund ``amount`` minor units of the PaymentIntent's charge (``reason`` may be
        empty). A disputed charge raises ``exceptions.ChargeDisputed``."""
        raise NotImplementedError

    def list_refunds(self, payment_intent: str) -> list[RefundData]:
        """Every refund of the PaymentIntent, whatever made it."""
        raise NotImplementedError

    def retrieve_refund(self, refund_id: str) -> RefundData:
        raise NotImplementedError

    def retrieve_dispute(self, dispute_id: str) -> DisputeData:
        raise NotImplementedError

    def retrieve_charge(self, charge_id: str) -> ChargeData:
        """The Charge: which PaymentIntent it belongs to (a refund or dispute that names only
        its charge is matched through it)."""
        raise NotImplementedError

    def create_customer(self, *, email: str | None, metadata: Mapping[str, str], idempotency_key: str) -> CustomerData:
        raise NotImplementedError

    def delete_customer(self, customer_id: str) -> None:
        """Delete the Customer (and so forget its cards); one Stripe no longer has is done."""
        raise NotImplementedError

    def retrieve_payment_method(self, payment_method_id: str) -> PaymentMethodData:
        """The PaymentMethod with its Customer expanded (the mark proves whose it is)."""
        raise NotImplementedError

    def list_payment_methods(self, customer_id: str) -> list[PaymentMethodData]:
        """The Customer's cards (at most 100)."""
        raise NotImplementedError

    def detach_payment_method(self, payment_method_id: str) -> None:
        raise NotImplementedError

    def create_checkout_session(self, checkout: CheckoutRequest) -> CheckoutSessionData:
        """A Stripe Checkout Session (``mode=payment``) charging ``checkout``."""
        raise NotImplementedError

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSessionData:
        raise NotImplementedError

    def expire_checkout_session(self, session_id: str) -> CheckoutSessionData:
        raise NotImplementedError  # a Session no longer open: exceptions.GatewayRejected


_Parsed = TypeVar(
    "_Parsed", RefundData, DisputeData, ChargeData, CheckoutSessionData, CustomerData, PaymentMethodData,
    TaxCalculationData,
)


def _parsed(kind: type[_Parsed], data: Mapping[str, Any], action: str) -> _Parsed:
    """``kind.from_dict(data)`` for an answer of Stripe's, or ``GatewayError`` (logged) when
    the answer is not a usable object of that kind."""
    try:
        return kind.from_dict(data)
    except ValueError as exc:
        logger.error("Stripe %s answered with an unusable %s: %s", action, kind.__name__, exc)
        raise exceptions.GatewayError() from exc


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
        self,
        *,
        amount: int,
        currency: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
        receipt_email: str | None = None,
        customer: str | None = None,
        payment_method: str | None = None,
        setup_future_usage: SetupFutureUsage | None = None,
        tax_calculation: str | None = None,
    ) -> PaymentIntentData:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "metadata": for_stripe(metadata),
            "automatic_payment_methods": {"enabled": True},
        }
        optional = {
            "receipt_email": receipt_email, "customer": customer, "payment_method": payment_method,
            "setup_future_usage": setup_future_usage,
        }
        params.update({name: value for name, value in optional.items() if value})
        if tax_calculation:
            params["hooks"] = {"inputs": {"tax": {"calculation": tax_calculation}}}
        return self._call(
            "create", lambda: self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        )

    @sensitive_variables()  # stripe-python's frames below hold the API key
    def calculate_tax(
        self, *, amount: int, currency: str, address: Mapping[str, str], tax_code: str, behavior: str,
        reference: str, idempotency_key: str,
    ) -> TaxCalculationData:
        params: dict[str, Any] = {
            "currency": currency,
            "line_items": [{"amount": amount, "reference": reference, "tax_code": tax_code, "tax_behavior": behavior}],
            "customer_details": {"address": {key: value for key, value in address.items() if value},
                                 "address_source": "billing"},
        }
        with translate_stripe_errors("calculate tax"):
            calculation = self._client.v1.tax.calculations.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return _parsed(TaxCalculationData, calculation.to_dict(), "calculate tax")

    @sensitive_variables()  # stripe-python's frames below hold the API key
    def payment_card(self, intent_id: str) -> PaymentMethodData | None:
        with translate_stripe_errors("retrieve payment card"):
            # For a receipt: no retry (a page waits on it; the next view asks again).
            intent = self._client.v1.payment_intents.retrieve(
                intent_id, params={"expand": ["payment_method"]}, options={"max_network_retries": 0},
            )
        method = intent.to_dict().get("payment_method")
        try:
            return PaymentMethodData.from_dict(method) if isinstance(method, Mapping) else None
        except ValueError:
            return None

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentData:
        return self._call("retrieve", lambda: self._client.v1.payment_intents.retrieve(intent_id))

    def cancel_payment_intent(self, intent_id: str, *, reason: CancellationReason) -> PaymentIntentData:
        return self._call("cancel", lambda: self._client.v1.payment_intents.cancel(
            intent_id, params={"cancellation_reason": reason},
        ))

    @sensitive_variables()  # stripe-python's frames below hold the API key
    def create_refund(
        self, *, payment_intent: str, amount: int, reason: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> RefundData:
        params: dict[str, Any] = {"payment_intent": payment_intent, "amount": amount, "metadata": for_stripe(metadata)}
        if reason:
            params["reason"] = reason
        with translate_stripe_errors("refund"):
            refund = self._client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return self._refund(refund.to_dict(), "refund")

    @sensitive_variables()
    def list_refunds(self, payment_intent: str) -> list[RefundData]:
        with translate_stripe_errors("list refunds"):
            page = self._client.v1.refunds.list(params={"payment_intent": payment_intent, "limit": 100})
            refunds = [refund.to_dict() for refund in page.auto_paging_iter()]
        return [self._refund(refund, "list refunds") for refund in refunds]

    @sensitive_variables()
    def retrieve_refund(self, refund_id: str) -> RefundData:
        with translate_stripe_errors("retrieve refund"):
            refund = self._client.v1.refunds.retrieve(refund_id)
        return self._refund(refund.to_dict(), "retrieve refund")

    @sensitive_variables()
    def retrieve_dispute(self, dispute_id: str) -> DisputeData:
        with translate_stripe_errors("retrieve dispute"):
            dispute = self._client.v1.disputes.retrieve(dispute_id)
        return _parsed(DisputeData, dispute.to_dict(), "retrieve dispute")

    @sensitive_variables()
    def retrieve_charge(self, charge_id: str) -> ChargeData:
        with translate_stripe_errors("retrieve charge"):
            charge = self._client.v1.charges.retrieve(charge_id)
        return _parsed(ChargeData, charge.to_dict(), "retrieve charge")

    @sensitive_variables()
    def create_customer(self, *, email: str | None, metadata: Mapping[str, str], idempotency_key: str) -> CustomerData:
        params: dict[str, Any] = {"metadata": for_stripe(metadata), **({"email": email} if email else {})}
        with translate_stripe_errors("create customer"):
            customer = self._client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        return _parsed(CustomerData, customer.to_dict(), "create customer")

    @sensitive_variables()
    def delete_customer(self, customer_id: str) -> None:
        try:
            with translate_stripe_errors("delete customer"):
                self._client.v1.customers.delete(customer_id)
        except exceptions.GatewayResourceMissing:
            logger.info("Stripe Customer %s was deleted already", customer_id)

    @sensitive_variables()
    def retrieve_payment_method(self, payment_method_id: str) -> PaymentMethodData:
        with translate_stripe_errors("retrieve payment method"):
            method = self._client.v1.payment_methods.retrieve(payment_method_id, params={"expand": ["customer"]})
        return _parsed(PaymentMethodData, method.to_dict(), "retrieve payment method")

    @sensitive_variables()
    def list_payment_methods(self, customer_id: str) -> list[PaymentMethodData]:
        with translate_stripe_errors("list payment methods"):
            page = self._client.v1.payment_methods.list(params={"customer": customer_id, "type": "card", "limit": 100})
            methods = [method.to_dict() for method in page.data]
        return [_parsed(PaymentMethodData, method, "list payment methods") for method in methods]

    @sensitive_variables()
    def detach_payment_method(self, payment_method_id: str) -> None:
        with translate_stripe_errors("detach payment method"):
            self._client.v1.payment_methods.detach(payment_method_id)

    @sensitive_variables()
    def create_checkout_session(self, checkout: CheckoutRequest) -> CheckoutSessionData:
        return self._session("create checkout session", lambda: self._client.v1.checkout.sessions.create(
            params=checkout.params(), options={"idempotency_key": checkout.idempotency_key},  # type: ignore[arg-type]
        ))

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSessionData:
        sessions = self._client.v1.checkout.sessions
        # The tax per rate is only sent expanded (checkout_tax records it).
        return self._session("retrieve checkout session", partial(
            sessions.retrieve, session_id, params={"expand": ["total_details.breakdown"]},
        ))

    def expire_checkout_session(self, session_id: str) -> CheckoutSessionData:
        return self._session("expire checkout session", partial(self._client.v1.checkout.sessions.expire, session_id))

    @sensitive_variables()  # stripe-python's frames below hold the API key
    def _session(self, action: str, request: Callable[[], stripe.checkout.Session]) -> CheckoutSessionData:
        with translate_stripe_errors(action):
            session = request()
        return _parsed(CheckoutSessionData, session.to_dict(), action)

    @staticmethod
    def _refund(data: Mapping[str, Any], action: str) -> RefundData:
        return _parsed(RefundData, data, action)

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
        translated = _translate(exc, action)
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


def _translate(exc: stripe.StripeError, action: str = "") -> exceptions.PaymentsAPIError:
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
            # a refund of a PaymentIntent with no successful charge, or a cancel too late
            return exceptions.PaymentNotRefundable() if action == "refund" else exceptions.PaymentNotCancelable()
        if code == "charge_disputed":
            return exceptions.ChargeDisputed()
        if code == "charge_already_refunded":
            return exceptions.PaymentNotRefundable(exceptions.PaymentNotRefundable.nothing_left)
        if code == "customer_tax_location_invalid":
            return exceptions.TaxLocationInvalid()
        if code == "resource_missing":
            return exceptions.GatewayResourceMissing(code=code, param=exc.param)
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


__all__ = [
    "APP_INFO", "BaseGateway", "CancellationReason", "ChargeData", "CheckoutRequest", "CheckoutSessionData",
    "CustomerData", "DisputeData", "PaymentIntentData", "PaymentMethodData", "RefundData", "SetupFutureUsage",
    "StripeGateway", "TaxCalculationData", "configure_stripe", "get_gateway", "is_live_key", "translate_stripe_errors",
]
