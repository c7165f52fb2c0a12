"""Stripe Checkout's ``/v1/checkout/sessions`` (create, retrieve, expire), as ``StripeMock``
serves it: Sessions in ``mode=payment`` with ``price_data`` line items, refused where Stripe
refuses them, and the controls a test pays or abandons a Session with. ``checkout_session``
builds a Session from Stripe's published fixture (``stripe_objects.fixture``)."""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from . import stripe_objects, stripe_rules, stripe_tax
from .stripe_api import Reply, StripeAPI, _error_body, _missing, _refused
from .stripe_params import StripeRequestError

#: Stripe's limit on ``client_reference_id``.
CLIENT_REFERENCE_ID_LENGTH = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# The fixture shows each field filled in; a new Session (mode=payment, one line of
# price_data, no tax, no shipping, no discount) has these values instead.
_NEW_CHECKOUT_SESSION: Mapping[str, Any] = {
    "after_expiration": None, "consent_collection": None, "currency_conversion": None, "custom_text": {
        "after_submit": None, "shipping_address": None, "submit": None, "terms_of_service_acceptance": None},
    "customer_details": None, "invoice_creation": {"enabled": False, "invoice_data": {
        "account_tax_ids": None, "custom_fields": None, "description": None, "footer": None, "issuer": None,
        "metadata": {}, "rendering_options": None}},
    "payment_intent": None, "payment_method_configuration_details": None, "shipping_address_collection": None,
    "shipping_cost": None, "collected_information": None, "managed_payments": None,
    "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
    "payment_status": "unpaid", "status": "open", "customer_creation": "if_required",
}


