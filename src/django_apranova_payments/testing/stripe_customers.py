"""The Customer and PaymentMethod endpoints ``StripeMock`` serves, as Stripe answers them:
create and delete a Customer, retrieve (``expand[]=customer``), list, attach by paying and
detach a card PaymentMethod; an unknown id is Stripe's 404 ``resource_missing``."""

from __future__ import annotations

import json
import threading
from typing import Any

from . import stripe_objects, stripe_rules
from .stripe_api import Reply, StripeAPI, _error_body, _missing, _refused
from .stripe_params import StripeRequestError


class StripeCustomersAPI(StripeAPI):
    """The Customer and card handlers of ``StripeMock`` (its base), with their state."""

    customers: dict[str, dict[str, Any]]
    payment_methods: dict[str, dict[str, Any]]
    _create_lock: threading.Lock

    # -- controls for tests ---------------------------------------------------------------

    def save_card(self, customer_id: str | None, **card: Any) -> dict[str, Any]:
        """A card PaymentMethod attached to ``customer_id`` (``None``: attached to no one),
        as a student's saved card would be (``brand``, ``last4``, ``exp_month``, ``exp_year``)."""
        livemode = bool(self.customers[customer_id]["livemode"]) if customer_id else False
        method = stripe_objects.payment_method(customer=customer_id, livemode=livemode, **card)
        self.payment_methods[method["id"]] = method
        return method

    def delete_in_dashboard(self, customer_id: str) -> None:
        """Delete a Customer as Stripe's Dashboard would: its cards are detached with it."""
        self._forget_customer(customer_id)

    # -- handlers -------------------------------------------------------------------------

    def _create_customer(self, request: Any) -> Reply:
        params = request.params_dict
        key, fingerprint = request.headers.get("Idempotency-Key"), json.dumps(params, sort_keys=True)
        # Concurrent requests with one key: Stripe answers the later ones (after stripe-python's
        # retry of its 409) with the first one's Customer; the lock makes them wait for it here.
        with self._create_lock:
            replayed = self._replayed(key, fingerprint)
            if replayed is not None:
                return replayed
            try:
                if self.strict:
                    stripe_rules.check_metadata({}, params.get("metadata"))
            except StripeRequestError as error:
                return _refused(error)
            customer = stripe_objects.customer(
                email=params.get("email"), metadata=stripe_rules.stored_metadata({}, params.get("metadata")),
                livemode="_live_" in request.headers.get("Authorization", ""),
            )
            self.customers[customer["id"]] = customer
            created = self._remembered(customer, key, fingerprint)
        return created

    def _delete_customer(self, request: Any) -> Reply:
        customer_id = self._path_id(request, "customers")
        if customer_id not in self.customers:
            return _missing("customer", customer_id, "id")
        self._forget_customer(customer_id)
        return 200, {}, json.dumps({"id": customer_id, "object": "customer", "deleted": True})

    def _retrieve_payment_method(self, request: Any) -> Reply:
        method = self.payment_methods.get(self._path_id(request, "payment_methods"))
        if method is None:
            return _missing("payment_method", self._path_id(request, "payment_methods"), "payment_method")
        answer = dict(method)
        if "customer" in request.params_dict.get("expand", {}).values() and method["customer"]:
            answer["customer"] = self.customers[method["customer"]]
        return 200, {}, json.dumps(answer)

    def _list_payment_methods(self, request: Any) -> Reply:
        params = request.params_dict
        customer_id = params.get("customer")
        if customer_id is not None and customer_id not in self.customers:
            return _missing("customer", customer_id, "customer")
        methods = [
            method for method in reversed(self.payment_methods.values())
            if method["customer"] == customer_id and params.get("type", method["type"]) == method["type"]
        ]
        limit = int(params.get("limit", 10))
        body = stripe_objects.list_object(methods[:limit], "/v1/payment_methods", has_more=len(methods) > limit)
        return 200, {}, json.dumps(body)

    def _detach_payment_method(self, request: Any) -> Reply:
        method_id = self._path_id(request, "payment_methods")
        method = self.payment_methods.get(method_id)
        if method is None:
            return _missing("payment_method", method_id, "payment_method")
        if method["customer"] is None:
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", "payment_method_unexpected_state",
                "The payment method you provided is not attached to a customer so detachment is impossible.",
            ))
        method["customer"] = None
        return 200, {}, json.dumps(method)

    # -- what a PaymentIntent does with them ------------------------------------------------

    def _create(self, request: Any) -> Reply:
        refused = self._refused_card(request.params_dict)
        return refused if refused is not None else super()._create(request)

    def _refused_card(self, params: dict[str, Any]) -> Reply | None:
        """Stripe's answer to a PaymentIntent naming a Customer or PaymentMethod it does not
        have, or a card of another Customer; ``None`` when they are fine."""
        customer_id, method_id = params.get("customer"), params.get("payment_method")
        if customer_id is not None and customer_id not in self.customers:
            return _missing("customer", customer_id, "customer")
        if method_id is None:
            return None
        method = self.payment_methods.get(method_id)
        if method is None:
            return _missing("payment_method", method_id, "payment_method")
        if method["customer"] is not None and method["customer"] != customer_id:
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", None,
                "The provided PaymentMethod belongs to another Customer.", param="payment_method",
            ))
        return None

    def _save_paid_card(self, intent: dict[str, Any]) -> None:
        """A PaymentIntent with ``setup_future_usage`` that succeeds attaches its card to its
        Customer, as Stripe does."""
        customer_id, method_id = intent.get("customer"), intent.get("payment_method")
        if not (customer_id and method_id and intent.get("setup_future_usage") and customer_id in self.customers):
            return
        if method_id not in self.payment_methods:
            self.payment_methods[method_id] = stripe_objects.payment_method(
                method_id, customer=customer_id, livemode=bool(intent.get("livemode"))
            )
        self.payment_methods[method_id]["customer"] = customer_id

    def _paid_with(self, intent: dict[str, Any]) -> dict[str, Any]:
        saved = self.payment_methods.get(intent["payment_method"])
        return dict(saved) if saved is not None else super()._paid_with(intent)

    def _forget_customer(self, customer_id: str) -> None:
        del self.customers[customer_id]
        for method in self.payment_methods.values():
            if method["customer"] == customer_id:
                method["customer"] = None
