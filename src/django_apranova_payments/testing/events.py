"""Build, sign and deliver Stripe events the way Stripe does: ``payment_intent.*``, refund,
``charge.refunded`` and dispute events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from django.views.decorators.debug import sensitive_variables

from .. import signing
from ..conf import STRIPE_API_VERSION, app_settings
from ..metadata import own_metadata
from ..models import Payment, WebhookEvent
from ..webhooks import apply_stored
from . import stripe_objects

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
    """A PaymentIntent as Stripe would render it for ``payment`` (every field of Stripe's
    published fixture, consistent with ``status``), with the metadata this installation gave
    it (its installation mark included)."""
    error = None
    if failure_code or failure_message:
        error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": failure_code or "generic_decline",
            "message": failure_message or "Your card was declined.",
        }
    intent = stripe_objects.payment_intent(
        payment.stripe_payment_intent,
        amount=payment.amount_minor,
        currency=payment.currency,
        status=status,
        livemode=payment.livemode,
        metadata={
            **payment.metadata,
            **own_metadata(
                user_pk=payment.user_id, amount_minor=payment.amount_minor, currency=payment.currency,
                host=payment.metadata, idempotency_key=payment.idempotency_key, fingerprint=payment.request_fingerprint,
            ),
        },
        last_payment_error=error,
        created=int(payment.created_at.timestamp()) if payment.created_at else None,
    )
    intent.update(overrides)
    return intent


#: The refund status each refund event type carries by default.
EVENT_REFUND_STATUS = {"refund.created": "succeeded", "refund.updated": "succeeded", "refund.failed": "failed",
                       "charge.refund.updated": "succeeded"}
#: The dispute status each dispute event type carries by default.
EVENT_DISPUTE_STATUS = {
    "charge.dispute.created": "needs_response",
    "charge.dispute.updated": "under_review",
    "charge.dispute.funds_withdrawn": "needs_response",
    "charge.dispute.funds_reinstated": "won",
    "charge.dispute.closed": "lost",
}


def build_refund(
    payment: Payment,
    amount: int | None = None,
    status: str = "succeeded",
    *,
    refund_id: str | None = None,
    reason: str | None = "requested_by_customer",
    failure_reason: str | None = None,
    metadata: Mapping[str, str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A Refund of ``payment`` as Stripe renders it: ``amount`` in minor units (default: the
    whole payment), made outside the package (no metadata of ours) unless ``metadata`` says
    otherwise. ``payment_intent=None`` names only the charge, as Stripe may."""
    refund = stripe_objects.refund(
        refund_id,
        amount=payment.amount_minor if amount is None else amount,
        currency=payment.currency,
        payment_intent=payment.stripe_payment_intent,
        status=status,
        reason=reason,
        failure_reason=failure_reason,
        metadata=metadata,
    )
    refund.update(overrides)
    return refund


def build_charge(payment: Payment, amount_refunded: int | None = None, **overrides: Any) -> dict[str, Any]:
    """The Charge of ``payment`` as a ``charge.refunded`` event carries it: ``amount_refunded``
    in minor units (default: all of it)."""
    charge = stripe_objects.charge(
        amount=payment.amount_minor,
        currency=payment.currency,
        payment_intent=payment.stripe_payment_intent,
        amount_refunded=payment.amount_minor if amount_refunded is None else amount_refunded,
        livemode=payment.livemode,
    )
    charge.update(overrides)
    return charge


