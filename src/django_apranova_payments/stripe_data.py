"""What the package reads of Stripe's objects: a PaymentIntent, a Refund, a Dispute, a
Charge, a Customer and a card PaymentMethod, however they were obtained (an API answer, a
webhook event's ``data.object``, a list entry). Each ``from_dict`` raises ``ValueError`` for
an object that is not usable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables


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
    #: The Stripe Tax calculation the PaymentIntent is linked to
    #: (``hooks[inputs][tax][calculation]``), or "".
    tax_calculation: str = ""

    @classmethod
    @sensitive_variables("data")  # Stripe's PaymentIntent, client_secret included
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
            tax_calculation=_linked_calculation(data),
        )

    @property
    def has_failure(self) -> bool:
        return bool(self.failure_code or self.failure_message)


def _linked_calculation(data: Mapping[str, Any]) -> str:
    """``hooks.inputs.tax.calculation`` of a PaymentIntent, or "" (absent, null, malformed)."""
    node: Any = data
    for key in ("hooks", "inputs", "tax", "calculation"):
        node = node.get(key) if isinstance(node, Mapping) else None
    return _text(node)


@dataclass(frozen=True)
class TaxCalculationData:
    """A Stripe Tax calculation (``tax.calculation``): the total to charge, the tax in it, and
    each tax in the shape ``Payment.tax_breakdown`` stores (minor units)."""

    id: str
    currency: str
    amount_total: int
    tax_amount: int
    breakdown: tuple[Mapping[str, Any], ...] = ()
    expires_at: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaxCalculationData:
        """Build from Stripe's JSON; ``ValueError`` when it is not a usable calculation."""
        if not isinstance(data, Mapping) or data.get("object") != "tax.calculation":
            raise ValueError("not a tax.calculation object")
        calc_id, currency = data.get("id"), data.get("currency")
        total, exclusive, inclusive = (_int(data.get(key)) for key in
                                       ("amount_total", "tax_amount_exclusive", "tax_amount_inclusive"))
        if not (isinstance(calc_id, str) and 0 < len(calc_id) <= 255 and isinstance(currency, str)):
            raise ValueError("tax.calculation without a usable id or currency")
        if total is None or exclusive is None or inclusive is None or min(total, exclusive, inclusive) < 0:
            raise ValueError("tax.calculation amounts are not non-negative integers")
        if exclusive + inclusive > total:
            raise ValueError("tax.calculation has more tax than its total")
        rows = data.get("tax_breakdown") or []
        if not isinstance(rows, list):
            raise ValueError("tax.calculation tax_breakdown is not a list")
        return cls(
            id=calc_id, currency=currency.lower(), amount_total=total, tax_amount=exclusive + inclusive,
            breakdown=tuple(_tax_row(row) for row in rows if isinstance(row, Mapping)),
            expires_at=_int(data.get("expires_at")),
        )


def _tax_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One ``tax_breakdown`` entry of Stripe's, as ``Payment.tax_breakdown`` keeps it."""
    details = row.get("tax_rate_details")
    details = details if isinstance(details, Mapping) else {}
    return {
        "amount": _int(row.get("amount")) or 0, "taxable_amount": _int(row.get("taxable_amount")) or 0,
        "inclusive": row.get("inclusive") is True, "taxability_reason": _text(row.get("taxability_reason"), 60),
        "percentage": _text(details.get("percentage_decimal"), 20), "country": _text(details.get("country"), 2),
        "state": _text(details.get("state"), 60), "tax_type": _text(details.get("tax_type"), 60),
    }


