"""Stripe's PaymentIntent, Refund, Customer and PaymentMethod endpoints, mocked at the HTTP boundary with ``responses``.

The package's real gateway (stripe-python over ``requests``) talks to this mock exactly as
it talks to Stripe: form-encoded requests, ``Idempotency-Key`` and ``Stripe-Version``
headers, Stripe's JSON errors. Use it as a context manager::

    with StripeMock() as stripe_mock:
        response = client.post(create_url, {"amount": "19.99"}, content_type="application/json")
        intent = stripe_mock.intents[response.json()["paymentIntent"]]
        stripe_mock.set_status(intent["id"], "succeeded")

It is strict by default: every request is checked against the parameter types stripe-python
generates from Stripe's OpenAPI spec and against Stripe's rules (metadata limits, currencies,
minimum amounts), and refused with the 400 Stripe would answer. ``StripeMock(strict=False)``
(or ``stripe_mock.strict = False``) accepts what the types and rules refuse.

Objects are built from Stripe's published fixtures, so every field Stripe always returns is
there. Refunds follow Stripe's rules: only a succeeded PaymentIntent can be refunded, never for
more than is left, never while it is disputed (``stripe_mock.dispute(intent_id)``); they
succeed at once unless ``stripe_mock.refund_status`` says otherwise.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import responses
from django.core.exceptions import ImproperlyConfigured

from ..conf import app_settings
from ..gateway import BaseGateway
from . import stripe_objects
from .stripe_api import DEFAULT_LIMIT, MAX_LIMIT, Reply, _error_body, _Failure
from .stripe_checkout import StripeCheckoutAPI
from .stripe_customers import StripeCustomersAPI
from .stripe_tax_api import StripeTaxAPI

DEFAULT_API_BASE = "https://api.stripe.com"


class StripeMock(StripeCheckoutAPI, StripeCustomersAPI, StripeTaxAPI):
    """A stateful stand-in for Stripe's ``/v1/payment_intents``, ``/v1/refunds`` and
    ``/v1/checkout/sessions`` API, and for retrieving the Disputes and Charges of its
    PaymentIntents.

    ``strict`` (default ``True``) refuses, as Stripe does, every request Stripe would refuse
    by the pinned API version's parameter types and Stripe's rules. A host whose tests send
    what stripe-python's types do not know (a preview feature, say) can turn it off for
    one mock, or for the ``stripe_mock`` fixture with the pytest ini option
    ``apranova_stripe_mock_strict = false``.
    """

    def __init__(self, api_base: str | None = None, *, strict: bool = True) -> None:
        self.api_base = (api_base or app_settings.STRIPE_API_BASE or DEFAULT_API_BASE).rstrip("/")
        self.strict = strict
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        #: The status a new refund gets (Stripe's card refunds: ``succeeded`` or ``pending``).
        self.refund_status = "succeeded"
        self.disputed: set[str] = set()
        self.disputes: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self._session_params: dict[str, dict[str, Any]] = {}
        self._session_taxes: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[dict[str, Any]] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.tax_calculations: dict[str, dict[str, Any]] = {}
        self.tax_transactions: list[dict[str, Any]] = []
        self._create_lock = threading.Lock()
        self._replies: dict[str, tuple[str, Reply]] = {}
        self._failures: list[_Failure] = []
        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        base = re.escape(self.api_base)
        routes: list[tuple[str, str, Callable[[Any], Reply]]] = [
            ("POST", rf"{base}/v1/payment_intents$", self._create),
            ("GET", rf"{base}/v1/payment_intents/(?P<id>[^/?]+)(\?.*)?$", self._retrieve),
            ("POST", rf"{base}/v1/payment_intents/(?P<id>[^/?]+)/cancel$", self._cancel),
            ("POST", rf"{base}/v1/refunds$", self._refund),
            ("GET", rf"{base}/v1/refunds(\?.*)?$", self._list_refunds),
            ("GET", rf"{base}/v1/refunds/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_refund),
            ("GET", rf"{base}/v1/disputes/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_dispute),
            ("GET", rf"{base}/v1/charges/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_charge),
            ("POST", rf"{base}/v1/checkout/sessions$", self._create_checkout_session),
            ("GET", rf"{base}/v1/checkout/sessions/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_checkout_session),
            ("POST", rf"{base}/v1/checkout/sessions/(?P<id>[^/?]+)/expire$", self._expire_checkout_session),
            ("POST", rf"{base}/v1/customers$", self._create_customer),
            ("DELETE", rf"{base}/v1/customers/(?P<id>[^/?]+)$", self._delete_customer),
            ("GET", rf"{base}/v1/payment_methods(\?.*)?$", self._list_payment_methods),
            ("GET", rf"{base}/v1/payment_methods/(?P<id>[^/?]+)(\?.*)?$", self._retrieve_payment_method),
            ("POST", rf"{base}/v1/payment_methods/(?P<id>[^/?]+)/detach$", self._detach_payment_method),
            ("POST", rf"{base}/v1/tax/calculations$", self._create_tax_calculation),
        ]
        for method, pattern, handler in routes:
            self._mock.add_callback(method, re.compile(pattern), callback=self._wrap(handler))

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> StripeMock:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Intercept Stripe's API. Refuses, saying why, when the configured gateway never
        calls it (the offline simulator): the mock would sit unused and a test would fail
        later with a ``KeyError`` on a ``pi_sim…`` id."""
        gateway = app_settings.GATEWAY
        if isinstance(gateway, type) and issubclass(gateway, BaseGateway) and gateway.is_simulator:
            raise ImproperlyConfigured(
                "stripe_mock / StripeMock mocks Stripe's HTTP API, but "
                "APRANOVA_PAYMENTS['GATEWAY'] is the offline simulator, which never calls it. "
                "Use the default Stripe gateway in the test settings (StripeMock answers for "
                "Stripe), or test against the simulator without StripeMock."
            )
        self._mock.start()

    def stop(self) -> None:
        self._mock.stop()
        self._mock.reset()

    def let_through(self, url_prefix: str) -> None:
        """Let requests to ``url_prefix`` (pytest-django's ``live_server.url``, say) reach the
        network while the mock answers for Stripe: a test can then post to a live server whose
        code calls Stripe."""
        self._mock.add_passthru(url_prefix)

    # -- controls for tests ---------------------------------------------------------------

    def fail_next(
        self,
        action: str | None = None,
        *,
        status: int = 500,
        error_type: str = "api_error",
        code: str | None = None,
        message: str = "An error occurred with our connection to Stripe.",
        decline_code: str | None = None,
        param: str | None = None,
        exception: BaseException | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        lost_response: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``action`` (``"create"``, ``"retrieve"``,
        ``"cancel"``, ``"refund"``, ``"list_refunds"``, ``"retrieve_refund"``,
        ``"retrieve_dispute"``, ``"retrieve_charge"``, ``"create_customer"``,
        ``"delete_customer"``, ``"retrieve_payment_method"``, ``"list_payment_methods"``,
        ``"detach_payment_method"``, ``"create_checkout_session"``, ``"retrieve_checkout_session"``,
        ``"expire_checkout_session"``, ``"create_tax_calculation"`` or any, for ``None``) fail with
        Stripe's error JSON, or raise ``exception`` (e.g. ``requests.ConnectionError``) as a
        network failure would; ``param`` names the parameter Stripe blames (``customer`` for a
        ``resource_missing`` Customer).

        With ``lost_response=True`` Stripe does the work first and only the answer is lost
        (a timeout after the PaymentIntent was created): the case idempotency keys exist for.
        """
        extra = {name: value for name, value in (("decline_code", decline_code), ("param", param)) if value}
        body = None if exception else _error_body(error_type, code, message, **extra)
        for _ in range(times):
            self._failures.append(_Failure(action, status, body, exception, headers or {}, lost_response))

    def set_status(
        self,
        intent_id: str,
        status: str,
        *,
        failure_code: str | None = None,
        failure_message: str | None = None,
    ) -> dict[str, Any]:
        """Move a mocked PaymentIntent, as a customer's confirmation would at Stripe: with
        ``latest_charge``, ``payment_method`` and ``amount_received`` as Stripe sets them."""
        error = (
            {"type": "card_error", "code": "card_declined", "decline_code": failure_code,
             "message": failure_message or "Your card was declined."}
            if failure_code else None
        )
        intent = stripe_objects.with_intent_status(self.intents[intent_id], status, last_payment_error=error)
        if status == "succeeded":
            self._save_paid_card(intent)
            self._record_tax_transaction(intent)
        return intent

    def dispute(
        self,
        intent_id: str,
        status: str = "needs_response",
        *,
        reason: str = "fraudulent",
        due_by: int | None = None,
        without_payment_intent: bool = False,
    ) -> dict[str, Any]:
        """Open a chargeback on the PaymentIntent's charge and return the Dispute: Stripe
        refuses the charge's refunds from now on (``charge_disputed``).

        ``status`` is any dispute status, those of the pinned version
        (``stripe_objects.DISPUTE_STATUSES``: ``prevented``, ``appeal_needs_response`` …) or
        one Stripe adds later; ``due_by=0`` is a dispute the bank allows no response to;
        ``without_payment_intent`` names only the charge (``payment_intent`` null), as
        Stripe does for a charge made without a PaymentIntent."""
        intent = self.intents[intent_id]
        self.disputed.add(intent_id)
        dispute = stripe_objects.dispute(
            amount=intent["amount"], currency=intent["currency"], status=status, reason=reason, due_by=due_by,
            payment_intent=None if without_payment_intent else intent_id,
            charge=stripe_objects.charge_of(intent_id), livemode=intent["livemode"],
        )
        self.disputes[dispute["id"]] = dispute
        return dispute

    def set_dispute_status(self, dispute_id: str, status: str, *, due_by: int | None = None) -> dict[str, Any]:
        """Move a mocked Dispute (an appeal: ``lost`` → ``appeal_needs_response`` …)."""
        dispute = self.disputes[dispute_id]
        dispute["status"] = status
        if due_by is not None:
            dispute["evidence_details"]["due_by"] = due_by
        return dispute

    def set_refund_status(self, refund_id: str, status: str, *, failure_reason: str | None = None) -> dict[str, Any]:
        """Move a mocked refund, as Stripe would (``failed`` with a ``failure_reason``)."""
        refund = self.refunds[refund_id]
        refund["status"] = status
        if status == "failed":
            refund["failure_reason"] = failure_reason or "unknown"
        else:
            refund.pop("failure_reason", None)
        return refund

    def refund_in_dashboard(
        self,
        intent_id: str,
        amount: int | None = None,
        *,
        reason: str | None = None,
        without_payment_intent: bool = False,
    ) -> dict[str, Any]:
        """A refund made outside the package (Stripe's Dashboard): no metadata of ours.
        ``without_payment_intent`` names only the charge (``payment_intent`` null)."""
        intent = self.intents[intent_id]
        return self._store_refund(
            intent, amount if amount is not None else self._left(intent), reason, {},
            payment_intent=None if without_payment_intent else intent_id,
        )

    def calls_to(self, action: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if call["action"] == action]


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "StripeMock"]
