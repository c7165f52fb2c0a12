"""The corpus of real-shaped events (``tests/corpus/events.json``, built from Stripe's published
fixtures by ``scripts/build_event_corpus.py``): every event type the package handles, as an
account on the pinned API version and on one from before 2022-11-15 receives it, delivered
signed through the webhook endpoint, and what each one does."""

from __future__ import annotations

import copy
import importlib.util
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from django_apranova_payments.conf import STRIPE_API_VERSION
from django_apranova_payments.models import Dispute, Payment, Refund, WebhookEvent
from django_apranova_payments.testing import StripeMock, build_payment_intent, capture_signals, post_event
from django_apranova_payments.testing.stripe_objects import LEGACY_API_VERSION, fixture
from django_apranova_payments.webhooks import HANDLERS
from tests.factories import PaymentFactory

ROOT = Path(__file__).resolve().parents[2]
CORPUS = json.loads((ROOT / "tests" / "corpus" / "events.json").read_text())
VERSIONS = (STRIPE_API_VERSION, LEGACY_API_VERSION)
INTENT = CORPUS["payment"]["payment_intent"]

RECEIVED = "webhook_event_received"
#: What each event does to a payment of 19.99 USD: the payment's status after it, the status of
#: the Refund or Dispute row it stores, and the signals it sends.
EXPECTED: dict[str, tuple[str, str | None, list[str]]] = {
    "payment_intent.created": ("pending", None, [RECEIVED]),
    "payment_intent.requires_action": ("pending", None, [RECEIVED]),
    "payment_intent.processing": ("processing", None, [RECEIVED, "payment_status_changed", "payment_processing"]),
    "payment_intent.succeeded": ("succeeded", None, [RECEIVED, "payment_status_changed", "payment_succeeded"]),
    "payment_intent.payment_failed": ("failed", None, [RECEIVED, "payment_status_changed", "payment_failed"]),
    "payment_intent.canceled": ("canceled", None, [RECEIVED, "payment_status_changed", "payment_canceled"]),
    "refund.created": ("succeeded", "succeeded", [RECEIVED, "payment_refunded"]),
    "refund.updated": ("succeeded", "succeeded", [RECEIVED, "payment_refunded"]),
    "charge.refund.updated": ("succeeded", "succeeded", [RECEIVED, "payment_refunded"]),
    "refund.failed": ("succeeded", "failed", [RECEIVED, "refund_failed"]),
    "charge.refunded": ("succeeded", "succeeded", [RECEIVED, "payment_refunded"]),
    "charge.dispute.created": ("succeeded", "needs_response", [RECEIVED, "payment_disputed"]),
    "charge.dispute.funds_withdrawn": ("succeeded", "needs_response", [RECEIVED, "payment_disputed"]),
    "charge.dispute.updated": ("succeeded", "under_review", [RECEIVED, "payment_disputed"]),
    "charge.dispute.closed": ("succeeded", "lost", [RECEIVED, "payment_disputed", "dispute_closed"]),
    "charge.dispute.funds_reinstated": ("succeeded", "won", [RECEIVED, "payment_disputed", "dispute_closed"]),
    "checkout.session.completed": ("succeeded", None, [RECEIVED, "payment_status_changed", "payment_succeeded"]),
    "checkout.session.async_payment_succeeded": (
        "succeeded", None, [RECEIVED, "payment_status_changed", "payment_succeeded"]
    ),
    "checkout.session.async_payment_failed": ("failed", None, [RECEIVED, "payment_status_changed", "payment_failed"]),
    "checkout.session.expired": ("canceled", None, [RECEIVED, "payment_status_changed", "payment_canceled"]),
}
CASES = [(version, event_type) for version in VERSIONS for event_type in sorted(HANDLERS)]


def payment_for(user: Any, event_type: str) -> Payment:
    """The payment the corpus's events are about, as it stands before the event: pending for a
    PaymentIntent's event, paid for a refund's or a dispute's."""
    if event_type.startswith("checkout.session."):  # a Checkout payment, before its PaymentIntent
        return PaymentFactory(
            user=user, stripe_payment_intent=None, stripe_checkout_session=CORPUS["payment"]["checkout_session"],
            amount=Decimal("19.99"), currency="usd", status=Payment.Status.PENDING, stripe_status="",
        )
    paid = not event_type.startswith("payment_intent.")
    return PaymentFactory(
        user=user, stripe_payment_intent=INTENT, amount=Decimal("19.99"), currency="usd",
        status=Payment.Status.SUCCEEDED if paid else Payment.Status.PENDING,
        stripe_status="succeeded" if paid else "requires_payment_method",
    )


