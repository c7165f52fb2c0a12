"""Stripe Tax as ``StripeMock`` serves it: ``POST /v1/tax/calculations`` from the test kit's
rate table (``stripe_tax``), a PaymentIntent linked to a calculation with
``hooks[inputs][tax][calculation]``, and what Stripe then does on its own: a tax transaction
when the PaymentIntent succeeds, and a reversal of its share for each refund, however the
refund was made (the API or the Dashboard).

Tests read ``stripe_mock.tax_calculations``, ``stripe_mock.tax_transactions`` (the
transactions and reversals, in order) and ``stripe_mock.tax_reversed(intent_id)``.
"""

from __future__ import annotations

import json
from typing import Any

from . import stripe_rules, stripe_tax
from .stripe_api import Reply, StripeAPI, _error_body, _missing, _refused
from .stripe_params import StripeRequestError


class StripeTaxAPI(StripeAPI):
    """The Stripe Tax handlers of ``StripeMock`` (its base), with their state."""

    tax_calculations: dict[str, dict[str, Any]]
    tax_transactions: list[dict[str, Any]]

    # -- controls for tests ---------------------------------------------------------------

    def tax_transaction_of(self, intent_id: str) -> dict[str, Any] | None:
        """The tax transaction Stripe recorded when ``intent_id`` succeeded, or ``None``."""
        return next((tx for tx in self.tax_transactions if tx["type"] == "transaction"
                     and tx["reference"] == intent_id), None)

    def tax_reversed(self, intent_id: str) -> int:
        """The tax, in minor units, the reversals of ``intent_id``'s refunds gave back."""
        original = self.tax_transaction_of(intent_id)
        if original is None:
            return 0
        return -sum(
            int(line["amount_tax"]) for tx in self.tax_transactions
            if tx["type"] == "reversal" and tx["reversal"]["original_transaction"] == original["id"]
            for line in tx["line_items"]["data"]
        )

    # -- handlers -------------------------------------------------------------------------

    def _create_tax_calculation(self, request: Any) -> Reply:
        params = request.params_dict
        key, fingerprint = request.headers.get("Idempotency-Key"), json.dumps(params, sort_keys=True)
        replayed = self._replayed(key, fingerprint)
        if replayed is not None:
            return replayed
        lines = params.get("line_items")  # form-encoded: {"0": {…}}, checked a list by the types
        if isinstance(lines, dict):
            lines = [lines[index] for index in sorted(lines, key=lambda index: int(index) if index.isdigit() else -1)]
        if not isinstance(lines, list) or len(lines) != 1 or not isinstance(lines[0], dict):
            return _refused(StripeRequestError(
                "line_items", None, "The test kit's Stripe Tax takes exactly one line item.",
            ))
        line = lines[0]
        address = (params.get("customer_details") or {}).get("address")
        if not isinstance(address, dict):
            return _refused(StripeRequestError(
                "customer_details", "customer_tax_location_invalid",
                "We could not determine the customer's tax location: customer_details[address] is required.",
            ))
        currency = str(params.get("currency", ""))
        try:
            amount = int(line["amount"])
            currency = stripe_rules.check_currency(currency) if self.strict else currency
        except StripeRequestError as error:
            return _refused(error)
        if amount < 0:
            return _refused(StripeRequestError("line_items[0][amount]", None, "This value must be greater than or "
                                                                                  "equal to 0."))
        try:
            calc = stripe_tax.calculation(
                amount=amount, currency=currency, address=address, tax_code=line.get("tax_code", "txcd_00000000"),
                behavior=line.get("tax_behavior", "exclusive"),
                livemode="_live_" in request.headers.get("Authorization", ""), reference=line.get("reference", ""),
            )
        except stripe_tax.TaxLocationInvalid as error:
            return 400, {}, json.dumps(_error_body(
                "invalid_request_error", error.code, str(error), param=error.param,
            ))
        self.tax_calculations[calc["id"]] = calc
        return self._remembered(calc, key, fingerprint)

    def _linked_calculation(self, params: dict[str, Any]) -> tuple[str | None, Reply | None]:
        """The calculation ``hooks[inputs][tax][calculation]`` names on a PaymentIntent create,
        or Stripe's answer when it names none it has."""
        hooks = params.get("hooks") or {}
        calc_id = ((hooks.get("inputs") or {}).get("tax") or {}).get("calculation") if isinstance(hooks, dict) else None
        if not calc_id:
            return None, None
        calc = self.tax_calculations.get(calc_id)
        if calc is None:
            return None, _missing("tax.calculation", calc_id, "hooks[inputs][tax][calculation]")
        if calc["currency"] != str(params.get("currency", "")).lower():
            return None, (400, {}, json.dumps(_error_body(
                "invalid_request_error", None,
                "The tax calculation's currency does not match the PaymentIntent's.",
                param="hooks[inputs][tax][calculation]",
            )))
        return calc_id, None

    def _record_tax_transaction(self, intent: dict[str, Any]) -> None:
        """What Stripe does when a PaymentIntent linked to a calculation succeeds: one tax
        transaction from the calculation (never a second, whichever PaymentIntent is first)."""
        calc_id = ((intent.get("hooks") or {}).get("inputs") or {}).get("tax", {}).get("calculation")
        if not calc_id or self.tax_transaction_of(intent["id"]) is not None:
            return
        calc = self.tax_calculations[calc_id]
        if any(tx.get("calculation") == calc_id for tx in self.tax_transactions):
            return
        tx = stripe_tax.transaction(calc, reference=intent["id"])
        tx["calculation"] = calc_id  # the mock's own note: not a field of Stripe's object
        tx["line_items"]["data"] = [{**calc["line_items"]["data"][0], "object": "tax.transaction_line_item",
                                     "type": "transaction", "metadata": None, "reversal": None}]
        self.tax_transactions.append(tx)

    def _reverse_tax(self, intent: dict[str, Any], refund: dict[str, Any]) -> None:
        """What Stripe does for each refund of a PaymentIntent linked to a calculation: a
        reversal of the refund's share of the tax (shares of partial refunds add up to the
        whole tax)."""
        original = self.tax_transaction_of(intent["id"])
        if original is None:
            return
        total = int(intent["amount"])
        tax = sum(line["amount_tax"] for line in original["line_items"]["data"])
        refunded_before = sum(
            -line["amount"] for tx in self.tax_transactions
            if tx["type"] == "reversal" and tx["reversal"]["original_transaction"] == original["id"]
            for line in tx["line_items"]["data"]
        )
        share = stripe_tax.reversal_share(tax, total, refunded_before, int(refund["amount"]))
        self.tax_transactions.append(stripe_tax.reversal(
            original, refund=refund["id"], amount=int(refund["amount"]), tax=share,
        ))
