"""Out-of-order and duplicate deliveries: every permutation ends in the right state with one
signal per real transition, in both WEBHOOK_PROCESSING modes (``webhook_mode``)."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, post_event
from tests.factories import PaymentFactory

pytestmark = pytest.mark.usefixtures("webhook_mode")

T0 = int(time.time()) - 100


def events_for(payment: Payment, types: list[str]) -> list[dict]:
    """Events as Stripe would generate them, in order, a second apart unless two share one."""
    return [build_event(payment, event_type, created=T0 + index) for index, event_type in enumerate(types)]


@pytest.fixture
def transitions(captured_signals):
    """``transitions()``: the status changes signalled so far, as (PaymentIntent id, old, new)."""

    def signalled() -> list[tuple[str, str, str]]:
        return [
            (changed["payment"].stripe_payment_intent, changed["old_status"], changed["new_status"])
            for changed in captured_signals.of("payment_status_changed")
        ]

    return signalled


SEQUENCES = [
    # (events in the order Stripe generated them, final local status)
    (["created", "requires_action", "processing", "succeeded"], "succeeded"),
    (["created", "payment_failed", "succeeded"], "succeeded"),
    (["created", "requires_action", "payment_failed", "requires_action", "succeeded"], "succeeded"),
    (["created", "processing", "payment_failed"], "failed"),
    (["created", "requires_action", "payment_failed"], "failed"),
    (["created", "payment_failed", "requires_action"], "pending"),
    (["created", "payment_failed", "canceled"], "canceled"),
    (["created", "requires_action", "canceled"], "canceled"),
]


@pytest.mark.parametrize(("names", "final"), SEQUENCES, ids=["-".join(s[0]) for s in SEQUENCES])
def test_every_permutation_ends_in_the_final_state(client, user, transitions, names, final):
    types = [f"payment_intent.{name}" for name in names]
    orders = set(itertools.permutations(range(len(types))))
    for order in sorted(orders):
        payment = PaymentFactory(user=user)
        events = events_for(payment, types)
        for index in order:
            assert post_event(client, events[index]).status_code == 200
            # Every event delivered twice: duplicates never count.
            assert post_event(client, events[index]).json()["outcome"] == "duplicate"
        payment.refresh_from_db()
        assert payment.status == final, (order, payment.status)
        # One signal per real transition: the signalled moves chain into each other and
        # end at the final status; a terminal status is entered once.
        chain = [t[1:] for t in transitions() if t[0] == payment.stripe_payment_intent]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain)), (order, chain)
        assert (chain[-1][1] if chain else "pending") == final
        assert all(old != new for old, new in chain)
        if final in ("succeeded", "canceled"):
            assert [new for _, new in chain].count(final) == 1, (order, chain)


def test_late_processing_after_succeeded_is_ignored(client, payment, transitions, webhook_mode):
    succeeded, processing = events_for(payment, ["payment_intent.succeeded", "payment_intent.processing"])

    post_event(client, succeeded)
    response = post_event(client, processing)

    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert response.json()["outcome"] == webhook_mode.answer("ignored")
    assert transitions() == [(payment.stripe_payment_intent, "pending", "succeeded")]


def test_succeeded_after_a_failed_attempt_is_applied(client, payment, transitions):
    failed, succeeded = events_for(payment, ["payment_intent.payment_failed", "payment_intent.succeeded"])

    post_event(client, failed)
    post_event(client, succeeded)

    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.failure_code == ""
    assert [t[1:] for t in transitions()] == [("pending", "failed"), ("failed", "succeeded")]


def test_canceled_is_terminal(client, payment):
    canceled, *later = events_for(payment, [
        "payment_intent.canceled", "payment_intent.requires_action", "payment_intent.processing",
        "payment_intent.succeeded", "payment_intent.payment_failed",
    ])

    post_event(client, canceled)
    for event in later:
        post_event(client, event)

    payment.refresh_from_db()
    assert payment.status == "canceled"


def test_processing_then_failed_in_the_same_second_both_apply(payment, webhook_mode):
    created = int(time.time())
    processing = build_event(build_payment_intent(payment, "processing"), "payment_intent.processing", created=created)
    failed = build_event(payment, "payment_intent.payment_failed", created=created)

    outcomes = [post_event(Client(), event).json()["outcome"] for event in (processing, failed)]

    assert outcomes == [webhook_mode.answer("processed")] * 2
    payment.refresh_from_db()
    assert payment.status == "failed"


def test_failed_then_requires_action_in_the_same_second_stays_failed(payment, webhook_mode):
    created = int(time.time())
    failed = build_event(payment, "payment_intent.payment_failed", created=created)
    action = build_event(build_payment_intent(payment, "requires_action"), "payment_intent.requires_action",
                         created=created)

    post_event(Client(), failed)
    response = post_event(Client(), action)

    assert response.json()["outcome"] == webhook_mode.answer("ignored")
    assert "stale" in WebhookEvent.objects.get(stripe_id=action["id"]).note
    payment.refresh_from_db()
    assert payment.status == "failed"


def test_failed_then_requires_action_a_second_later_is_a_retry(payment, webhook_mode):
    created = int(time.time())
    post_event(Client(), build_event(payment, "payment_intent.payment_failed", created=created))
    action = build_event(build_payment_intent(payment, "requires_action"), "payment_intent.requires_action",
                         created=created + 1)

    assert post_event(Client(), action).json()["outcome"] == webhook_mode.answer("processed")
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_update_status_and_webhook_together_fire_one_signal(api, client, payment, stripe_mock, transitions):
    from django.urls import reverse

    stripe_mock.intents[payment.stripe_payment_intent] = {
        **build_event(payment, "payment_intent.succeeded")["data"]["object"], "client_secret": "cs"}
    event = build_event(payment, "payment_intent.succeeded")

    api.post(reverse("apranova_payments:update-status"), {"paymentIntent": payment.stripe_payment_intent},
             format="json")
    post_event(client, event)
    api.post(reverse("apranova_payments:update-status"), {"paymentIntent": payment.stripe_payment_intent},
             format="json")

    assert transitions() == [(payment.stripe_payment_intent, "pending", "succeeded")]


#: Statements of one delivery (the task's included, run in-process), new and duplicate. On
#: PostgreSQL the claim, inline or the task's, also locks the payment (one statement, not two).
STATEMENTS = {"inline": (3, 1), "task": (4, 2)}
STATEMENTS_POSTGRESQL = {"inline": (2, 1), "task": (3, 2)}


@pytest.mark.django_db(transaction=True)
def test_statement_count_for_new_and_duplicate_events(client, user, webhook_mode):
    """Recorded for the docs (BEGIN/COMMIT are left out: SQLite shows them, PostgreSQL does not).
    Task mode: the request stores the event (1) and the task claims it, locks the payment
    and updates it (3, or 2 on PostgreSQL, where the claim locks the payment); a duplicate is
    looked up after the insert found it (2). Inline, the
    claim, the payment's lock and its update (3), or on PostgreSQL the claim locking the
    payment in the same statement, then the update (2)."""
    payment = PaymentFactory(user=user)
    event = build_event(payment, "payment_intent.succeeded")
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

    # apply=False: the request and the task only, not the test kit's look for what is left queued
    with CaptureQueriesContext(connection) as new:
        assert post_event(client, event, apply=False).json()["outcome"] == webhook_mode.answer("processed")
    with CaptureQueriesContext(connection) as duplicate:
        assert post_event(client, event, apply=False).json()["outcome"] == "duplicate"

    new_sql = [q["sql"] for q in new.captured_queries if not q["sql"].upper().startswith(control)]
    dup_sql = [q["sql"] for q in duplicate.captured_queries if not q["sql"].upper().startswith(control)]
    print(f"\nwebhook statements ({webhook_mode.name}): {len(new_sql)} for a new event, "
          f"{len(dup_sql)} for a duplicate")
    expected = STATEMENTS_POSTGRESQL if connection.vendor == "postgresql" else STATEMENTS
    assert (len(new_sql), len(dup_sql)) == expected[webhook_mode.name], (new_sql, dup_sql)
    if connection.vendor == "postgresql":
        claim = new_sql[0] if webhook_mode.name == "inline" else new_sql[1]
        assert claim.startswith("WITH claimed AS (INSERT INTO" if webhook_mode.name == "inline" else
                                "WITH claimed AS (UPDATE") and "FOR UPDATE" in claim


def test_a_stale_event_is_logged_in_these_words(payment, caplog):
    failed = build_event(payment, "payment_intent.payment_failed", created=T0 + 10)
    late = build_event(build_payment_intent(payment, "processing"), "payment_intent.processing", created=T0)

    post_event(Client(), failed)
    with caplog.at_level("INFO", logger="django_apranova_payments.transitions"):
        post_event(Client(), late)

    when = datetime.fromtimestamp(T0, UTC).isoformat()
    last = datetime.fromtimestamp(T0 + 10, UTC).isoformat()
    assert (
        f"Payment {payment.stripe_payment_intent}: event from {when} is older than the last applied ({last}); "
        "failed -> processing ignored"
    ) in caplog.messages
