"""The event store's failure record, row by row (survivors of the mutation run,
docs/explanation/testing.md)."""

from __future__ import annotations

import pytest

from django_apranova_payments.models import WebhookEvent

pytestmark = pytest.mark.django_db

EVENT = {
    "id": "evt_store",
    "type": "payment_intent.succeeded",
    "created": 1_700_000_000,
    "data": {"object": {"id": "pi_store", "object": "payment_intent"}},
}


def test_a_first_failed_attempt_is_stored_failed_with_its_error_and_no_note():
    WebhookEvent.objects.record_failure(EVENT, "receiver broke")

    row = WebhookEvent.objects.get(stripe_id="evt_store")
    assert (row.outcome, row.error, row.note, row.attempts) == ("failed", "receiver broke", "", 1)


def test_a_failure_record_keeps_the_first_ten_thousand_characters_of_the_error():
    WebhookEvent.objects.record_failure(EVENT, "x" * 10_000 + "cut")

    assert WebhookEvent.objects.get().error == "x" * 10_000


def test_a_second_failure_counts_its_attempt_and_keeps_the_latest_error():
    WebhookEvent.objects.record_failure(EVENT, "first")
    WebhookEvent.objects.record_failure(EVENT, "second")

    row = WebhookEvent.objects.get()
    assert (row.outcome, row.error, row.attempts) == ("failed", "second", 2)


def test_a_failure_after_a_claim_is_recorded_and_a_claim_after_a_failure_succeeds():
    pk = WebhookEvent.objects.claim({**EVENT, "id": "evt_other"})
    WebhookEvent.objects.record_failure(EVENT, "broke")
    again = WebhookEvent.objects.claim(EVENT)

    row = WebhookEvent.objects.get(stripe_id="evt_store")
    assert pk is not None and again == row.pk
    assert (row.outcome, row.error, row.attempts) == ("processed", "", 2)