def build_dispute(
    payment: Payment,
    status: str = "needs_response",
    *,
    dispute_id: str | None = None,
    reason: str = "fraudulent",
    amount: int | None = None,
    is_charge_refundable: bool = False,
    due_by: int | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A Dispute of ``payment`` as Stripe renders it, in any status (``prevented``,
    ``appeal_needs_response`` … see ``stripe_objects.DISPUTE_STATUSES``). Evidence is due in a
    week by default; ``due_by=0`` is Stripe's "the bank allows no response";
    ``payment_intent=None`` names only the charge."""
    dispute = stripe_objects.dispute(
        dispute_id,
        amount=payment.amount_minor if amount is None else amount,
        currency=payment.currency,
        payment_intent=payment.stripe_payment_intent,
        status=status,
        reason=reason,
        due_by=due_by,
        is_charge_refundable=is_charge_refundable,
        livemode=payment.livemode,
    )
    dispute.update(overrides)
    return dispute


def _object_for(payment: Payment, event_type: str) -> dict[str, Any]:
    """The ``data.object`` an event of ``event_type`` carries for ``payment``."""
    if event_type in EVENT_REFUND_STATUS:
        status = EVENT_REFUND_STATUS[event_type]
        failure = "expired_or_canceled_card" if status == "failed" else None
        return build_refund(payment, status=status, failure_reason=failure)
    if event_type == "charge.refunded":
        return build_charge(payment)
    if event_type in EVENT_DISPUTE_STATUS:
        return build_dispute(payment, EVENT_DISPUTE_STATUS[event_type])
    status = EVENT_INTENT_STATUS.get(event_type, "requires_payment_method")
    failed = event_type == "payment_intent.payment_failed"
    return build_payment_intent(
        payment, status,
        failure_code="insufficient_funds" if failed else None,
        failure_message="Your card has insufficient funds." if failed else None,
    )


def build_event(
    intent: Mapping[str, Any] | Payment,
    event_type: str = "payment_intent.succeeded",
    *,
    event_id: str | None = None,
    created: int | None = None,
    livemode: bool | None = None,
) -> dict[str, Any]:
    """A Stripe event of ``event_type`` whose ``data.object`` is ``intent``: a PaymentIntent,
    Refund, Charge or Dispute dict (see ``build_refund`` and its siblings), or a ``Payment``
    from which the object the type carries is built (a ``refund.*`` event refunds all of it,
    ``charge.refunded`` reports all of it refunded, a dispute event carries the status its
    type implies)."""
    if isinstance(intent, Payment):
        livemode = intent.livemode if livemode is None else livemode
        intent = _object_for(intent, event_type)
    return stripe_objects.event(
        intent, event_type, api_version=STRIPE_API_VERSION, event_id=event_id, created=created, livemode=livemode
    )


@sensitive_variables("secret")
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


@sensitive_variables("secret")
def post_event(
    client: Any,
    event: Mapping[str, Any] | bytes,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    url: str | None = None,
    apply: bool = True,
) -> Any:
    """POST ``event`` to the webhook endpoint through a Django test ``client``, signed as
    Stripe signs it. Returns the response.

    With ``WEBHOOK_PROCESSING = "task"`` the endpoint only stores the event and enqueues its
    task after the commit, which a test's transaction never makes: ``post_event`` then applies
    the stored event itself, as the worker would (``process_queued``), so a receiver test
    reads the same in both modes. The response still says ``"outcome": "queued"``; an
    exception of a receiver is raised from here, as the worker would meet it.
    ``apply=False`` leaves the event queued (to test the queueing itself)."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    response = client.post(
        url or reverse("apranova_payments:webhook"),
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign_payload(body, secret, timestamp),
    )
    if apply and response.status_code == 200 and _outcome(response) == QUEUED:
        process_queued(json.loads(body)["id"])
    return response


#: The endpoint's answer in task mode; ``tasks`` (which holds it too) is imported only there.
QUEUED = "queued"


def process_queued(*event_ids: str) -> list[str]:
    """Apply the events the webhook endpoint stored in task mode and left ``received`` (the
    ones named, or all of them), as the task would, whatever the task backend: the test kit's
    stand-in for a worker. Returns their outcomes, oldest first."""
    queued = WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.RECEIVED).order_by("received_at", "pk")
    if event_ids:
        queued = queued.filter(stripe_id__in=event_ids)
    return [apply_stored(pk) for pk in queued.values_list("pk", flat=True)]


def _outcome(response: Any) -> object:
    try:
        return json.loads(response.content).get("outcome")
    except (ValueError, AttributeError):
        return None
