"""Build the corpus of real-shaped Stripe events the webhook tests deliver: ``tests/corpus/events.json``.

For every event type the package handles (``webhooks.HANDLERS``, Checkout Sessions included), one
event built from Stripe's published fixtures (``src/django_apranova_payments/testing/stripe_fixtures.json``, every field
Stripe always returns), as an account receives it on two API versions: the pinned one, and
``2022-08-01``, from before ``2022-11-15``, whose PaymentIntents still carry their ``charges``
list and whose Charges their ``refunds``. ``variants`` holds events of the pinned version the
package must also read: the newer dispute statuses, a dispute the bank allows no response to,
a status Stripe adds later, and refunds and disputes that name only their charge.

Every id and time is fixed, so the file only changes when the fixtures or this script do::

    PYTHONPATH=src:. python scripts/build_event_corpus.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from django_apranova_payments.conf import STRIPE_API_VERSION  # noqa: E402
from django_apranova_payments.testing import stripe_checkout  # noqa: E402
from django_apranova_payments.testing import stripe_objects as so  # noqa: E402
from django_apranova_payments.webhooks import HANDLERS  # noqa: E402

OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "events.json"
VERSIONS = (STRIPE_API_VERSION, so.LEGACY_API_VERSION)

INTENT = "pi_3QcorpusA0000000000000001"
REFUND = "re_3QcorpusA0000000000000001"
DISPUTE = "dp_3QcorpusA0000000000000001"
SESSION = "cs_test_3QcorpusA0000000000000001"
AMOUNT, CURRENCY = 1999, "usd"
CREATED = 1796601600  # 2026-12-07T00:00:00Z
DUE_BY = CREATED + 7 * 86400
DECLINED = {
    "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
    "message": "Your card has insufficient funds.", "charge": so.charge_of(INTENT),
}

INTENT_STATUS = {
    "payment_intent.created": "requires_payment_method",
    "payment_intent.requires_action": "requires_action",
    "payment_intent.processing": "processing",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "requires_payment_method",
    "payment_intent.canceled": "canceled",
}
REFUND_STATUS = {
    "refund.created": ("succeeded", None),
    "refund.updated": ("succeeded", {"status": "pending"}),
    "refund.failed": ("failed", {"status": "succeeded"}),
    "charge.refund.updated": ("succeeded", {"status": "pending"}),
}
DISPUTE_STATUS = {
    "charge.dispute.created": ("needs_response", None),
    "charge.dispute.funds_withdrawn": ("needs_response", None),
    "charge.dispute.updated": ("under_review", {"status": "needs_response"}),
    "charge.dispute.closed": ("lost", {"status": "under_review"}),
    "charge.dispute.funds_reinstated": ("won", None),
}


SESSION_STATE = {
    "checkout.session.completed": ("complete", "paid"),
    "checkout.session.async_payment_succeeded": ("complete", "paid"),
    "checkout.session.async_payment_failed": ("complete", "unpaid"),
    "checkout.session.expired": ("expired", "unpaid"),
}


def session(status: str, payment_status: str) -> dict[str, Any]:
    return stripe_checkout.checkout_session(
        SESSION, amount=AMOUNT, currency=CURRENCY,
        success_url="https://example.com/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://example.com/cancel", created=CREATED, metadata={"course": "12"},
        status=status, payment_status=payment_status, url=None,
        payment_intent=None if status == "expired" else INTENT, client_reference_id="corpus",
    )


def intent(status: str, *, declined: bool = False) -> dict[str, Any]:
    value = so.payment_intent(
        INTENT, amount=AMOUNT, currency=CURRENCY, status=status, created=CREATED,
        client_secret=f"{INTENT}_secret_corpus", metadata={"course": "12"},
        last_payment_error=DECLINED if declined else None,
        cancellation_reason="requested_by_customer" if status == "canceled" else None,
    )
    if status == "canceled":
        value["canceled_at"] = CREATED + 60
    return value


def refund(status: str, *, payment_intent: str | None = INTENT) -> dict[str, Any]:
    return so.refund(
        REFUND, amount=AMOUNT, currency=CURRENCY, payment_intent=payment_intent, charge=so.charge_of(INTENT),
        status=status, reason="requested_by_customer", created=CREATED + 3600,
        failure_reason="expired_or_canceled_card" if status == "failed" else None,
    )


def dispute(status: str, *, due_by: int = DUE_BY, payment_intent: str | None = INTENT) -> dict[str, Any]:
    return so.dispute(
        DISPUTE, amount=AMOUNT, currency=CURRENCY, payment_intent=payment_intent, charge=so.charge_of(INTENT),
        status=status, reason="fraudulent", due_by=due_by, created=CREATED + 7200,
    )


def data_object(event_type: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    if event_type in INTENT_STATUS:
        return intent(INTENT_STATUS[event_type], declined=event_type == "payment_intent.payment_failed"), None
    if event_type in SESSION_STATE:
        return session(*SESSION_STATE[event_type]), None
    if event_type in REFUND_STATUS:
        status, previous = REFUND_STATUS[event_type]
        return refund(status), previous
    if event_type == "charge.refunded":
        charge = so.charge(
            amount=AMOUNT, currency=CURRENCY, payment_intent=INTENT, amount_refunded=AMOUNT, created=CREATED,
        )
        return charge, {"amount_refunded": 0, "refunded": False}
    status, previous = DISPUTE_STATUS[event_type]
    return dispute(status), previous


def event_id(api_version: str, name: str) -> str:
    return "evt_3Qcorpus" + hashlib.sha256(f"{api_version} {name}".encode()).hexdigest()[:16]


def build_event(api_version: str, event_type: str, value: dict[str, Any], previous: dict[str, Any] | None,
                name: str) -> dict[str, Any]:
    refunds = [refund("succeeded")] if event_type == "charge.refunded" else []
    return so.event(
        so.as_version(value, api_version, refunds=refunds), event_type, api_version=api_version,
        event_id=event_id(api_version, name), created=CREATED + 10_000, livemode=False, previous_attributes=previous,
    )


def variants() -> dict[str, dict[str, Any]]:
    """Events of the pinned version whose handling the package's own tests pin down."""
    cases: dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]] = {
        "dispute prevented": ("charge.dispute.closed", dispute("prevented"), {"status": "warning_needs_response"}),
        "dispute appeal_needs_response": (
            "charge.dispute.updated", dispute("appeal_needs_response"), {"status": "lost"}
        ),
        "dispute appeal_under_review": (
            "charge.dispute.updated", dispute("appeal_under_review"), {"status": "appeal_needs_response"}
        ),
        "dispute won on appeal": ("charge.dispute.closed", dispute("won"), {"status": "appeal_under_review"}),
        "dispute due_by 0": ("charge.dispute.created", dispute("needs_response", due_by=0), None),
        "dispute status added later": ("charge.dispute.updated", dispute("a_status_added_later"), None),
        "dispute without payment_intent": (
            "charge.dispute.created", dispute("needs_response", payment_intent=None), None
        ),
        "refund without payment_intent": ("refund.created", refund("succeeded", payment_intent=None), None),
    }
    return {
        name: build_event(STRIPE_API_VERSION, event_type, value, previous, name)
        for name, (event_type, value, previous) in cases.items()
    }


def build() -> dict[str, Any]:
    return {
        "fixtures": so.fixture_source(),
        "payment": {"payment_intent": INTENT, "checkout_session": SESSION, "amount": AMOUNT, "currency": CURRENCY},
        "events": {
            api_version: {
                event_type: build_event(api_version, event_type, *data_object(event_type), event_type)
                for event_type in sorted(HANDLERS)
            }
            for api_version in VERSIONS
        },
        "variants": variants(),
    }


def main() -> None:
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
