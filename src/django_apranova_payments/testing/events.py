"""Build, sign and deliver Stripe ``payment_intent.*`` events the way Stripe does."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.urls import reverse

from .. import signing
from ..conf import STRIPE_API_VERSION, app_settings
from ..metadata import own_metadata
from ..models import Payment

#: The PaymentIntent status each event type carries in its ``data.object``.
EVENT_INTENT_STATUS = {
    "payment_intent.created": "requires_payment_method",
    "payment_intent.requires_action": "requires_action",
    "payment_intent.processing": "processing",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "requires_payment_method",
    "payment_intent.canceled": "canceled",
}


def build_payment_intent(
    payment: Payment,
    status: str = "requires_payment_method",
    *,
    failure_code: str | None = None,
    failure_message: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A PaymentIntent as Stripe would render it for ``payment``, with the metadata this
    installation gave it (its installation mark included)."""
    error = None
    if failure_code or failure_message:
        error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": failure_code or "generic_decline",
            "message": failure_message or "Your card was declined.",
        }
    intent = {
        "id": payment.stripe_payment_intent,
        "object": "payment_intent",
        "amount": payment.amount_minor,
        "amount_received": payment.amount_minor if status == "succeeded" else 0,
        "currency": payment.currency,
        "status": status,
        "livemode": payment.livemode,
        "metadata": {
            **payment.metadata,
            **own_metadata(
                user_pk=payment.user_id, amount_minor=payment.amount_minor, currency=payment.currency,
                host=payment.metadata, idempotency_key=payment.idempotency_key, fingerprint=payment.request_fingerprint,
            ),
        },
        "last_payment_error": error,
        "created": int(payment.created_at.timestamp()) if payment.created_at else int(time.time()),
        "automatic_payment_methods": {"enabled": True},
    }
    intent.update(overrides)
    return intent


def build_event(
    intent: Mapping[str, Any] | Payment,
    event_type: str = "payment_intent.succeeded",
    *,
    event_id: str | None = None,
    created: int | None = None,
    livemode: bool | None = None,
) -> dict[str, Any]:
    """A Stripe event of ``event_type`` whose ``data.object`` is ``intent`` (a PaymentIntent
    dict, or a ``Payment`` from which one is built with the status the type implies)."""
    if isinstance(intent, Payment):
        status = EVENT_INTENT_STATUS.get(event_type, "requires_payment_method")
        failed = event_type == "payment_intent.payment_failed"
        intent = build_payment_intent(
            intent, status,
            failure_code="insufficient_funds" if failed else None,
            failure_message="Your card has insufficient funds." if failed else None,
        )
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": STRIPE_API_VERSION,
        "created": int(time.time()) if created is None else created,
        "livemode": bool(intent.get("livemode")) if livemode is None else livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": dict(intent)},
    }


def sign_payload(payload: bytes | str, secret: str | None = None, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value for ``payload``: ``t=…,v1=…``, signed with
    ``secret`` or else the first configured ``STRIPE_WEBHOOK_SECRET``."""
    if secret is None:
        if not app_settings.webhook_secrets:
            raise ValueError(
                "sign_payload() needs a secret: pass secret=… or set "
                "APRANOVA_PAYMENTS['STRIPE_WEBHOOK_SECRET'] in the test settings."
            )
        secret = app_settings.webhook_secrets[0]
    body = payload.encode() if isinstance(payload, str) else payload
    return signing.signature_header(body, secret, timestamp)


def post_event(
    client: Any,
    event: Mapping[str, Any] | bytes,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
) -> Any:
    """POST ``event`` to the webhook endpoint through a Django test ``client``, signed as
    Stripe signs it. Returns the response."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return client.post(
        url or reverse("apranova_payments:webhook"),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(body, secret, timestamp),
    )