def _text(value: object, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stripe_id(data: Mapping[str, Any], key: str) -> str | None:
    """An id field that may be expanded into an object (``{"id": …}``) or missing."""
    value = data.get(key)
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def _object_of(data: Mapping[str, Any], kind: str) -> tuple[str, int, str]:
    """The id, amount and currency every money object has; ``ValueError`` when ``data`` is
    not a Stripe ``kind`` object with usable ones."""
    if not isinstance(data, Mapping) or data.get("object") != kind:
        raise ValueError(f"not a {kind} object")
    object_id, amount, currency = data.get("id"), _int(data.get("amount")), data.get("currency")
    if not (isinstance(object_id, str) and 0 < len(object_id) <= 255):
        raise ValueError(f"{kind} without a usable id")
    if amount is None or amount < 0:
        raise ValueError(f"{kind} amount is not a non-negative integer")
    if not isinstance(currency, str) or not 0 < len(currency) <= 3:
        raise ValueError(f"{kind} currency is not a currency code")
    return object_id, amount, currency.lower()


@dataclass(frozen=True)
class RefundData:
    """The parts of a Stripe Refund this package uses (an API answer, a webhook event's
    ``data.object``, or one entry of a refund list)."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None = None
    charge: str | None = None
    reason: str = ""
    failure_reason: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RefundData:
        """Build from Stripe's JSON; ``ValueError`` when it is not a usable Refund."""
        refund_id, amount, currency = _object_of(data, "refund")
        status, metadata = data.get("status"), data.get("metadata") or {}
        if not isinstance(status, str) or not status:
            raise ValueError("refund without a status")
        if not isinstance(metadata, Mapping):
            raise ValueError("refund metadata is not an object")
        return cls(
            id=refund_id,
            status=status,
            amount=amount,
            currency=currency,
            payment_intent=_stripe_id(data, "payment_intent"),
            charge=_stripe_id(data, "charge"),
            reason=_text(data.get("reason"), 40),
            failure_reason=_text(data.get("failure_reason"), 100),
            metadata={str(k): str(v) for k, v in metadata.items()},
        )


#: Stripe's ``setup_future_usage`` values (how a card saved by a payment may be used again).
SetupFutureUsage = Literal["off_session", "on_session"]

#: Stripe's ``cancellation_reason`` values a PaymentIntent may be canceled with.
CancellationReason = Literal["abandoned", "duplicate", "fraudulent", "requested_by_customer"]

#: The longest status stored (the ``status`` columns); Stripe's are far shorter.
MAX_STATUS_LENGTH = 30


@dataclass(frozen=True)
class DisputeData:
    """The parts of a Stripe Dispute this package uses."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None = None
    charge: str | None = None
    reason: str = ""
    evidence_due_by: int | None = None
    is_charge_refundable: bool = False
    livemode: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DisputeData:
        """Build from Stripe's JSON; ``ValueError`` when it is not a usable Dispute."""
        dispute_id, amount, currency = _object_of(data, "dispute")
        status = data.get("status")
        if not isinstance(status, str) or not 0 < len(status) <= MAX_STATUS_LENGTH:
            raise ValueError(f"dispute without a status of 1 to {MAX_STATUS_LENGTH} characters")
        evidence = data.get("evidence_details") or {}
        due_by = _int(evidence.get("due_by")) if isinstance(evidence, Mapping) else None
        return cls(
            id=dispute_id,
            status=status,
            amount=amount,
            currency=currency,
            payment_intent=_stripe_id(data, "payment_intent"),
            charge=_stripe_id(data, "charge"),
            reason=_text(data.get("reason"), 100),
            # 0: "the bank doesn't allow a response", no deadline at all.
            evidence_due_by=due_by if due_by is not None and 0 < due_by < 2**33 else None,
            is_charge_refundable=data.get("is_charge_refundable") is True,
            livemode=bool(data.get("livemode")),
        )


@dataclass(frozen=True)
class ChargeData:
    """The parts of a Stripe Charge a ``charge.refunded`` event needs."""

    id: str
    amount: int
    currency: str
    amount_refunded: int
    payment_intent: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChargeData:
        charge_id, amount, currency = _object_of(data, "charge")
        refunded = _int(data.get("amount_refunded"))
        if refunded is None or not 0 <= refunded <= amount:
            raise ValueError("charge amount_refunded is not an integer between 0 and the amount")
        return cls(charge_id, amount, currency, refunded, _stripe_id(data, "payment_intent"))


@dataclass(frozen=True)
class CheckoutSessionData:
    """The parts of a Stripe Checkout Session this package uses: ``amount_total`` and
    ``currency`` (null at Stripe until known: then ``None`` and ``""``), ``status`` (``open``,
    ``complete``, ``expired``), ``payment_status`` (``paid``, ``unpaid``,
    ``no_payment_required``), the PaymentIntent once Stripe made one, and ``url`` while it is
    open."""

    id: str
    status: str
    payment_status: str
    amount_total: int | None
    currency: str
    payment_intent: str | None = None
    url: str | None = None
    livemode: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: Stripe Tax (``automatic_tax[enabled]``): the line before tax, the tax
    #: (``total_details.amount_tax``), the tax per rate (``total_details.breakdown.taxes``,
    #: only when that is expanded: ``None`` otherwise) and the buyer's address
    #: (``customer_details.address``, once entered).
    automatic_tax: bool = False
    amount_subtotal: int | None = None
    amount_tax: int | None = None
    tax_breakdown: tuple[Mapping[str, Any], ...] | None = None
    address: Mapping[str, str] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckoutSessionData:
        """Build from Stripe's JSON; ``ValueError`` when it is not a usable Session."""
        if not isinstance(data, Mapping) or data.get("object") != "checkout.session":
            raise ValueError("not a checkout.session object")
        session_id, status, metadata = data.get("id"), data.get("status"), data.get("metadata") or {}
        if not (isinstance(session_id, str) and 0 < len(session_id) <= 255):
            raise ValueError("checkout.session without a usable id")
        if not isinstance(status, str) or not isinstance(metadata, Mapping):
            raise ValueError("checkout.session status or metadata has the wrong type")
        currency, url = data.get("currency"), data.get("url")
        return cls(
            id=session_id,
            status=status,
            payment_status=_text(data.get("payment_status"), MAX_STATUS_LENGTH),
            amount_total=_int(data.get("amount_total")),
            currency=currency.lower() if isinstance(currency, str) else "",
            payment_intent=_stripe_id(data, "payment_intent"),
            url=url if isinstance(url, str) and url else None,
            livemode=bool(data.get("livemode")),
            metadata={str(k): str(v) for k, v in metadata.items()},
            **_session_tax(data),
        )


#: What ``Payment.billing_address`` keeps of an address (Stripe's keys).
ADDRESS_KEYS = ("country", "postal_code", "state", "city", "line1")


def _session_tax(data: Mapping[str, Any]) -> dict[str, Any]:
    """A Session's Stripe Tax fields (``CheckoutSessionData``), read as Stripe sends them."""
    automatic = data.get("automatic_tax")
    totals = data.get("total_details")
    totals = totals if isinstance(totals, Mapping) else {}
    breakdown = totals.get("breakdown")
    taxes = breakdown.get("taxes") if isinstance(breakdown, Mapping) else None
    details = data.get("customer_details")
    address = details.get("address") if isinstance(details, Mapping) else None
    return {
        "automatic_tax": isinstance(automatic, Mapping) and automatic.get("enabled") is True,
        "amount_subtotal": _int(data.get("amount_subtotal")),
        "amount_tax": _int(totals.get("amount_tax")),
        "tax_breakdown": tuple(_tax_line(tax) for tax in taxes if isinstance(tax, Mapping))
        if isinstance(taxes, list) else None,
        "address": {key: _text(address.get(key)) for key in ADDRESS_KEYS if _text(address.get(key))}
        if isinstance(address, Mapping) else None,
    }


def _tax_line(tax: Mapping[str, Any]) -> dict[str, Any]:
    """One of a Checkout Session's ``total_details.breakdown.taxes`` (its ``rate`` a
    ``tax_rate``) in the shape ``_tax_row`` gives a calculation's: minor units, and text
    ("" when absent), ``percentage`` as "19.0"."""
    rate = tax.get("rate")
    rate = rate if isinstance(rate, Mapping) else {}
    percentage = rate.get("percentage")
    shown = str(float(percentage)) if isinstance(percentage, int | float) and not isinstance(percentage, bool) else ""
    return {
        "amount": _int(tax.get("amount")) or 0, "taxable_amount": _int(tax.get("taxable_amount")) or 0,
        "inclusive": rate.get("inclusive") is True, "taxability_reason": _text(tax.get("taxability_reason"), 60),
        "percentage": shown, "country": _text(rate.get("country"), 2),
        "state": _text(rate.get("state"), 60), "tax_type": _text(rate.get("tax_type"), 60),
    }


@dataclass(frozen=True)
class CustomerData:
    """A Stripe Customer: its id, mode and metadata (where the installation mark is)."""

    id: str
    livemode: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CustomerData:
        """Build from Stripe's JSON; ``ValueError`` when it is not a live Customer (a deleted
        one, ``{"id", "object": "customer", "deleted": true}``, has no metadata to trust)."""
        if not isinstance(data, Mapping) or data.get("object") != "customer" or data.get("deleted"):
            raise ValueError("not a customer object")
        customer_id, metadata = _stripe_id(data, "id"), data.get("metadata") or {}
        if customer_id is None or not isinstance(metadata, Mapping):
            raise ValueError("customer without a usable id or metadata")
        return cls(customer_id, bool(data.get("livemode")), {str(k): str(v) for k, v in metadata.items()})


@dataclass(frozen=True)
class PaymentMethodData:
    """What the package reads of a PaymentMethod: the card's brand, last four digits and
    expiry, nothing else of the card. ``customer`` is the Customer it is attached to, when it
    was expanded (``CustomerData``) or as its id."""

    id: str
    created: int
    livemode: bool
    customer: CustomerData | str | None
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    #: Stripe's type of payment method: ``card``, ``link``, ``sepa_debit`` …
    type: str = "card"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentMethodData:
        """Build from Stripe's JSON; ``ValueError`` when it is not a PaymentMethod."""
        if not isinstance(data, Mapping) or data.get("object") != "payment_method":
            raise ValueError("not a payment_method object")
        method_id = _stripe_id(data, "id")
        if method_id is None:
            raise ValueError("payment_method without a usable id")
        card = data.get("card") if data.get("type") == "card" else None
        card = card if isinstance(card, Mapping) else {}
        customer = data.get("customer")
        if isinstance(customer, Mapping):
            try:
                customer = CustomerData.from_dict(customer)
            except ValueError:
                customer = None  # deleted: attached to no one we could trust
        return cls(
            id=method_id, created=_int(data.get("created")) or 0, livemode=bool(data.get("livemode")),
            customer=customer if isinstance(customer, (CustomerData, str)) else None,
            brand=_text(card.get("display_brand") or card.get("brand"), 30), last4=_text(card.get("last4"), 4),
            exp_month=_int(card.get("exp_month")), exp_year=_int(card.get("exp_year")),
            type=_text(data.get("type"), 40),
        )

    @property
    def expired(self) -> bool:
        """Whether the card's expiry month has passed (in the host's time zone)."""
        if self.exp_year is None or self.exp_month is None:
            return False
        today = timezone.localdate()
        return (self.exp_year, self.exp_month) < (today.year, today.month)

    @property
    def customer_id(self) -> str | None:
        return self.customer.id if isinstance(self.customer, CustomerData) else self.customer
