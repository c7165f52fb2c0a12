"""Stripe objects as Stripe renders them, built from Stripe's published fixtures.

``stripe_fixtures.json`` holds the PaymentIntent, Refund, Charge, Dispute, Event, Customer,
PaymentMethod and Checkout Session objects of
``openapi/fixtures3.json`` in Stripe's public ``stripe/openapi`` repository (regenerate it with
``scripts/extract_stripe_fixtures.py``). Each builder starts from a copy of its fixture, so
every field Stripe always returns is present, then sets the fields that follow from the
object's state: a succeeded PaymentIntent has ``amount_received``, ``latest_charge`` and
``payment_method``; a canceled one ``canceled_at``; a failed refund ``failure_reason``.

Objects of an older API version (``as_version``) carry what that version sent: before
``2022-11-15`` a PaymentIntent has its ``charges`` list and a Charge its ``refunds`` list.
"""

from __future__ import annotations

import copy
import functools
import json
import secrets
import time
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import stripe

__all__ = [
    "DISPUTE_STATUSES",
    "LEGACY_API_VERSION",
    "as_version",
    "charge",
    "charge_of",
    "charge_status",
    "customer",
    "dispute",
    "event",
    "fixture",
    "fixture_source",
    "list_object",
    "payment_intent",
    "payment_method",
    "refund",
    "with_intent_status",
]

#: An account's API version from before ``2022-11-15``, when a PaymentIntent still carried
#: its ``charges`` list and a Charge its ``refunds``.
LEGACY_API_VERSION = "2022-08-01"
_CHARGES_REMOVED = "2022-11-15"

#: Every dispute status of the pinned API version, as stripe-python types ``Dispute.status``
#: (``Literal[...] | str``: the ``str`` is for statuses Stripe adds later).
DISPUTE_STATUSES: tuple[str, ...] = next(
    typing.get_args(arm) for arm in typing.get_args(stripe.Dispute.__annotations__["status"])
    if typing.get_origin(arm) is typing.Literal
)


@functools.cache
def _fixtures() -> Mapping[str, Any]:
    data: Mapping[str, Any] = json.loads(Path(__file__).with_name("stripe_fixtures.json").read_text())
    return data


def fixture_source() -> str:
    """Where ``stripe_fixtures.json`` was extracted from (repository, commit and file)."""
    return str(_fixtures()["source"])


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of Stripe's published fixture ``name`` (``payment_intent``, ``refund``,
    ``charge``, ``dispute``, ``event``, ``customer``, ``payment_method``, ``checkout.session``
    or ``list``), exactly as published."""
    value: dict[str, Any] = copy.deepcopy(_fixtures()["resources"][name])
    return value


def _suffix(object_id: str) -> str:
    return object_id.split("_", 1)[-1]


def charge_of(intent_id: str) -> str:
    """The id of the Charge a PaymentIntent's payment made (``pi_X`` → ``ch_X``)."""
    return f"ch_{_suffix(intent_id)}"


def charge_status(intent: Mapping[str, Any]) -> str:
    """The status of the Charge of ``intent``'s latest payment attempt."""
    if intent["status"] == "succeeded":
        return "succeeded"
    return "failed" if intent.get("last_payment_error") else "pending"


# The fixtures show each field filled in; a new object has these values instead.
_NEW_PAYMENT_INTENT: Mapping[str, Any] = {
    "amount_capturable": 0, "amount_details": {"tip": {}}, "amount_received": 0, "application": None,
    "application_fee_amount": None, "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
    "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic_async",
    "confirmation_method": "automatic", "customer": None, "customer_account": None, "description": None,
    "excluded_payment_method_types": None, "last_payment_error": None, "latest_charge": None,
    "managed_payments": None, "metadata": {}, "next_action": None, "on_behalf_of": None, "payment_method": None,
    "payment_method_configuration_details": None, "payment_method_options": {}, "payment_method_types": ["card"],
    "processing": None, "receipt_email": None, "review": None, "setup_future_usage": None, "shipping": None,
    "source": None, "statement_descriptor": None, "statement_descriptor_suffix": None,
    "status": "requires_payment_method", "transfer_data": None, "transfer_group": None,
}
_NEW_CHARGE: Mapping[str, Any] = {
    "application": None, "application_fee": None, "application_fee_amount": None, "customer": None,
    "description": None, "failure_balance_transaction": None, "failure_code": None, "failure_message": None,
    "metadata": {}, "on_behalf_of": None, "receipt_email": None, "receipt_number": None, "review": None,
    "shipping": None, "source": None, "source_transfer": None, "statement_descriptor": None,
    "statement_descriptor_suffix": None, "transfer_data": None, "transfer_group": None,
}


