"""WEBHOOK_PROCESSING = "task": what only task mode does (the shared behaviour runs in both
modes in test_endpoint.py, test_ordering.py and test_concurrency.py of this folder): the
enqueue after the commit, retries with backoff up to TASK_MAX_ATTEMPTS, redelivery,
apranova_process_events, and check E009.

Django's ``DummyBackend`` stands in for a queue here: it keeps what was enqueued and runs
nothing, so each test runs the task itself, as a worker would. The real engines are in
``tests/load/test_task_engines.py``.
"""

from __future__ import annotations

import copy
import threading
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from django_apranova_payments import checks, signals, tasks
from django_apranova_payments.conf import app_settings
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, capture_signals
from django_apranova_payments.testing import post_event as apply_event
from tests.factories import PaymentFactory, UserFactory
from tests.webhook_modes import TASKS_PACKAGE

task_backends = tasks.task_backends
DUMMY = {"default": {"BACKEND": f"{TASKS_PACKAGE}.backends.dummy.DummyBackend", "QUEUES": ["default", "webhooks"]}}
IMMEDIATE = f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"


def post_event(client: Any, event: Any, **kwargs: Any) -> Any:
    """Deliver ``event`` and leave it to the task backend: these tests are about the queue,
    not the test kit's stand-in for a worker (``process_queued``)."""
    return apply_event(client, event, apply=False, **kwargs)


@pytest.fixture
def task_mode(settings: Any) -> Any:
    settings.TASKS = DUMMY
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "WEBHOOK_PROCESSING": "task",
                                  "TASK_QUEUE": "webhooks", "TASK_MAX_ATTEMPTS": 3}
    return settings


@pytest.fixture
def queue(task_mode: Any) -> Any:
    """The dummy backend's results: what was enqueued, in order."""
    backend = task_backends["default"]
    backend.clear()
    return backend.results


def run_next(queue: list[Any]) -> Any:
    """Run the oldest task not yet run, as a worker would; its return value, or the exception."""
    result = queue.pop(0)
    try:
        return result.task.call(*result.args, **result.kwargs)
    except Exception as exc:
        return exc


def deliver(client: Any, event: dict[str, Any], django_capture_on_commit_callbacks: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return post_event(client, event)


def test_inline_is_the_default(client, payment):
    assert app_settings.WEBHOOK_PROCESSING == "inline"
    response = post_event(client, build_event(payment, "payment_intent.succeeded"))

    assert response.json()["outcome"] == "processed"


def test_the_event_is_stored_received_and_enqueued_after_the_commit(
    client, payment, queue, django_capture_on_commit_callbacks
):
    event = build_event(payment, "payment_intent.succeeded")

    with capture_signals() as sent, django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_event(client, event)
        assert queue == []  # nothing is enqueued before the event row is committed

    stored = WebhookEvent.objects.get()
    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "queued"}
    assert (stored.outcome, stored.attempts, stored.processed_at) == ("received", 0, None)
    kept = copy.deepcopy(event)
    del kept["data"]["object"]["client_secret"]  # Stripe sends it; it is never stored
    assert stored.payload == kept
    assert sent.names() == []  # every signal is sent by the task, inside its transaction
    for callback in callbacks:
        callback()
    [enqueued] = queue
    assert enqueued.task.module_path == "django_apranova_payments.tasks.process_webhook_event"
    assert (enqueued.args, enqueued.task.queue_name, enqueued.task.backend) == ([stored.pk], "webhooks", "default")

    with capture_signals() as sent:
        assert run_next(queue) == "processed"

    payment.refresh_from_db()
    stored.refresh_from_db()
    assert payment.status == "succeeded"
    assert (stored.outcome, stored.attempts, stored.error) == ("processed", 1, "")
    assert sent.names() == ["webhook_event_received", "payment_status_changed", "payment_succeeded"]


