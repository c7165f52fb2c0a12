"""Refund, charge.refunded and dispute events: recorded once, never backwards, in any order."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from typing import Any

import pytest

from django_apranova_payments import signals
from django_apranova_payments.metadata import REFUND, own_metadata, refund_binding
from django_apranova_payments.models import Dispute, Payment, Refund, WebhookEvent
from django_apranova_payments.refunds import REFUND_TRANSITIONS, dispute_can_move, refund_can_move
from django_apranova_payments.testing import (
    build_charge,
    build_dispute,
    build_event,
    build_payment_intent,
    build_refund,
    post_event,
)
from tests.factories import PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = int(time.time()) - 1000


@pytest.fixture
def paid(user: Any) -> Payment:
    return PaymentFactory(user=user, status=Payment.Status.SUCCEEDED, amount=Decimal("40.00"))


def deliver(client: Any, obj: dict[str, Any], event_type: str, created: int | None = None) -> Any:
    event = build_event(obj, event_type, created=created)
    response = post_event(client, event)
    assert response.status_code == 200, response.content
    return response.json()["outcome"]


def note(obj_id: str) -> str:
    return WebhookEvent.objects.filter(object_id=obj_id).latest("received_at").note


# -- refunds ---------------------------------------------------------------------------------------------


def test_a_dashboard_refund_is_recorded_without_a_requester(client, paid, captured_signals):
    refund = build_refund(paid, 1500, reason="requested_by_customer")

    outcome = deliver(client, refund, "refund.created")

    stored = Refund.objects.get()
    assert outcome == "processed"
    assert (stored.stripe_refund, stored.amount, stored.status, stored.requested_by) == (
        refund["id"], Decimal("15.00"), "succeeded", None)
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("15.00") and not paid.is_fully_refunded
    assert captured_signals.names() == ["webhook_event_received", "payment_refunded"]
    assert captured_signals.of("payment_refunded")[0]["event"]["data"]["object"]["id"] == refund["id"]


def test_a_duplicate_refund_event_is_applied_once(client, paid, captured_signals):
    event = build_event(build_refund(paid), "refund.created")

    first, second = post_event(client, event), post_event(client, event)

    assert (first.json()["outcome"], second.json()["outcome"]) == ("processed", "duplicate")
    assert captured_signals.count("payment_refunded") == 1
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("40.00")


def test_the_same_refund_in_two_events_is_applied_once(client, paid, captured_signals):
    refund = build_refund(paid)

    deliver(client, refund, "refund.created")
    deliver(client, refund, "charge.refund.updated")

    assert captured_signals.count("payment_refunded") == 1
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("40.00")


def test_a_succeeded_refund_that_fails_later_gives_the_amount_back(client, paid, captured_signals):
    refund = build_refund(paid, 1000)
    deliver(client, refund, "refund.created", T0)

    outcome = deliver(client, {**refund, "status": "failed", "failure_reason": "expired_or_canceled_card"},
                      "refund.failed", T0 + 10)

    stored = Refund.objects.get()
    paid.refresh_from_db()
    assert outcome == "processed"
    assert (stored.status, stored.failure_reason) == ("failed", "expired_or_canceled_card")
    assert paid.amount_refunded == 0
    assert [n for n in captured_signals.names() if n != "webhook_event_received"] == [
        "payment_refunded", "refund_failed"]
    failed = captured_signals.of("refund_failed")[0]
    assert failed["payment"].amount_refunded == 0 and failed["refund"].status == "failed"
    assert failed["old_status"] == "succeeded"


def test_a_refund_first_seen_failed_says_so(client, paid, captured_signals):
    deliver(client, build_refund(paid, 1000, status="failed", failure_reason="unknown"), "refund.failed")

    (failed,) = captured_signals.of("refund_failed")
    assert failed["old_status"] == "" and captured_signals.count("payment_refunded") == 0


def test_a_late_pending_after_succeeded_is_ignored(client, paid, captured_signals):
    refund = build_refund(paid, 1000)
    deliver(client, refund, "refund.updated", T0 + 10)

    outcome = deliver(client, {**refund, "status": "pending"}, "refund.created", T0)

    assert outcome == "ignored"
    assert note(refund["id"]) == "not applied: not allowed: refund is succeeded, Stripe says pending"
    assert Refund.objects.get().status == "succeeded"
    assert captured_signals.count("payment_refunded") == 1


def test_a_late_requires_action_after_pending_is_stale(client, paid):
    refund = build_refund(paid, 1000, status="requires_action")
    deliver(client, {**refund, "status": "pending"}, "refund.updated", T0 + 10)

    outcome = deliver(client, refund, "refund.created", T0)

    assert outcome == "ignored" and note(refund["id"]).startswith("not applied: stale")
    assert Refund.objects.get().status == "pending"


REFUND_STORY = [("refund.created", "pending"), ("refund.updated", "succeeded"), ("charge.refund.updated", "succeeded")]
FAILING_STORY = [("refund.created", "pending"), ("refund.updated", "succeeded"), ("refund.failed", "failed")]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_order_of_a_refunds_events_ends_succeeded_with_one_signal(client, paid, captured_signals, order):
    refund = build_refund(paid, 2500)

    for index in order:
        event_type, status = REFUND_STORY[index]
        deliver(client, {**refund, "status": status}, event_type, T0 + index)

    paid.refresh_from_db()
    assert Refund.objects.get().status == "succeeded"
    assert paid.amount_refunded == Decimal("25.00")
    assert captured_signals.count("payment_refunded") == 1 and captured_signals.count("refund_failed") == 0


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_order_of_a_refund_that_fails_after_succeeding_ends_failed_with_nothing_refunded(
    client, paid, captured_signals, order
):
    refund = build_refund(paid, 2500)

    for index in order:
        event_type, status = FAILING_STORY[index]
        deliver(client, {**refund, "status": status}, event_type, T0 + index)

    paid.refresh_from_db()
    assert Refund.objects.get().status == "failed"
    assert paid.amount_refunded == 0
    refunded, failed = captured_signals.count("payment_refunded"), captured_signals.count("refund_failed")
    assert failed == 1 and refunded <= 1
    # the access a receiver took away is given back exactly when it was taken
    assert refunded == (1 if order.index(1) < order.index(2) else 0)


def test_charge_refunded_reporting_more_fetches_the_refunds_once(client, paid, stripe_mock, captured_signals):
    stripe_mock.intents[paid.stripe_payment_intent] = build_payment_intent(paid, "succeeded")
    dashboard = stripe_mock.refund_in_dashboard(paid.stripe_payment_intent, 1000)
    second = stripe_mock.refund_in_dashboard(paid.stripe_payment_intent, 500)

    outcome = deliver(client, build_charge(paid, 1500), "charge.refunded")
    again = deliver(client, build_charge(paid, 1500), "charge.refunded")

    assert (outcome, again) == ("processed", "processed")
    assert len(stripe_mock.calls_to("list_refunds")) == 1
    assert set(Refund.objects.values_list("stripe_refund", flat=True)) == {dashboard["id"], second["id"]}
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("15.00")
    assert captured_signals.count("payment_refunded") == 2


def test_charge_refunded_that_matches_the_stored_refunds_asks_stripe_nothing(client, paid, stripe_mock):
    deliver(client, build_refund(paid, 1000), "refund.created")

    deliver(client, build_charge(paid, 1000), "charge.refunded")

    assert stripe_mock.calls_to("list_refunds") == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"currency": "eur"}, "not applied: mismatch: the refund is not of this payment or not in its currency"),
        ({"status": "bogus"}, "not applied: unexpected status 'bogus' at Stripe"),
        ({"amount": 0}, "not applied: mismatch: the refund's amount is not positive"),
        ({"amount": 4001}, "not applied: mismatch: the refunds would exceed the payment"),
        ({"amount": 10**15}, "not applied: mismatch: the refund's amount cannot be an amount of its currency"),
        ({"amount": "40"}, "data.object is not a usable Refund: refund amount is not a non-negative integer"),
        ({"object": "charge"}, "data.object is not a usable Refund: not a refund object"),
        ({"payment_intent": None, "charge": None}, "Refund names no PaymentIntent"),
        ({"payment_intent": "pi_elsewhere"}, "Refund of a PaymentIntent with no payment here"),
    ],
)
def test_a_refund_that_cannot_be_ours_is_stored_and_ignored(client, paid, captured_signals, change, expected):
    refund = {**build_refund(paid), **change}

    outcome = deliver(client, refund, "refund.created")

    assert outcome == "ignored" and note(refund["id"]) == expected
    assert not Refund.objects.exists()
    paid.refresh_from_db()
    assert paid.amount_refunded == 0
    assert captured_signals.names() == ["webhook_event_received"]


def test_a_stored_refunds_amount_never_changes(client, paid):
    refund = build_refund(paid, 1000, status="pending")
    deliver(client, refund, "refund.created", T0)

    outcome = deliver(client, {**refund, "amount": 4000, "status": "succeeded"}, "refund.updated", T0 + 1)

    assert outcome == "ignored" and "stored refund differs" in note(refund["id"])
    paid.refresh_from_db()
    assert paid.amount_refunded == 0


def test_a_refund_event_in_the_other_mode_is_ignored(client, paid):
    event = build_event(build_refund(paid), "refund.created", livemode=True)

    assert post_event(client, event).json()["outcome"] == "ignored"
    assert not Refund.objects.exists()


def test_a_receiver_that_raises_leaves_nothing_and_the_redelivery_applies_it(client, paid, captured_signals):
    event = build_event(build_refund(paid), "refund.created")

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the course platform is down")

    signals.payment_refunded.connect(broken)
    try:
        failed = post_event(client, event)
    finally:
        signals.payment_refunded.disconnect(broken)
    assert failed.status_code == 500 and not Refund.objects.exists()
    assert WebhookEvent.objects.get().outcome == "failed"

    again = post_event(client, event)

    assert again.json()["outcome"] == "processed"
    paid.refresh_from_db()
    assert paid.is_fully_refunded


def test_a_copied_refund_mark_names_nobody(client, paid, user):
    other = PaymentFactory(user=user, status=Payment.Status.SUCCEEDED, amount=Decimal("40.00"))
    requester = UserFactory(is_staff=True)
    mark = own_metadata(user_pk=requester.pk, amount_minor=4000, currency="usd",
                        host=refund_binding(other.stripe_payment_intent), kind=REFUND)

    deliver(client, build_refund(paid, 4000, metadata=mark), "refund.created")
    deliver(client, build_refund(other, 4000, metadata=mark), "refund.created")

    assert dict(Refund.objects.values_list("payment_id", "requested_by")) == {paid.pk: None, other.pk: requester.pk}


def test_a_payment_intent_mark_is_not_a_refund_mark(client, paid):
    intent_mark = build_payment_intent(paid)["metadata"]

    deliver(client, build_refund(paid, metadata=intent_mark), "refund.created")

    assert Refund.objects.get().requested_by is None


def test_the_refund_state_machine():
    assert REFUND_TRANSITIONS["succeeded"] == {"failed"}
    assert not REFUND_TRANSITIONS["failed"] and not REFUND_TRANSITIONS["canceled"]
    assert refund_can_move("pending", "pending") and refund_can_move("requires_action", "pending")
    assert not refund_can_move("succeeded", "pending") and not refund_can_move("failed", "succeeded")


# -- disputes ------------------------------------------------------------------------------------------------


def test_a_dispute_is_recorded_once_and_stops_refunds(client, paid, captured_signals):
    dispute = build_dispute(paid, "needs_response", due_by=T0 + 86400)

    event = build_event(dispute, "charge.dispute.created")
    first, second = post_event(client, event), post_event(client, event)

    stored = Dispute.objects.get()
    assert (first.json()["outcome"], second.json()["outcome"]) == ("processed", "duplicate")
    assert (stored.status, stored.reason, stored.amount, stored.is_charge_refundable) == (
        "needs_response", "fraudulent", Decimal("40.00"), False)
    assert int(stored.evidence_due_by.timestamp()) == T0 + 86400
    assert captured_signals.count("payment_disputed") == 1
    assert Payment.objects.get(pk=paid.pk).is_disputed


def test_a_dispute_moves_forward_and_closes_once(client, paid, captured_signals):
    dispute = build_dispute(paid, "needs_response")
    deliver(client, dispute, "charge.dispute.created", T0)
    deliver(client, {**dispute, "status": "under_review"}, "charge.dispute.updated", T0 + 1)
    deliver(client, {**dispute, "status": "won"}, "charge.dispute.closed", T0 + 2)

    late = deliver(client, {**dispute, "status": "needs_response"}, "charge.dispute.funds_withdrawn", T0 + 3)
    again = deliver(client, {**dispute, "status": "won"}, "charge.dispute.funds_reinstated", T0 + 4)

    assert (late, again) == ("ignored", "processed")
    assert Dispute.objects.get().status == "won"
    assert captured_signals.count("payment_disputed") == 1
    closed = captured_signals.of("dispute_closed")
    assert len(closed) == 1 and closed[0]["dispute"].status == "won"


def test_a_dispute_first_seen_closed_sends_both_signals(client, paid, captured_signals):
    deliver(client, build_dispute(paid, "lost"), "charge.dispute.closed")

    assert [n for n in captured_signals.names() if n != "webhook_event_received"] == [
        "payment_disputed", "dispute_closed"]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_order_of_a_disputes_events_ends_closed_with_one_signal_each(client, paid, captured_signals, order):
    dispute = build_dispute(paid, "needs_response")
    story = [("charge.dispute.created", "needs_response"), ("charge.dispute.updated", "under_review"),
             ("charge.dispute.closed", "lost")]

    for index in order:
        event_type, status = story[index]
        deliver(client, {**dispute, "status": status}, event_type, T0 + index)

    assert Dispute.objects.get().status == "lost"
    assert captured_signals.count("payment_disputed") == 1 and captured_signals.count("dispute_closed") == 1


def test_an_inquiry_may_become_a_chargeback_but_nothing_leaves_a_closed_status():
    assert dispute_can_move("warning_needs_response", "needs_response")
    assert dispute_can_move("warning_under_review", "warning_closed")
    assert not dispute_can_move("under_review", "needs_response")
    for closed in ("won", "warning_closed", "prevented"):
        assert [s for s in Dispute.Status.values if s != closed and dispute_can_move(closed, s)] == []
    # Only an appeal moves a lost dispute on.
    assert [s for s in Dispute.Status.values if s != "lost" and dispute_can_move("lost", s)] == [
        "appeal_needs_response", "appeal_under_review"]


def test_a_dispute_of_another_payment_intent_is_ignored(client, paid):
    outcome = deliver(client, build_dispute(paid, payment_intent="pi_elsewhere"), "charge.dispute.created")

    assert outcome == "ignored" and not Dispute.objects.exists()


def test_a_dispute_with_a_status_stripe_added_later_is_stored_as_it_comes(client, paid, captured_signals):
    dispute = build_dispute(paid, "bogus")

    assert deliver(client, dispute, "charge.dispute.created") == "processed"
    assert Dispute.objects.get().status == "bogus"
    assert captured_signals.count("payment_disputed") == 1 and captured_signals.count("dispute_closed") == 0


@pytest.mark.parametrize("amount", [10**15, -1, "40"])
def test_a_dispute_with_an_impossible_amount_is_ignored(client, paid, amount):
    assert deliver(client, build_dispute(paid, amount=amount), "charge.dispute.created") == "ignored"
    assert not Dispute.objects.exists()


def test_a_three_decimal_refund_that_is_not_a_multiple_of_the_step_is_ignored(client, user):
    payment = PaymentFactory(user=user, status=Payment.Status.SUCCEEDED, amount=Decimal("5.12"), currency="kwd")

    assert deliver(client, build_refund(payment, 1235), "refund.created") == "ignored"
    assert deliver(client, build_refund(payment, 1230), "refund.created") == "processed"
    assert Refund.objects.get().amount == Decimal("1.23")


def data_statements(client: Any, event: dict[str, Any]) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert post_event(client, event).status_code == 200
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].lstrip().upper().startswith(control)]


def test_a_new_dashboard_refund_costs_four_statements_and_a_duplicate_one(client, paid, user):
    post_event(client, build_event(build_refund(PaymentFactory(user=user, status="succeeded")), "refund.created"))
    event = build_event(build_refund(paid, 1000), "refund.created")

    new, duplicate = data_statements(client, event), data_statements(client, event)

    assert len(new) == 4, new  # claim, lock the payment, insert the refund, update amount_refunded
    assert len(duplicate) == 1, duplicate
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("10.00")


def test_a_refund_created_after_charge_refunded_stored_it_is_applied_once(client, paid, stripe_mock, captured_signals):
    stripe_mock.intents[paid.stripe_payment_intent] = build_payment_intent(paid, "succeeded")
    refund = stripe_mock.refund_in_dashboard(paid.stripe_payment_intent, 1000)
    deliver(client, build_charge(paid, 1000), "charge.refunded", T0)

    outcome = deliver(client, refund, "refund.created", T0 - 1)

    assert outcome == "processed"
    assert Refund.objects.count() == 1 and captured_signals.count("payment_refunded") == 1


def test_decide_refund_says_what_apply_refund_would_do_and_changes_nothing(client, paid, captured_signals):
    from django_apranova_payments.gateway import RefundData
    from django_apranova_payments.refunds import apply_refund, decide_refund

    refund = build_refund(paid, 1000, status="pending")
    first = decide_refund(paid, RefundData.from_dict(refund))
    too_much = decide_refund(paid, RefundData.from_dict(build_refund(paid, 4001)))
    deliver(client, {**refund, "status": "succeeded"}, "refund.created", T0 + 5)
    late = {**refund, "status": "pending"}
    before = (Refund.objects.get().status, Payment.objects.get(pk=paid.pk).amount_refunded)

    dry = decide_refund(paid, RefundData.from_dict(late))
    real = apply_refund(paid, RefundData.from_dict(late))

    assert (first.created, first.new_status, first.refused) == (True, "pending", "")
    assert too_much.refused == "mismatch: the refunds would exceed the payment"
    assert dry.refused == real.refused == "not allowed: refund is succeeded, Stripe says pending"
    assert (Refund.objects.get().status, Payment.objects.get(pk=paid.pk).amount_refunded) == before


def test_decide_dispute_says_what_apply_dispute_would_do_and_changes_nothing(client, paid, captured_signals):
    from django_apranova_payments.gateway import DisputeData
    from django_apranova_payments.refunds import decide_dispute

    dispute = build_dispute(paid, "needs_response")
    new = decide_dispute(paid, DisputeData.from_dict(dispute))
    deliver(client, {**dispute, "status": "won"}, "charge.dispute.closed")
    back = decide_dispute(paid, DisputeData.from_dict(dispute))

    assert (new.created, new.new_status) == (True, "needs_response")
    assert back.refused == "not allowed: dispute is won, Stripe says needs_response"
    assert captured_signals.count("payment_disputed") == 1 and Dispute.objects.get().status == "won"