def payment_intent(
    intent_id: str | None = None,
    *,
    amount: int,
    currency: str,
    status: str = "requires_payment_method",
    metadata: Mapping[str, str] | None = None,
    livemode: bool = False,
    created: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A PaymentIntent in ``status``, with every field of Stripe's fixture; ``fields`` set
    any other (``receipt_email``, ``capture_method``, ``last_payment_error`` …)."""
    intent_id = intent_id or f"pi_{secrets.token_hex(12)}"
    intent = fixture("payment_intent")
    intent.update(copy.deepcopy(dict(_NEW_PAYMENT_INTENT)))
    intent.update(
        id=intent_id, amount=amount, currency=currency, livemode=livemode, metadata=dict(metadata or {}),
        created=int(time.time()) if created is None else created,
        client_secret=f"{intent_id}_secret_{secrets.token_hex(12)}",
    )
    error = fields.pop("last_payment_error", None)
    reason = fields.pop("cancellation_reason", None)
    intent.update(fields)
    return with_intent_status(intent, status, last_payment_error=error, cancellation_reason=reason)


def with_intent_status(
    intent: dict[str, Any],
    status: str,
    *,
    last_payment_error: Mapping[str, Any] | None = None,
    cancellation_reason: str | None = None,
) -> dict[str, Any]:
    """Move ``intent`` to ``status`` in place, with the fields Stripe sets along with it."""
    attempted = status in ("processing", "succeeded", "requires_action") or last_payment_error is not None
    intent["status"] = status
    intent["last_payment_error"] = dict(last_payment_error) if last_payment_error else None
    intent["amount_received"] = intent["amount"] if status == "succeeded" else 0
    intent["latest_charge"] = charge_of(intent["id"]) if attempted else intent.get("latest_charge")
    if attempted and intent.get("payment_method") is None:
        intent["payment_method"] = f"pm_{_suffix(intent['id'])}"
    intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}} if status == "requires_action" else None
    intent["processing"] = {"type": "card", "card": {}} if status == "processing" else None
    if status == "canceled":
        intent["canceled_at"] = intent.get("canceled_at") or int(time.time())
        intent["cancellation_reason"] = cancellation_reason
    return intent


def refund(
    refund_id: str | None = None,
    *,
    amount: int,
    currency: str,
    payment_intent: str | None,
    charge: str | None = None,
    status: str = "succeeded",
    reason: str | None = None,
    failure_reason: str | None = None,
    metadata: Mapping[str, str] | None = None,
    created: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A Refund with every field of Stripe's fixture. ``payment_intent`` may be ``None``, as
    for a charge made without one; ``charge`` defaults to the PaymentIntent's. A failed refund
    has a ``failure_reason`` (``unknown`` unless given)."""
    if charge is None and payment_intent is not None:
        charge = charge_of(payment_intent)
    data = fixture("refund")
    refund_id = refund_id or f"re_{secrets.token_hex(12)}"
    data.update(
        id=refund_id, amount=amount, currency=currency, charge=charge,
        payment_intent=payment_intent, status=status, reason=reason, metadata=dict(metadata or {}),
        created=int(time.time()) if created is None else created,
        balance_transaction=f"txn_{_suffix(refund_id)}" if status in ("pending", "succeeded", "failed") else None,
        destination_details={"card": {"type": "refund"}, "type": "card"},
    )
    if status == "failed":
        data["failure_reason"] = failure_reason or "unknown"
        data["failure_balance_transaction"] = f"txn_{_suffix(refund_id)}F"
    data.update(fields)
    return data


def charge(
    charge_id: str | None = None,
    *,
    amount: int,
    currency: str,
    payment_intent: str | None,
    amount_refunded: int = 0,
    disputed: bool = False,
    livemode: bool = False,
    status: str = "succeeded",
    created: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A card Charge made by ``payment_intent``, with every field Stripe always returns (its
    ``refunds`` list is gone since ``2022-11-15``: see :func:`as_version`)."""
    data = fixture("charge")
    data.pop("refunds")
    data.update(copy.deepcopy(dict(_NEW_CHARGE)))
    succeeded = status == "succeeded"
    charge_id = charge_id or (charge_of(payment_intent) if payment_intent else f"ch_{secrets.token_hex(12)}")
    data.update(
        id=charge_id,
        amount=amount, amount_captured=amount if succeeded else 0, amount_refunded=amount_refunded,
        captured=succeeded, paid=succeeded, currency=currency, payment_intent=payment_intent,
        refunded=succeeded and amount_refunded == amount, disputed=disputed, livemode=livemode, status=status,
        created=int(time.time()) if created is None else created,
        balance_transaction=f"txn_{_suffix(charge_id)}" if succeeded else None,
        payment_method=f"pm_{_suffix(payment_intent)}" if payment_intent else data["payment_method"],
        receipt_url=None,
    )
    data.update(fields)
    return data


def dispute(
    dispute_id: str | None = None,
    *,
    amount: int,
    currency: str,
    payment_intent: str | None,
    charge: str | None = None,
    status: str = "needs_response",
    reason: str = "fraudulent",
    due_by: int | None = None,
    is_charge_refundable: bool = False,
    livemode: bool = False,
    created: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A Dispute in any status of the pinned version (``DISPUTE_STATUSES``), with every field
    of Stripe's fixture. ``due_by`` is ``evidence_details.due_by``: a week from now by default,
    ``0`` when the bank allows no response. ``payment_intent`` may be ``None``; ``charge``
    defaults to the PaymentIntent's."""
    if charge is None and payment_intent is not None:
        charge = charge_of(payment_intent)
    data = fixture("dispute")
    now = int(time.time())
    inquiry = status.startswith("warning_")
    data.update(
        id=dispute_id or f"dp_{secrets.token_hex(12)}", amount=amount, currency=currency, charge=charge,
        payment_intent=payment_intent, status=status, reason=reason, is_charge_refundable=is_charge_refundable,
        livemode=livemode, created=now if created is None else created,
    )
    data["evidence_details"].update(
        due_by=now + 7 * 86400 if due_by is None else due_by,
        has_evidence=status in ("under_review", "warning_under_review", "appeal_under_review"),
        past_due=False,
    )
    data["payment_method_details"]["card"]["case_type"] = "inquiry" if inquiry else "chargeback"
    data.update(fields)
    return data


def customer(
    customer_id: str | None = None,
    *,
    email: str | None = None,
    metadata: Mapping[str, str] | None = None,
    livemode: bool = False,
    created: int | None = None,
) -> dict[str, Any]:
    """A new Customer with every field of Stripe's fixture (no discount, no address)."""
    data = fixture("customer")
    data.update(
        id=customer_id or f"cus_{secrets.token_hex(7)}", email=email, metadata=dict(metadata or {}),
        livemode=livemode, created=int(time.time()) if created is None else created, discount=None,
        address=None, shipping=None,
    )
    return data


def payment_method(
    payment_method_id: str | None = None,
    *,
    customer: str | None = None,
    brand: str = "visa",
    last4: str = "4242",
    exp_month: int = 12,
    exp_year: int = 2034,
    livemode: bool = False,
    created: int | None = None,
) -> dict[str, Any]:
    """A card PaymentMethod with every field of Stripe's fixture, attached to ``customer``."""
    data = fixture("payment_method")
    data.update(
        id=payment_method_id or f"pm_{secrets.token_hex(12)}", customer=customer, livemode=livemode,
        created=int(time.time()) if created is None else created, metadata={},
    )
    data["card"].update(
        brand=brand, display_brand=brand, last4=last4, exp_month=exp_month, exp_year=exp_year,
        fingerprint=secrets.token_hex(8), wallet=None,
    )
    data["card"]["networks"]["available"] = [brand]
    return data


def list_object(data: list[dict[str, Any]], url: str, *, has_more: bool = False) -> dict[str, Any]:
    """Stripe's list object around ``data``."""
    value = fixture("list")
    value.update(data=data, url=url, has_more=has_more)
    return value


def event(
    data_object: Mapping[str, Any],
    event_type: str,
    *,
    api_version: str,
    event_id: str | None = None,
    created: int | None = None,
    livemode: bool | None = None,
    previous_attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An Event of ``event_type`` carrying ``data_object``, with every field of Stripe's
    fixture, as an account on ``api_version`` receives it."""
    value = fixture("event")
    value.update(
        id=event_id or f"evt_{secrets.token_hex(12)}", type=event_type, api_version=api_version,
        created=int(time.time()) if created is None else created,
        livemode=bool(data_object.get("livemode")) if livemode is None else livemode,
        pending_webhooks=1, request={"id": None, "idempotency_key": None},
        data={"object": copy.deepcopy(dict(data_object))},
    )
    if previous_attributes is not None:
        value["data"]["previous_attributes"] = dict(previous_attributes)
    return value


def as_version(
    data_object: Mapping[str, Any], api_version: str, *, refunds: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """``data_object`` as Stripe renders it for an account on ``api_version``: before
    ``2022-11-15`` a PaymentIntent carries its ``charges`` list (its Charge, once it has
    one) and a Charge its ``refunds`` list."""
    value = copy.deepcopy(dict(data_object))
    if api_version >= _CHARGES_REMOVED:
        return value
    if value.get("object") == "payment_intent":
        charges = []
        if value.get("latest_charge"):
            charges.append(as_version(charge(
                value["latest_charge"], amount=value["amount"], currency=value["currency"],
                payment_intent=value["id"], livemode=value["livemode"], created=value["created"],
                status=charge_status(value),
            ), api_version))
        value["charges"] = list_object(charges, f"/v1/charges?payment_intent={value['id']}")
    elif value.get("object") == "charge":
        value["refunds"] = list_object([dict(item) for item in refunds], f"/v1/charges/{value['id']}/refunds")
    return value