def test_redelivery_of_a_waiting_event_enqueues_it_again_and_it_is_applied_once(
    client, payment, queue, django_capture_on_commit_callbacks
):
    event = build_event(payment, "payment_intent.succeeded")
    answers = [deliver(client, event, django_capture_on_commit_callbacks).json()["outcome"] for _ in range(2)]

    assert answers == ["queued", "queued"]
    assert len(queue) == 2 and WebhookEvent.objects.count() == 1
    with capture_signals() as sent:
        assert [run_next(queue), run_next(queue)] == ["processed", "duplicate"]
    assert sent.count("payment_succeeded") == sent.count("webhook_event_received") == 1
    assert deliver(client, event, django_capture_on_commit_callbacks).json()["outcome"] == "duplicate"
    assert queue == []  # a processed event is a duplicate: nothing enqueued


def test_a_failing_receiver_is_retried_with_backoff_then_waits_for_a_replay(
    client, payment, queue, django_capture_on_commit_callbacks
):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("enrollment service down")

    event = build_event(payment, "payment_intent.succeeded")
    deliver(client, event, django_capture_on_commit_callbacks)
    signals.payment_succeeded.connect(broken)
    try:
        delays = []
        for attempt in (1, 2, 3):
            started = timezone.now()
            assert isinstance(run_next(queue), RuntimeError)
            stored = WebhookEvent.objects.get()
            assert (stored.outcome, stored.attempts) == ("failed", attempt)
            assert "RuntimeError: enrollment service down" in stored.error
            if queue:
                delays.append(queue[0].task.run_after - started)
    finally:
        signals.payment_succeeded.disconnect(broken)

    # Attempts 2 and 3 waited 30 s and 60 s; after the third (TASK_MAX_ATTEMPTS) none is enqueued.
    assert [round(d.total_seconds()) for d in delays] == [30, 60]
    assert queue == []
    payment.refresh_from_db()
    assert payment.status == "pending"

    # Stripe's redelivery (or a replay) applies it once the receiver works again.
    assert deliver(client, event, django_capture_on_commit_callbacks).json()["outcome"] == "queued"
    with capture_signals() as sent:
        assert run_next(queue) == "processed"
    payment.refresh_from_db()
    assert payment.status == "succeeded" and sent.count("payment_succeeded") == 1
    assert WebhookEvent.objects.get().attempts == 4