def deliver(client: Any, event: dict[str, Any]) -> tuple[Any, list[str]]:
    with capture_signals() as sent:
        response = post_event(client, event)
    assert response.status_code == 200, response.content
    return response, sent.names()


def row_status(event_type: str) -> str | None:
    if event_type.startswith(("payment_intent.", "checkout.session.")):
        return None
    if event_type.startswith("charge.dispute."):
        return Dispute.objects.get(payment__stripe_payment_intent=INTENT).status
    return Refund.objects.get(payment__stripe_payment_intent=INTENT).status


def test_the_corpus_covers_every_handled_event_type_on_both_versions() -> None:
    assert set(EXPECTED) == set(HANDLERS)
    for version in VERSIONS:
        events = CORPUS["events"][version]
        assert set(events) == set(HANDLERS), version
        assert {event["api_version"] for event in events.values()} == {version}
        assert all(event["type"] == event_type for event_type, event in events.items())


def test_the_corpus_is_what_its_script_builds_from_the_fixtures() -> None:
    spec = importlib.util.spec_from_file_location("build_event_corpus", ROOT / "scripts" / "build_event_corpus.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.build() == CORPUS


@pytest.mark.parametrize("version", VERSIONS)
def test_each_object_has_every_field_of_stripes_fixture_and_the_old_version_its_lists(version: str) -> None:
    for event_type, event in CORPUS["events"][version].items():
        assert set(fixture("event")) <= set(event), event_type
        obj = event["data"]["object"]
        kind = "dispute" if obj["object"] == "dispute" else obj["object"]
        assert set(fixture(kind)) - {"refunds"} <= set(obj), event_type
        legacy = version == LEGACY_API_VERSION
        if kind == "payment_intent":
            assert ("charges" in obj) is legacy, event_type
        if kind == "charge":
            assert ("refunds" in obj) is legacy, event_type
    succeeded = CORPUS["events"][version]["payment_intent.succeeded"]["data"]["object"]
    assert (succeeded["amount_received"], succeeded["latest_charge"]) == (1999, "ch_" + INTENT.removeprefix("pi_"))
    if version == LEGACY_API_VERSION:
        [charge] = succeeded["charges"]["data"]
        assert (charge["id"], charge["status"]) == (succeeded["latest_charge"], "succeeded")
        assert charge["payment_intent"] == INTENT


@pytest.mark.parametrize(("version", "event_type"), CASES)
def test_each_event_delivered_signed_does_what_it_says(client: Any, user: Any, version: str, event_type: str) -> None:
    payment = payment_for(user, event_type)
    event = copy.deepcopy(CORPUS["events"][version][event_type])
    with StripeMock() as stripe_mock:
        # charge.refunded makes the package list the PaymentIntent's refunds at Stripe.
        refund = CORPUS["events"][version]["refund.created"]["data"]["object"]
        stripe_mock.refunds[refund["id"]] = copy.deepcopy(refund)
        response, signals = deliver(client, event)

    payment_status, stored_status, expected_signals = EXPECTED[event_type]
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (response.json()["outcome"], stored.outcome, stored.type) == ("processed", "processed", event_type)
    assert stored.api_version == version
    payment.refresh_from_db()
    assert payment.status == payment_status
    assert row_status(event_type) == stored_status
    assert signals == expected_signals
    if stored_status == "succeeded":
        assert payment.amount_refunded == Decimal("19.99") and payment.is_fully_refunded
    if event_type == "charge.refunded":
        assert [call["params"] for call in stripe_mock.calls_to("list_refunds")] == [
            {"payment_intent": INTENT, "limit": "100"}
        ]


@pytest.mark.parametrize(("version", "event_type"), CASES)
def test_each_event_delivered_again_is_a_duplicate(client: Any, user: Any, version: str, event_type: str) -> None:
    payment_for(user, event_type)
    event = CORPUS["events"][version][event_type]
    with StripeMock() as stripe_mock:
        refund = CORPUS["events"][version]["refund.created"]["data"]["object"]
        stripe_mock.refunds[refund["id"]] = copy.deepcopy(refund)
        deliver(client, event)
        response, signals = deliver(client, event)
    assert (response.json()["outcome"], signals) == ("duplicate", [])
    assert WebhookEvent.objects.get(stripe_id=event["id"]).attempts == 1


# -- variants of the pinned version: what Stripe sends that needs the package's newer reading ---------

VARIANTS = CORPUS["variants"]


def test_the_variants_cover_what_the_pinned_version_adds() -> None:
    statuses = {event["data"]["object"]["status"] for event in VARIANTS.values()}
    assert {"prevented", "appeal_needs_response", "appeal_under_review"} <= statuses
    assert any(event["data"]["object"].get("evidence_details", {}).get("due_by") == 0 for event in VARIANTS.values())
    objects = [event["data"]["object"] for event in VARIANTS.values()]
    assert {obj["object"] for obj in objects if obj["payment_intent"] is None} == {"refund", "dispute"}
    assert all(event["api_version"] == STRIPE_API_VERSION for event in VARIANTS.values())


#: What each variant does to a paid payment of 19.99 USD: the status of the Dispute or Refund it
#: stores and the signals it sends (each is processed).
VARIANT_EXPECTED: dict[str, tuple[str, list[str]]] = {
    "dispute appeal_needs_response": ("appeal_needs_response", [RECEIVED, "payment_disputed"]),
    "dispute appeal_under_review": ("appeal_under_review", [RECEIVED, "payment_disputed"]),
    "dispute due_by 0": ("needs_response", [RECEIVED, "payment_disputed"]),
    "dispute prevented": ("prevented", [RECEIVED, "payment_disputed", "dispute_closed"]),
    "dispute status added later": ("a_status_added_later", [RECEIVED, "payment_disputed"]),
    "dispute without payment_intent": ("needs_response", [RECEIVED, "payment_disputed"]),
    "dispute won on appeal": ("won", [RECEIVED, "payment_disputed", "dispute_closed"]),
    "refund without payment_intent": ("succeeded", [RECEIVED, "payment_refunded"]),
}


def test_every_variant_has_its_expectation() -> None:
    assert set(VARIANT_EXPECTED) == set(VARIANTS)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_variant_is_applied_as_stripe_means_it(client: Any, user: Any, stripe_mock: Any, name: str) -> None:
    """The pinned version's newer dispute statuses, a status added later (stored as it comes),
    no deadline for ``due_by`` 0, and a refund or dispute that names only its charge (matched
    through the Charge Stripe returns)."""
    payment = payment_for(user, VARIANTS[name]["type"])
    stripe_mock.intents[INTENT] = build_payment_intent(payment, "succeeded")
    status, signals_expected = VARIANT_EXPECTED[name]

    response, signals = deliver(client, VARIANTS[name])

    assert (response.json()["outcome"], signals) == ("processed", signals_expected)
    assert row_status(VARIANTS[name]["type"]) == status
    if name == "dispute due_by 0":
        assert Dispute.objects.get().evidence_due_by is None
    if name == "refund without payment_intent":
        assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("19.99")


def test_a_dispute_without_payment_intent_for_a_charge_that_is_not_ours_is_ignored(
    client: Any, user: Any, stripe_mock: Any,
) -> None:
    event = copy.deepcopy(VARIANTS["dispute without payment_intent"])
    event["data"]["object"]["charge"] = "ch_3QnotOurs0000000000000001"
    PaymentFactory(user=user, stripe_payment_intent=INTENT, status=Payment.Status.SUCCEEDED)
    response, signals = deliver(client, event)
    assert (response.json()["outcome"], signals) == ("ignored", [RECEIVED])
    assert not Dispute.objects.exists()


def test_a_dispute_first_seen_won_on_appeal_is_stored_closed(client: Any, user: Any) -> None:
    payment_for(user, "charge.dispute.closed")
    response, signals = deliver(client, VARIANTS["dispute won on appeal"])
    assert (response.json()["outcome"], signals) == ("processed", [RECEIVED, "payment_disputed", "dispute_closed"])
    assert Dispute.objects.get().status == "won"
