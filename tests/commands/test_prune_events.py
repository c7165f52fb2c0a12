"""apranova_prune_events: processed and ignored events older than the cutoff go, in batches;
received and failed events stay; a redelivery within Stripe's retry window is still a
duplicate."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from django_apranova_payments.models import WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def stored(outcome: str, days_old: float, n: int = 1) -> list[int]:
    """``n`` events with ``outcome``, received ``days_old`` days ago; their pks."""
    events = [
        WebhookEvent(stripe_id=f"evt_{outcome}_{days_old}_{i}", type="payment_intent.succeeded", payload={},
                     outcome=outcome, object_id=f"pi_{i}")
        for i in range(n)
    ]
    made = WebhookEvent.objects.bulk_create(events)
    pks = [event.pk for event in made]
    WebhookEvent.objects.filter(pk__in=pks).update(received_at=NOW - timedelta(days=days_old))
    return pks


def prune(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apranova_prune_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_only_done_events_older_than_the_cutoff_are_deleted():
    old_done = stored("processed", 40, 3) + stored("ignored", 31, 2)
    old_waiting = stored("received", 40) + stored("failed", 90)
    recent = stored("processed", 29) + stored("ignored", 1)

    out, err = prune("--older-than", "30")

    left = set(WebhookEvent.objects.values_list("pk", flat=True))
    assert left == set(old_waiting + recent)
    assert not left & set(old_done)
    assert out.startswith("Deleted 5 processed or ignored event(s) received before ")
    assert "; 2 received or failed kept." in out and err == ""


def test_batches_walk_the_whole_table():
    stored("processed", 40, 25)

    out, _ = prune("--older-than", "30", "--batch-size", "4", "-v", "2")

    assert not WebhookEvent.objects.exists()
    assert out.count("deleted 4 event(s) up to id") == 6 and "deleted 1 event(s) up to id" in out


def test_the_dry_run_deletes_nothing():
    stored("processed", 40, 2)
    stored("failed", 40)

    out, _ = prune("--older-than", "30", "--dry-run")

    assert WebhookEvent.objects.count() == 3
    assert "Dry run: 2 processed or ignored event(s)" in out and "would be deleted; 1 received or failed kept." in out


def test_verbosity_0_prints_nothing():
    stored("processed", 40, 2)

    assert prune("--older-than", "30", "-v", "0") == ("", "")
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: --older-than"),
        (["--older-than", "3"], "takes at least 7 days (Stripe retries a delivery for up to 3 days), not '3'"),
        (["--older-than", "ninety"], "takes a whole number, 1 or more, not 'ninety'"),
        (["--older-than", "30", "--batch-size", "0"], "takes a whole number, 1 or more, not '0'"),
        (["--older-than", "30", "--batch-size", "10001"], "takes a whole number from 1 to 10000, not '10001'"),
    ],
)
def test_bad_arguments_are_one_line(args, message):
    stored("processed", 40)

    with pytest.raises(CommandError, match=re.escape(message)):
        prune(*args)
    assert WebhookEvent.objects.count() == 1


def test_an_event_inside_the_retry_window_is_still_answered_as_a_duplicate(client, user):
    from django_apranova_payments.testing import post_event

    payment = PaymentFactory(user=user)
    event = build_event(build_payment_intent(payment, "succeeded"), "payment_intent.succeeded")
    assert post_event(client, event).json()["outcome"] == "processed"
    WebhookEvent.objects.update(received_at=NOW - timedelta(days=6))

    prune("--older-than", "7")

    assert post_event(client, event).json()["outcome"] == "duplicate"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_each_batch_commits_on_its_own_so_a_webhook_never_waits_for_the_whole_prune():
    """A second connection holds one old event's row lock: the prune deletes every batch
    before it (committed, visible to a third connection) and then waits only on that batch."""
    pks = stored("processed", 40, 9)
    held = pks[7]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            WebhookEvent.objects.select_for_update().get(pk=held)
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(10)
    pruner = threading.Thread(target=lambda: (prune("--older-than", "30", "--batch-size", "3"),
                                              connections.close_all()))
    pruner.start()
    deadline = timezone.now() + timedelta(seconds=10)
    while WebhookEvent.objects.filter(pk__in=pks[:6]).exists() and timezone.now() < deadline:
        connection.close()  # a fresh snapshot each look
        time.sleep(0.05)
    assert not WebhookEvent.objects.filter(pk__in=pks[:6]).exists()
    assert WebhookEvent.objects.filter(pk__in=pks[6:]).count() == 3  # the held batch waits
    release.set()
    holder.join(10)
    pruner.join(10)
    assert not WebhookEvent.objects.exists()