def test_a_retry_that_cannot_be_enqueued_leaves_the_event_failed_for_a_replay(
    client, payment, queue, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("enrollment service down")

    def broker_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("broker unreachable")

    deliver(client, build_event(payment, "payment_intent.succeeded"), django_capture_on_commit_callbacks)
    signals.payment_succeeded.connect(broken)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(task_backends["default"], "enqueue", broker_down)
            assert isinstance(run_next(queue), RuntimeError)
    finally:
        signals.payment_succeeded.disconnect(broken)

    stored = WebhookEvent.objects.get()
    assert (stored.outcome, stored.attempts, queue) == ("failed", 1, [])
    assert "Could not enqueue attempt 2" in caplog.text and "apranova_replay_events --failed" in caplog.text
    call_command("apranova_replay_events", "--failed", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert WebhookEvent.objects.get().outcome == "processed"


def test_retry_delay_doubles_up_to_an_hour():
    assert [tasks.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 10, 40)] == [30, 60, 120, 240, 3600, 3600]


@pytest.mark.django_db(transaction=True)  # the request commits, so the enqueue runs inside it
def test_an_enqueue_that_fails_answers_500_and_the_event_waits_received(client, payment, queue, monkeypatch):
    def broker_down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(task_backends["default"], "enqueue", broker_down)
    response = post_event(client, build_event(payment, "payment_intent.succeeded"))

    assert response.status_code == 500
    assert "broker" not in response.content.decode()
    assert WebhookEvent.objects.get().outcome == "received"  # the sweep or Stripe's retry takes it from here


def test_unhandled_and_foreign_events_are_ignored_by_the_task(client, db, queue, django_capture_on_commit_callbacks):
    event = build_event({"id": "ch_1", "object": "charge"}, "charge.succeeded")
    deliver(client, event, django_capture_on_commit_callbacks)

    assert run_next(queue) == "ignored"
    stored = WebhookEvent.objects.get()
    assert (stored.outcome, stored.note, stored.attempts) == ("ignored", "event type not handled", 1)


def test_the_task_of_an_event_that_no_longer_exists_is_a_duplicate(db, task_mode):
    assert tasks.process_webhook_event.call(987654) == "duplicate"


# -- apranova_process_events --------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apranova_process_events", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def waiting(client, user, queue, django_capture_on_commit_callbacks):
    """Three events stored ``received`` 20 minutes ago whose tasks were lost, and one just now."""
    payments = [PaymentFactory(user=user) for _ in range(4)]
    events = [build_event(p, "payment_intent.succeeded") for p in payments]
    for event in events:
        deliver(client, event, django_capture_on_commit_callbacks)
    queue.clear()  # the lost enqueues
    old = WebhookEvent.objects.filter(stripe_id__in=[e["id"] for e in events[:3]])
    old.update(received_at=timezone.now() - timedelta(minutes=20))
    return events


def test_process_events_applies_the_old_waiting_events_once(waiting):
    with capture_signals() as sent:
        out, err = run("--older-than", "10")
        again, _ = run("--older-than", "10")

    assert err == ""
    for event in waiting[:3]:
        assert f"{event['id']} payment_intent.succeeded: processed" in out
    assert "Processed 3 waiting event(s): 3 processed." in out
    assert "No webhook event has waited in 'received' for 10 minute(s) or more." in again
    assert sent.count("payment_succeeded") == sent.count("webhook_event_received") == 3
    outcomes = dict(WebhookEvent.objects.values_list("stripe_id", "outcome"))
    assert [outcomes[e["id"]] for e in waiting] == ["processed", "processed", "processed", "received"]


def test_process_events_enqueue_sends_them_back_to_the_queue(waiting, queue):
    out, _ = run("--older-than", "10", "--enqueue", "--limit", "2")

    assert "Enqueued 2 waiting event(s): 2 enqueued." in out
    assert [r.args for r in queue] == [[WebhookEvent.objects.get(stripe_id=e["id"]).pk] for e in waiting[:2]]
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"received"}


def test_process_events_dry_run_changes_nothing(waiting):
    out, _ = run("--older-than", "0", "--dry-run", "-v", "2")

    assert out.count("would be applied") == 4
    assert "4 event(s) waiting. Dry run: nothing was applied or enqueued." in out
    assert "    received 20" in out  # -v 2: when each was received
    assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {"received"}


def test_process_events_reports_a_failure_and_exits_non_zero(waiting):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("enrollment service down")

    signals.payment_succeeded.connect(broken)
    try:
        with pytest.raises(CommandError, match="3 event"):
            run("--older-than", "10")
    finally:
        signals.payment_succeeded.disconnect(broken)
    assert WebhookEvent.objects.filter(outcome="failed", attempts=1).count() == 3