def checkout_session(
    session_id: str | None = None,
    *,
    amount: int,
    currency: str,
    success_url: str,
    cancel_url: str | None = None,
    metadata: Mapping[str, str] | None = None,
    livemode: bool = False,
    created: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An open Checkout Session (``mode=payment``) of ``amount`` minor units, with every field
    of Stripe's fixture; ``fields`` set any other (``client_reference_id``, ``customer_email``
    …)."""
    suffix = secrets.token_hex(24)
    session_id = session_id or f"cs_{'live' if livemode else 'test'}_{suffix}"
    data = stripe_objects.fixture("checkout.session")
    data.update(copy.deepcopy(dict(_NEW_CHECKOUT_SESSION)))
    now = int(time.time()) if created is None else created
    data.update(
        id=session_id, amount_subtotal=amount, amount_total=amount, currency=currency, livemode=livemode,
        metadata=dict(metadata or {}), success_url=success_url, cancel_url=cancel_url, created=now,
        expires_at=now + 24 * 3600, url=f"https://checkout.stripe.com/c/pay/{session_id}",
    )
    data.update(fields)
    return data


class StripeCheckoutAPI(StripeAPI):
    """The Checkout Session handlers of ``StripeMock`` (its base), and their controls."""

    sessions: dict[str, dict[str, Any]]

    # -- controls for tests ---------------------------------------------------------------

    def enter_address(self, session_id: str, address: Mapping[str, Any]) -> dict[str, Any]:
        """The customer enters a billing address (Stripe's keys: ``country``, ``postal_code``,
        ``state``, ``city``, ``line1``) on Stripe's page. With ``automatic_tax`` Stripe
        computes the tax from the test kit's table (``stripe_tax``) and sets
        ``total_details.amount_tax`` and ``amount_total`` (the line plus an exclusive tax);
        ``stripe_tax.TaxLocationInvalid`` for an address it cannot place, as the page would
        say. Returns the Session."""
        session = self.sessions[session_id]
        full = {key: address.get(key) for key in ("city", "country", "line1", "line2", "postal_code", "state")}
        session["customer_details"] = {
            "address": full, "business_name": None, "email": session.get("customer_email"), "individual_name": None,
            "name": None, "phone": None, "tax_exempt": "none", "tax_ids": [],
        }
        if session["automatic_tax"]["enabled"]:
            behavior = self._tax_behavior(session_id)
            tax, taxes = stripe_tax.checkout_tax(
                amount=session["amount_subtotal"], address=full, behavior=behavior, livemode=session["livemode"],
            )
            session["amount_total"] = session["amount_subtotal"] + (tax if behavior == "exclusive" else 0)
            session["total_details"]["amount_tax"] = tax
            session["automatic_tax"]["status"] = "complete"
            self._session_taxes[session_id] = taxes
        return session

    def pay_session(
        self, session_id: str, status: str = "succeeded", *, address: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The customer pays on Stripe's page: Stripe makes the Session's PaymentIntent (with
        ``payment_intent_data[metadata]``) in ``status`` (``succeeded``, or ``processing`` for
        a delayed method) and completes the Session, ``paid`` or ``unpaid``. Returns both.
        ``address``: the billing address entered first (``enter_address``); a Session that
        requires one (``billing_address_collection=required``, or ``automatic_tax``) cannot be
        paid without it."""
        session = self.sessions[session_id]
        if address is not None:
            self.enter_address(session_id, address)
        intent = self._session_intent(session)
        stripe_objects.with_intent_status(intent, status)
        session.update(status="complete", payment_status="paid" if status == "succeeded" else "unpaid", url=None)
        return session, intent

    def open_session_intent(self, session_id: str, *, address: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The customer confirms on Stripe's page and Stripe makes the PaymentIntent, not yet
        paid (``requires_payment_method``, as after a decline); the Session stays open.
        ``address`` as for ``pay_session``."""
        if address is not None:
            self.enter_address(session_id, address)
        return self._session_intent(self.sessions[session_id])

    def expire_session(self, session_id: str) -> dict[str, Any]:
        """The Session expires (its 24 hours are up, or ``POST …/expire``); Stripe cancels its
        PaymentIntent, if it made one."""
        session = self.sessions[session_id]
        session.update(status="expired", url=None)
        intent_id = session.get("payment_intent")
        if intent_id and self.intents[intent_id]["status"] not in ("succeeded", "canceled"):
            stripe_objects.with_intent_status(self.intents[intent_id], "canceled", cancellation_reason="abandoned")
        return session

    def _tax_behavior(self, session_id: str) -> str:
        line = (self._session_params.get(session_id, {}).get("line_items") or {}).get("0", {})
        return str((line.get("price_data") or {}).get("tax_behavior", "exclusive"))

    def _session_intent(self, session: dict[str, Any]) -> dict[str, Any]:
        if session.get("payment_intent"):
            return self.intents[session["payment_intent"]]
        needs_address = session["automatic_tax"]["enabled"] or session.get("billing_address_collection") == "required"
        if needs_address and not (session.get("customer_details") or {}).get("address"):
            raise ValueError(f"Checkout Session {session['id']} requires a billing address: pass address=")
        sent = self._session_params.get(session["id"], {}).get("payment_intent_data", {})
        intent = stripe_objects.payment_intent(
            amount=session["amount_total"], currency=session["currency"], livemode=session["livemode"],
            metadata=stripe_rules.stored_metadata({}, sent.get("metadata")),
            payment_method_types=["card"], automatic_payment_methods=None,
        )
        self.intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    # -- the endpoints --------------------------------------------------------------------

    _session_params: dict[str, dict[str, Any]]
    #: ``total_details.breakdown.taxes`` of each Session with tax, sent when expanded.
    _session_taxes: dict[str, list[dict[str, Any]]]

    def _create_checkout_session(self, request: Any) -> Reply:
        params = request.params_dict
        key, fingerprint = request.headers.get("Idempotency-Key"), json.dumps(params, sort_keys=True)
        replayed = self._replayed(key, fingerprint)
        if replayed is not None:
            return replayed
        try:
            amount, currency = _checked_session(params) if self.strict else _total(params)
        except StripeRequestError as error:
            return _refused(error)
        session = checkout_session(
            amount=amount, currency=currency, success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"), livemode="_live_" in request.headers.get("Authorization", ""),
            metadata=stripe_rules.stored_metadata({}, params.get("metadata")),
            client_reference_id=params.get("client_reference_id"), customer_email=params.get("customer_email"),
            billing_address_collection=params.get("billing_address_collection"),
        )
        if (params.get("automatic_tax") or {}).get("enabled") == "true":
            session["automatic_tax"] = {"enabled": True, "liability": {"type": "self"}, "provider": "stripe",
                                        "status": "requires_location_inputs"}
        self.sessions[session["id"]] = session
        self._session_params[session["id"]] = params
        return self._remembered(session, key, fingerprint)

    def _retrieve_checkout_session(self, request: Any) -> Reply:
        session_id = self._path_id(request, "checkout/sessions")
        session = self.sessions.get(session_id)
        if session is None:
            return _missing("checkout.session", session_id, "session")
        if "total_details.breakdown" in (request.params_dict.get("expand") or {}).values():
            session = copy.deepcopy(session)
            session["total_details"]["breakdown"] = {
                "discounts": [], "taxes": copy.deepcopy(self._session_taxes.get(session_id, [])),
            }
        return 200, {}, json.dumps(session)

    def _expire_checkout_session(self, request: Any) -> Reply:
        session_id = self._path_id(request, "checkout/sessions")
        session = self.sessions.get(session_id)
        if session is None:
            return _missing("checkout.session", session_id, "session")
        if session["status"] != "open":
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", "checkout_session_unexpected_state",
                f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a '
                f'status of "{session["status"]}".',
            ))
        return 200, {}, json.dumps(self.expire_session(session_id))


def _total(params: dict[str, Any]) -> tuple[int, str]:
    """The Session's total and currency: the sum of its ``price_data`` lines."""
    lines = params.get("line_items") or {}
    total, currency = 0, ""
    for index, line in sorted(lines.items()):
        price = line.get("price_data") or {}
        currency = str(price.get("currency", currency)).lower()
        try:
            total += int(price.get("unit_amount", 0)) * int(line.get("quantity", 0))
        except ValueError:
            raise StripeRequestError(f"line_items[{index}]", "parameter_invalid_integer", "Invalid integer") from None
    return total, currency


def _checked_session(params: dict[str, Any]) -> tuple[int, str]:
    """Refuse a Session Stripe refuses (beyond the parameter types); its total and currency."""
    if params.get("mode") != "payment":
        raise StripeRequestError("mode", None, "This mock serves Checkout Sessions in mode=payment only.")
    lines = params.get("line_items")
    if not lines:
        raise StripeRequestError("line_items", "parameter_missing", "Missing required param: line_items.")
    for index, line in sorted(lines.items()):
        if "quantity" not in line:
            raise StripeRequestError(
                f"line_items[{index}][quantity]", "parameter_missing",
                f"Quantity is required. Add `quantity` to `line_items[{index}]`",
            )
    for name in ("success_url", "cancel_url"):
        url = params.get(name)
        if name == "success_url" and url is None:
            raise StripeRequestError(name, "parameter_missing", f"Missing required param: {name}.")
        if url is not None and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
            raise StripeRequestError(name, "url_invalid", "Not a valid URL")
    reference = params.get("client_reference_id")
    if reference is not None and len(reference) > CLIENT_REFERENCE_ID_LENGTH:
        raise StripeRequestError(
            "client_reference_id", None,
            f"Invalid string: {reference[:20]}...; must be at most {CLIENT_REFERENCE_ID_LENGTH} characters",
        )
    email = params.get("customer_email")
    if email is not None and not _EMAIL.fullmatch(email):
        raise StripeRequestError("customer_email", "email_invalid", f"Invalid email address: {email}")
    _check_tax(params)
    stripe_rules.check_metadata({}, params.get("metadata"))
    stripe_rules.check_metadata({}, (params.get("payment_intent_data") or {}).get("metadata"))
    amount, currency = _total(params)
    currency = stripe_rules.check_currency(currency)
    stripe_rules.check_charge_amount(amount, currency)
    return amount, currency


_TAX_CODE = re.compile(r"txcd_[0-9]{8}")


def _check_tax(params: dict[str, Any]) -> None:
    """Stripe Tax's rules beyond the types: with ``automatic_tax`` every price says whether it
    includes the tax (this mock's account has no default tax behaviour), and a tax code is
    one of Stripe's (``txcd_`` and 8 digits). The messages are in Stripe's style."""
    automatic = (params.get("automatic_tax") or {}).get("enabled") == "true"
    for index, line in sorted((params.get("line_items") or {}).items()):
        price = line.get("price_data") or {}
        code = (price.get("product_data") or {}).get("tax_code")
        if code is not None and not _TAX_CODE.fullmatch(code):
            raise StripeRequestError(
                f"line_items[{index}][price_data][product_data][tax_code]", "resource_missing",
                f"No such tax code: '{code}'",
            )
        if automatic and price and price.get("tax_behavior", "unspecified") == "unspecified":
            raise StripeRequestError(
                f"line_items[{index}][price_data][tax_behavior]", None,
                "Automatic tax requires a tax behavior on every price: set tax_behavior to inclusive or exclusive, "
                "or set a default tax behavior in your Stripe Tax settings.",
            )
