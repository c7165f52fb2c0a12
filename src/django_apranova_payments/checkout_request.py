"""What a Stripe Checkout Session is created with (``gateway.BaseGateway.create_checkout_session``),
and the parameters Stripe is sent for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .conf import Tax
from .metadata import for_stripe


@dataclass(frozen=True)
class CheckoutRequest:
    """What a Checkout Session is created with: one line of ``amount`` minor units named
    ``product_name``, ``metadata`` on the Session and on the PaymentIntent it makes, the
    redirect URLs, ``client_reference_id`` and, when known, the payer's e-mail address. With
    ``tax`` (the ``TAX`` setting), Stripe Tax computes the tax for the billing address the
    customer must enter, by the line's tax code and behaviour."""

    amount: int
    currency: str
    product_name: str
    metadata: Mapping[str, str]
    success_url: str
    cancel_url: str
    client_reference_id: str
    idempotency_key: str
    customer_email: str | None = None
    tax: Tax | None = None

    def params(self) -> dict[str, Any]:
        """Stripe's parameters for ``POST /v1/checkout/sessions``."""
        metadata = for_stripe(self.metadata)
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": self.currency, "unit_amount": self.amount,
                "product_data": {"name": self.product_name},
            }}],
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        if self.customer_email:
            params["customer_email"] = self.customer_email
        if self.tax is not None:
            price = params["line_items"][0]["price_data"]
            price["tax_behavior"] = self.tax.behavior
            price["product_data"]["tax_code"] = self.tax.tax_code
            params["automatic_tax"] = {"enabled": True}
            params["billing_address_collection"] = "required"
        return params