def test_process_events_refuses_bad_options(db):
    with pytest.raises(CommandError, match="--older-than"):
        run("--older-than", "soon")
    with pytest.raises(CommandError, match="--limit"):
        run("--limit", "0")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_process_events_skips_an_event_another_process_holds_and_many_runs_apply_each_once(settings):
    """SKIP LOCKED: a run never waits for a row a worker (or another run) is applying; four
    runs at once apply each of 30 events once."""
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "WEBHOOK_PROCESSING": "task"}
    user = UserFactory()
    events = [build_event(PaymentFactory(user=user), "payment_intent.succeeded") for _ in range(30)]
    for event in events:
        assert WebhookEvent.objects.receive(event) is not None
    held = WebhookEvent.objects.get(stripe_id=events[0]["id"])

    from tests.load.server import connect

    with connect(connection.settings_dict["NAME"]) as other:  # a worker applying the event right now
        other.execute(f"SELECT id FROM {WebhookEvent._meta.db_table} WHERE id = %s FOR UPDATE", [held.pk])  # noqa: S608
        with capture_signals() as sent:
            out, _ = run("--older-than", "0", "--limit", "1")
        other.rollback()

    assert f"{held.stripe_id} payment_intent.succeeded: skipped" in out
    assert sent.names() == []

    outputs: list[str] = []

    def sweep() -> None:
        try:
            outputs.append(run("--older-than", "0")[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    with capture_signals() as sent:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert len(outputs) == 4
    assert sent.count("payment_succeeded") == sent.count("webhook_event_received") == 30
    assert set(WebhookEvent.objects.values_list("outcome", "attempts")) == {("processed", 1)}
    assert set(Payment.objects.values_list("status", flat=True)) == {"succeeded"}


# -- E009 -----------------------------------------------------------------------------------------


def e009(settings: Any, tasks_setting: Any, **config: Any) -> list[str]:
    settings.TASKS = tasks_setting
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "WEBHOOK_PROCESSING": "task", **config}
    return [m.msg for m in checks.check_task_mode() if m.id == "apranova_payments.E009"]


def test_e009_accepts_a_backend_that_runs_tasks_on_a_queue_it_serves(settings):
    db_backend = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["webhooks"]}}
    assert e009(settings, db_backend, TASK_QUEUE="webhooks") == []
    assert e009(settings, {"default": {"BACKEND": IMMEDIATE}}, TASK_QUEUE="default") == []


@pytest.mark.parametrize(("tasks_setting", "config", "why"), [
    ({"default": {"BACKEND": IMMEDIATE}}, {"TASK_BACKEND": "celery"}, "InvalidTaskBackend"),
    ({"default": {"BACKEND": IMMEDIATE, "QUEUES": ["default"]}},
     {"TASK_QUEUE": "webhooks"}, "Queue 'webhooks' is not valid"),
    ({"default": {"BACKEND": "no.such.Backend"}}, {}, "Could not find backend"),
    (DUMMY, {}, "never runs a task"),
])
def test_e009_names_what_makes_the_backend_unusable(settings, tasks_setting, config, why):
    [message] = e009(settings, tasks_setting, **config)

    assert why in message and "WEBHOOK_PROCESSING" in message


def test_e009_without_the_task_framework(settings, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "django_apranova_payments.tasks", None)

    [message] = e009(settings, DUMMY)

    assert "ImportError" in message or "ModuleNotFoundError" in message


def test_no_e009_in_inline_mode_whatever_the_tasks_setting(settings):
    settings.TASKS = {"default": {"BACKEND": "no.such.Backend"}}
    assert checks.check_task_mode() == []


@pytest.mark.parametrize(("key", "value"), [("WEBHOOK_PROCESSING", "celery"), ("TASK_MAX_ATTEMPTS", 0),
                                            ("TASK_MAX_ATTEMPTS", "5")])
def test_unusable_task_settings_are_e010(settings, key, value):
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, key: value}

    messages = [m for m in checks.check_values() if m.id == "apranova_payments.E010"]

    assert len(messages) == 1 and key in messages[0].msg


# -- the admin ------------------------------------------------------------------------------------


def test_the_admin_event_list_shows_the_queue_lag_and_the_counts_by_outcome(admin_client, waiting):
    from django.urls import reverse

    WebhookEvent.objects.filter(stripe_id=waiting[3]["id"]).update(outcome="failed")
    html = admin_client.get(reverse("admin:apranova_payments_webhookevent_changelist")).content.decode()

    assert "3 events waiting to be applied, queue lag 20\xa0minutes." in html
    assert "Received: 3 · Processed: 0 · Ignored: 0 · Failed: 1" in html


def test_the_admin_event_list_without_waiting_events_shows_no_lag(admin_client, db):
    from django.urls import reverse

    html = admin_client.get(reverse("admin:apranova_payments_webhookevent_changelist")).content.decode()

    assert "0 events waiting to be applied." in html and "queue lag" not in html
